use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{FileStorage, StoredFile, is_safe_file_name};

use crate::locked::Locked;

/// [`FileStorage`] in process memory. Names are checked as strictly as on disk (lowercase
/// path segments, no dot files, no `..`), so a service that passes here passes there.
pub struct InMemoryFileStorage {
    files: Locked<HashMap<String, StoredFile>>,
    public_base: String,
}

impl InMemoryFileStorage {
    /// Files whose URLs start with `public_base` (e.g. `http://127.0.0.1:8000/media`).
    pub fn new(public_base: impl Into<String>) -> Self {
        Self {
            files: Locked::default(),
            public_base: public_base.into().trim_end_matches('/').to_owned(),
        }
    }
}

fn check(name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(is_safe_file_name(name), "refusing file name {name:?}");
    Ok(())
}

#[async_trait]
impl FileStorage for InMemoryFileStorage {
    async fn put(&self, name: &str, bytes: &[u8], content_type: &str) -> anyhow::Result<String> {
        check(name)?;
        let file = StoredFile {
            bytes: bytes.to_vec(),
            content_type: content_type.to_owned(),
        };
        self.files
            .with(|files| files.insert(name.to_owned(), file))?;
        Ok(format!("{}/{name}", self.public_base))
    }

    async fn get(&self, name: &str) -> anyhow::Result<Option<StoredFile>> {
        check(name)?;
        self.files.with(|files| files.get(name).cloned())
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        check(name)?;
        self.files.with(|files| {
            files.remove(name);
        })
    }
}
