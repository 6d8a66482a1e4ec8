use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use gatehouse_application::ports::HealthProbe;

use crate::token_store::InMemoryTokenStore;

enum Watched {
    /// Up while the switch is on.
    Switch(AtomicBool),
    /// Up while the store's lock is usable.
    Tokens(Arc<InMemoryTokenStore>),
}

/// [`HealthProbe`] for in-process dependencies: the in-memory stores (reported as `cache`,
/// where Redis would be), or a switch a test or an embedder turns off and on.
pub struct InMemoryHealthProbe {
    name: &'static str,
    watched: Watched,
}

impl InMemoryHealthProbe {
    /// Reports the in-memory token store (and the stores beside it) as `cache`: up exactly
    /// when its lock is usable.
    pub fn cache(tokens: Arc<InMemoryTokenStore>) -> Self {
        Self {
            name: "cache",
            watched: Watched::Tokens(tokens),
        }
    }

    /// A dependency called `name` that is up until [`set_up`](Self::set_up) says otherwise.
    pub fn switch(name: &'static str) -> Self {
        Self {
            name,
            watched: Watched::Switch(AtomicBool::new(true)),
        }
    }

    /// Turns a [`switch`](Self::switch) probe's dependency on or off (no effect on others).
    pub fn set_up(&self, up: bool) {
        if let Watched::Switch(on) = &self.watched {
            on.store(up, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl HealthProbe for InMemoryHealthProbe {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn check(&self) -> anyhow::Result<()> {
        match &self.watched {
            Watched::Switch(on) => {
                anyhow::ensure!(on.load(Ordering::SeqCst), "{} is switched off", self.name);
                Ok(())
            }
            Watched::Tokens(tokens) => tokens.usable(),
        }
    }
}
