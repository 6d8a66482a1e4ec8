//! Signing keys over time: the first key on a first start, rotation when a key is due or an
//! operator asks, and every instance picking up what another one changed.

use std::sync::{Arc, RwLock};

use gatehouse_domain::{KeyState, RotationPolicy, RotationStep};

use crate::credentials::ports::{SigningKeyMaterial, SigningKeyStore, StoredSigningKey};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// More rounds than the rules ever need (create, promote, remove): a store that keeps
/// answering differently stops here instead of looping.
const MAX_ROUNDS: usize = 4;

/// Creates, rotates and loads the keys access tokens are signed with.
pub struct SigningKeys {
    store: Arc<dyn SigningKeyStore>,
    material: Arc<dyn SigningKeyMaterial>,
    policy: RotationPolicy,
    clock: Arc<dyn Clock>,
    /// `false` while an HS256 secret signs: keys are only prepared (a next key published
    /// to the instances, never promoted) and loaded, so that a later move to key pairs
    /// starts with a key every instance already verifies.
    signs: bool,
    /// The first key is published before it signs too (something else signs meanwhile:
    /// the HS256 secret of a deployment moving to key pairs).
    prepare_first: bool,
    /// The public JWKs of the keys last installed, as published.
    published: RwLock<Arc<[String]>>,
}

impl SigningKeys {
    /// Keys kept in `store`, made and put to use by `material`, rotated by `policy`.
    pub fn new(
        store: Arc<dyn SigningKeyStore>,
        material: Arc<dyn SigningKeyMaterial>,
        policy: RotationPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            material,
            policy,
            clock,
            signs: true,
            prepare_first: false,
            published: RwLock::new(Arc::from(Vec::new())),
        }
    }

    /// As [`Self::new`], for a deployment where an HS256 secret signs: [`Self::maintain`]
    /// publishes a next key to the instances (never promoted) when there is no key at all,
    /// and removes retired keys when due; every published key still verifies.
    pub fn preparing(
        store: Arc<dyn SigningKeyStore>,
        material: Arc<dyn SigningKeyMaterial>,
        policy: RotationPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            signs: false,
            ..Self::new(store, material, policy, clock)
        }
    }

    /// As [`Self::new`], where something else signs until a key may (the HS256 secret of a
    /// deployment moving to key pairs): the first key is made `next`, published to every
    /// instance before it signs, like every later one, instead of signing at once.
    pub fn preparing_first_key(self) -> Self {
        Self {
            prepare_first: true,
            ..self
        }
    }

    /// The rotation timings.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// Applies what the rotation rules call for now (`rotate_now`: an operator's
    /// `keys rotate`), then loads the result. A current key of another algorithm than the
    /// configured one is due at once. Safe to run on every instance at once: the store lets
    /// one instance win each step and the others read the winner's. Returns the steps taken.
    #[tracing::instrument(skip(self))]
    pub async fn maintain(&self, rotate_now: bool) -> Result<Vec<RotationStep>, AppError> {
        let mut taken = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let keys = self.store.published().await?;
            let ours = |k: &StoredSigningKey| k.algorithm == self.material.algorithm();
            // A next key of another algorithm (made by a process configured otherwise, or
            // prepared while a secret signed) never signs here: verifiers may refuse its
            // algorithm. It signed nothing, so it goes, and one of ours takes its place.
            if self.signs
                && let Some(foreign) = keys.iter().find(|k| k.state == KeyState::Next && !ours(k))
            {
                tracing::warn!(kid = %foreign.kid, algorithm = %foreign.algorithm,
                    "discarding a next signing key of another algorithm than GATEHOUSE_JWT_ALGORITHM");
                self.store
                    .discard_next(&foreign.kid, self.clock.now())
                    .await?;
                continue;
            }
            let other_algorithm = keys
                .iter()
                .any(|k| k.state == KeyState::Current && !ours(k));
            let timelines: Vec<_> = keys.iter().map(StoredSigningKey::timeline).collect();
            // Asking once is enough: a next key now exists, and asking again would not wait
            // for it to be published long enough.
            let force = (rotate_now && taken.is_empty()) || other_algorithm;
            let steps: Vec<_> = self
                .policy
                .plan(&timelines, self.clock.now(), force)
                .into_iter()
                .filter_map(|step| self.allowed(step, keys.is_empty()))
                .collect();
            if steps.is_empty() {
                break;
            }
            for step in steps {
                if self.apply(&step).await? {
                    tracing::info!(?step, "signing key rotation step");
                    taken.push(step);
                }
            }
        }
        self.reload().await?;
        Ok(taken)
    }

    /// A leak: makes a new key current at once instead of after publishing it first, and
    /// retires the current one. Verifiers that cached the key set before may refuse the new
    /// key's tokens until they fetch it again (at their next unknown `kid`, or within the
    /// max-age). Returns the steps taken.
    pub async fn rotate_immediately(&self) -> Result<Vec<RotationStep>, AppError> {
        let mut taken = self.maintain(true).await?;
        let keys = self.store.published().await?;
        let current = keys.iter().find(|k| k.state == KeyState::Current);
        if let Some(next) = keys.iter().find(|k| k.state == KeyState::Next) {
            let step = RotationStep::Promote {
                next: next.kid.clone(),
                retiring: current.map(|k| k.kid.clone()),
            };
            if self.apply(&step).await? {
                tracing::warn!(?step, "signing key promoted without waiting (operator)");
                taken.push(step);
            }
        }
        self.reload().await?;
        Ok(taken)
    }

    /// A leak: removes retired key `kid` now, not when its last token expires; every token
    /// it signed is refused from then on. `false` when it is not a retired key (a current
    /// key must be rotated away first).
    pub async fn remove_now(&self, kid: &str) -> Result<bool, AppError> {
        let removed = self.store.remove(kid, self.clock.now()).await?;
        if removed {
            tracing::warn!(kid, "retired signing key removed early (operator)");
        }
        self.reload().await?;
        Ok(removed)
    }

    /// Loads the published keys from the store into the codec and the JWKS: what another
    /// instance rotated becomes visible here. Fails, keeping the keys loaded before, when a
    /// key does not open.
    pub async fn reload(&self) -> Result<(), AppError> {
        let keys = self.store.published().await?;
        let pairs_since = self.store.first_activated_at().await?;
        self.material.install(&keys, pairs_since)?;
        let jwks: Vec<String> = keys.into_iter().map(|k| k.public_jwk).collect();
        *self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::from(jwks);
        Ok(())
    }

    /// The public JWKs of every published key (next, current and retired), as loaded.
    pub fn jwks(&self) -> Arc<[String]> {
        self.published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reseals under the current master key every published key still sealed under the
    /// previous one (a master-key rotation), then loads them. Returns how many it resealed;
    /// a key another instance resealed meanwhile is not counted.
    pub async fn reseal(&self) -> Result<usize, AppError> {
        let mut resealed = 0;
        for key in self.store.published().await? {
            if let Some(sealed) = self.material.reseal(&key)?
                && self
                    .store
                    .reseal(&key.kid, &key.sealed_private_key, &sealed)
                    .await?
            {
                tracing::info!(kid = %key.kid, "signing key resealed under the current master key");
                resealed += 1;
            }
        }
        self.reload().await?;
        Ok(resealed)
    }

    /// Every published key with its state, oldest first, for operators.
    pub async fn list(&self) -> Result<Vec<StoredSigningKey>, AppError> {
        Ok(self.store.published().await?)
    }

    /// What this deployment does of a step: where a secret signs, it prepares the first key
    /// as `next` and removes retired keys, nothing else; where keys sign but something else
    /// signs until one may, the first key is prepared as `next` too.
    fn allowed(&self, step: RotationStep, no_key_yet: bool) -> Option<RotationStep> {
        if self.signs {
            return Some(match step {
                RotationStep::CreateCurrent if self.prepare_first => RotationStep::CreateNext,
                step => step,
            });
        }
        match step {
            RotationStep::CreateCurrent if no_key_yet => Some(RotationStep::CreateNext),
            RotationStep::Remove { .. } => Some(step),
            _ => None,
        }
    }

    /// Whether the step changed anything (another instance may have taken it first).
    async fn apply(&self, step: &RotationStep) -> Result<bool, AppError> {
        let now = self.clock.now();
        Ok(match step {
            RotationStep::CreateCurrent => self.create(KeyState::Current).await?,
            RotationStep::CreateNext => self.create(KeyState::Next).await?,
            RotationStep::Promote { next, retiring } => {
                self.store.promote(next, retiring.as_deref(), now).await?
            }
            RotationStep::Remove { kid } => self.store.remove(kid, now).await?,
        })
    }

    async fn create(&self, state: KeyState) -> Result<bool, AppError> {
        let key = self.material.generate(state, self.clock.now()).await?;
        Ok(self.store.insert(&key).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::credentials::ports::{MockSigningKeyMaterial, MockSigningKeyStore};
    use crate::test_support::{NOW, fixed_clock};

    fn policy() -> RotationPolicy {
        RotationPolicy::new(
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(300),
            Duration::from_secs(900),
            Duration::from_secs(60),
        )
    }

    fn key(kid: &str, algorithm: &str, state: KeyState) -> StoredSigningKey {
        StoredSigningKey {
            kid: kid.into(),
            algorithm: algorithm.into(),
            state,
            public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
            sealed_private_key: vec![1],
            created_at: NOW,
            activated_at: (state != KeyState::Next).then_some(NOW),
            retired_at: None,
        }
    }

    /// A store over a list, and material that makes keys named by a counter.
    fn parts(keys: Vec<StoredSigningKey>) -> (MockSigningKeyStore, MockSigningKeyMaterial) {
        let keys = Arc::new(Mutex::new(keys));
        let mut store = MockSigningKeyStore::new();
        let read = keys.clone();
        store
            .expect_published()
            .returning(move || Ok(read.lock().unwrap().clone()));
        store
            .expect_first_activated_at()
            .returning(|| Ok(Some(NOW)));
        store.expect_insert().returning(move |key| {
            keys.lock().unwrap().push(key.clone());
            Ok(true)
        });
        let mut material = MockSigningKeyMaterial::new();
        material.expect_algorithm().return_const("EdDSA".to_owned());
        let made = Arc::new(Mutex::new(0));
        material.expect_generate().returning(move |state, _| {
            let mut made = made.lock().unwrap();
            *made += 1;
            Ok(key(&format!("new-{made}"), "EdDSA", state))
        });
        material.expect_install().returning(|_, _| Ok(()));
        (store, material)
    }

    fn service(store: MockSigningKeyStore, material: MockSigningKeyMaterial) -> SigningKeys {
        SigningKeys::new(Arc::new(store), Arc::new(material), policy(), fixed_clock())
    }

    #[tokio::test]
    async fn a_first_start_creates_one_current_key_and_publishes_it() {
        let (store, material) = parts(Vec::new());
        let keys = service(store, material);
        let taken = keys.maintain(false).await.unwrap();
        assert_eq!(taken, [RotationStep::CreateCurrent]);
        assert_eq!(&*keys.jwks(), [r#"{"kid":"new-1"}"#.to_owned()]);
        // Asking again changes nothing: the key is not due.
        assert!(keys.maintain(false).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_operators_rotation_prepares_exactly_one_next_key() {
        let (store, material) = parts(vec![key("a", "EdDSA", KeyState::Current)]);
        let keys = service(store, material);
        assert_eq!(
            keys.maintain(true).await.unwrap(),
            [RotationStep::CreateNext]
        );
        assert!(keys.maintain(true).await.unwrap().is_empty());
        assert_eq!(keys.jwks().len(), 2);
    }

    #[tokio::test]
    async fn a_current_key_of_another_algorithm_is_rotated_at_once() {
        let (store, material) = parts(vec![key("a", "HS256", KeyState::Current)]);
        let keys = service(store, material);
        assert_eq!(
            keys.maintain(false).await.unwrap(),
            [RotationStep::CreateNext]
        );
    }

    #[tokio::test]
    async fn a_next_key_of_another_algorithm_is_discarded_not_promoted() {
        let mut next = key("rsa-next", "RS256", KeyState::Next);
        next.created_at = NOW - Duration::from_secs(86_400);
        let (mut store, material) = parts(vec![key("a", "EdDSA", KeyState::Current), next]);
        store
            .expect_discard_next()
            .withf(|kid, _| kid == "rsa-next")
            .times(1..)
            .returning(|_, _| Ok(true));
        let keys = service(store, material);
        let taken = keys.maintain(false).await.unwrap();
        assert!(
            !taken
                .iter()
                .any(|s| matches!(s, RotationStep::Promote { .. })),
            "{taken:?}"
        );
    }

    #[tokio::test]
    async fn a_deployment_where_a_secret_signs_only_prepares_a_next_key() {
        let (store, material) = parts(Vec::new());
        let keys =
            SigningKeys::preparing(Arc::new(store), Arc::new(material), policy(), fixed_clock());
        assert_eq!(
            keys.maintain(false).await.unwrap(),
            [RotationStep::CreateNext]
        );
        // Never promoted, however long it waits or an operator asks.
        assert!(keys.maintain(true).await.unwrap().is_empty());
        assert_eq!(keys.jwks().len(), 1);
    }

    #[tokio::test]
    async fn moving_from_a_secret_the_first_key_is_published_before_it_signs() {
        let (store, material) = parts(Vec::new());
        let keys = service(store, material).preparing_first_key();
        assert_eq!(
            keys.maintain(false).await.unwrap(),
            [RotationStep::CreateNext]
        );
        // Not old enough yet: nothing signs with it (the secret does meanwhile).
        assert!(keys.maintain(false).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_leak_promotes_a_new_key_at_once() {
        let (mut store, material) = parts(vec![key("a", "EdDSA", KeyState::Current)]);
        store
            .expect_promote()
            .withf(|next, retiring, _| next == "new-1" && *retiring == Some("a"))
            .times(1)
            .returning(|_, _, _| Ok(true));
        let keys = service(store, material);
        let taken = keys.rotate_immediately().await.unwrap();
        assert_eq!(
            taken,
            [
                RotationStep::CreateNext,
                RotationStep::Promote {
                    next: "new-1".into(),
                    retiring: Some("a".into())
                }
            ]
        );
    }

    #[tokio::test]
    async fn a_key_that_does_not_open_fails_the_load_and_keeps_the_keys_before() {
        let (store, _) = parts(vec![key("a", "EdDSA", KeyState::Current)]);
        let mut material = MockSigningKeyMaterial::new();
        material.expect_algorithm().return_const("EdDSA".to_owned());
        material
            .expect_install()
            .returning(|_, _| Err(anyhow::anyhow!("wrong master key")));
        let keys = service(store, material);
        assert!(keys.reload().await.is_err());
        assert!(keys.jwks().is_empty());
    }
}
