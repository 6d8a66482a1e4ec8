use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use jsonwebtoken::errors::ErrorKind;

use crate::claims::{Claims, WireClaims};
use crate::config::VerifierConfig;
use crate::error::{ConfigError, VerifyError};
use crate::jwks::{self, KeySet, VerificationKey};
#[cfg(feature = "revocation")]
use crate::revocation::RedisRevocation;

/// Longer than any token Gatehouse issues; longer input is refused before it is decoded.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies Gatehouse access tokens. Cheap to clone: clones share one key cache, so build
/// one per process and hand out clones (e.g. as actix `web::Data` or axum state).
///
/// Keys are fetched on first use and cached for the JWKS response's `max-age`. A token
/// signed by a key not in the cache causes a refetch, but fetches (for any reason) are at
/// least [`VerifierConfig::min_refetch_interval`] apart, and concurrent callers share one.
/// When a fetch fails, cached keys go on verifying (stale-if-error).
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<KeyCache>,
    #[cfg(feature = "revocation")]
    revocation: Option<RedisRevocation>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("jwks_url", &self.keys.config.jwks_url)
            .field("issuer", &self.keys.config.issuer)
            .field("audience", &self.keys.config.audience)
            .finish_non_exhaustive()
    }
}

struct KeyCache {
    config: VerifierConfig,
    /// `None` for a fixed key set ([`Verifier::from_jwks`]), which is never fetched.
    http: Option<reqwest::Client>,
    /// Read on every verification, written after a fetch; never held across an await.
    current: RwLock<Cached>,
    /// Held by the one caller fetching, so that the others wait for its result instead of
    /// fetching too.
    fetch: tokio::sync::Mutex<FetchState>,
}

#[derive(Default)]
struct Cached {
    keys: Arc<KeySet>,
    /// `None` until a fetch succeeds (and for ever, for a fixed key set).
    fresh_until: Option<Instant>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// Why the last fetch failed, until one succeeds.
    last_error: Option<String>,
}

impl Verifier {
    /// A verifier that fetches keys from `config.jwks_url` when it first needs them.
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let url = reqwest::Url::parse(&config.jwks_url)
            .map_err(|e| ConfigError::new(format!("invalid JWKS URL {}: {e}", config.jwks_url)))?;
        let loopback = url.host_str().is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match url.scheme() {
            "https" => {}
            "http" if loopback || config.allow_insecure_http => {}
            "http" => {
                return Err(ConfigError::new(format!(
                    "the JWKS URL {} is plain http to another host: use https (or set \
                     allow_insecure_http)",
                    config.jwks_url
                )));
            }
            _ => {
                return Err(ConfigError::new(format!(
                    "the JWKS URL must be http(s): {}",
                    config.jwks_url
                )));
            }
        }
        let http = reqwest::Client::builder()
            // The URL was checked above; a redirect could lead anywhere (plain http too).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .user_agent(concat!("gatehouse-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::with_cache(config, Some(http), Cached::default()))
    }

    /// A verifier with a fixed key set (a JWKS document) that it never refreshes: for tests,
    /// and for services that get Gatehouse's keys some other way. `config.jwks_url` is not
    /// used.
    pub fn from_jwks(config: VerifierConfig, jwks_json: &str) -> Result<Self, ConfigError> {
        config.check()?;
        let keys = jwks::parse(jwks_json.as_bytes(), &config).map_err(ConfigError::new)?;
        let cached = Cached {
            keys: Arc::new(keys),
            fresh_until: None,
        };
        Ok(Self::with_cache(config, None, cached))
    }

    fn with_cache(config: VerifierConfig, http: Option<reqwest::Client>, cached: Cached) -> Self {
        Self {
            keys: Arc::new(KeyCache {
                config,
                http,
                current: RwLock::new(cached),
                fetch: tokio::sync::Mutex::new(FetchState::default()),
            }),
            #[cfg(feature = "revocation")]
            revocation: None,
        }
    }

    /// Also refuses tokens Gatehouse has revoked, read from its Redis after the signature
    /// check. Without it, a revoked token stays valid here until it expires.
    #[cfg(feature = "revocation")]
    pub fn with_revocation(mut self, revocation: RedisRevocation) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// What this verifier accepts.
    pub fn config(&self) -> &VerifierConfig {
        &self.keys.config
    }

    /// Fetches the key set now unless one was fetched (or tried) within the refetch
    /// interval, e.g. at start-up, to fail early when Gatehouse is unreachable. `Ok` when a
    /// key set is at hand, fetched now or before.
    pub async fn load_keys(&self) -> Result<(), VerifyError> {
        let Some(http) = &self.keys.http else {
            return Ok(());
        };
        let mut state = self.keys.fetch.lock().await;
        self.keys.fetch_if_due(http, &mut state).await;
        if self.keys.read().fresh_until.is_some() {
            Ok(())
        } else {
            Err(unavailable(&state))
        }
    }

    /// The claims of `token` if it is a valid Gatehouse access token: signed by a key
    /// Gatehouse publishes with the algorithm that key is for, unexpired, for the configured
    /// issuer and audience, of type `access` (and, with revocation, not revoked).
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid("token too long"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("bad header"))?;
        if !self.keys.config.algorithms.contains(&header.alg) {
            return Err(invalid("algorithm not allowed"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let key = self.keys.key(&kid).await?;
        // The key decides the algorithm; a token naming another (an ES256 key asked to
        // verify "RS256", an Ed25519 key's bytes used as an HMAC secret) is forged.
        if header.alg != key.algorithm {
            return Err(invalid("algorithm does not match the key"));
        }
        let data =
            jsonwebtoken::decode::<WireClaims>(token, &key.key, &key.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => VerifyError::Expired,
                    kind => {
                        tracing::debug!(error = ?kind, "token refused");
                        VerifyError::Invalid
                    }
                }
            })?;
        let claims = data.claims.into_access_claims()?;
        #[cfg(feature = "revocation")]
        if let Some(revocation) = &self.revocation {
            match revocation.is_revoked(&claims).await {
                Ok(false) => {}
                Ok(true) => return Err(VerifyError::Revoked),
                Err(cause) => {
                    tracing::error!(error = %cause, "revocations unavailable: token refused");
                    return Err(VerifyError::RevocationUnavailable(cause));
                }
            }
        }
        Ok(claims)
    }
}

impl KeyCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cached> {
        // Nothing panics while holding the lock; should it ever, the data is still whole.
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached key `kid`, and whether the cache is fresh.
    fn lookup(&self, kid: &str, now: Instant) -> (Option<Arc<VerificationKey>>, bool) {
        let cached = self.read();
        let fresh = cached.fresh_until.is_some_and(|until| now < until);
        (cached.keys.get(kid).cloned(), fresh)
    }

    async fn key(&self, kid: &str) -> Result<Arc<VerificationKey>, VerifyError> {
        let (cached, fresh) = self.lookup(kid, Instant::now());
        let Some(http) = &self.http else {
            return cached.ok_or(VerifyError::UnknownKey);
        };
        match cached {
            Some(key) if fresh => Ok(key),
            Some(stale) => {
                // One caller refreshes; the others go on with the key they have rather than
                // wait on Gatehouse (as long as it is not too stale).
                let Ok(mut state) = self.fetch.try_lock() else {
                    return self.unless_too_stale(stale, None);
                };
                if !self.lookup(kid, Instant::now()).1 {
                    self.fetch_if_due(http, &mut state).await;
                }
                // A successful fetch that no longer has the key means Gatehouse withdrew it.
                match self.lookup(kid, Instant::now()) {
                    (Some(key), true) => Ok(key),
                    (Some(key), false) => self.unless_too_stale(key, Some(&state)),
                    (None, _) => Err(VerifyError::UnknownKey),
                }
            }
            None => {
                let mut state = self.fetch.lock().await;
                // Whoever held the lock may just have fetched the key.
                if let (Some(key), _) = self.lookup(kid, Instant::now()) {
                    return self.unless_too_stale(key, Some(&state));
                }
                self.fetch_if_due(http, &mut state).await;
                match self.lookup(kid, Instant::now()).0 {
                    Some(key) => self.unless_too_stale(key, Some(&state)),
                    // The fetch failed, or none has succeeded yet (the first was cancelled
                    // with its caller): the key may well exist.
                    None if state.last_error.is_some() || self.read().fresh_until.is_none() => {
                        Err(unavailable(&state))
                    }
                    None => Err(VerifyError::UnknownKey),
                }
            }
        }
    }

    /// `key` from a key set past its freshness, while within [`VerifierConfig::max_stale`]
    /// of it; after that, unavailable.
    fn unless_too_stale(
        &self,
        key: Arc<VerificationKey>,
        state: Option<&FetchState>,
    ) -> Result<Arc<VerificationKey>, VerifyError> {
        let too_stale = self.read().fresh_until.is_some_and(|until| {
            Instant::now().saturating_duration_since(until) > self.config.max_stale
        });
        if !too_stale {
            return Ok(key);
        }
        Err(match state {
            Some(state) => unavailable(state),
            None => VerifyError::KeysUnavailable("the key set is too stale to trust".into()),
        })
    }

    /// Fetches unless the last attempt was within the refetch interval; on failure the
    /// cache is kept as it was and the cause remembered.
    async fn fetch_if_due(&self, http: &reqwest::Client, state: &mut FetchState) {
        let now = Instant::now();
        let interval = self.config.min_refetch_interval;
        if state
            .last_attempt
            .is_some_and(|last| now.saturating_duration_since(last) < interval)
        {
            return;
        }
        state.last_attempt = Some(now);
        match jwks::fetch(http, &self.config).await {
            Ok(fetched) => {
                state.last_error = None;
                // May lie in the past (a shared cache's `Age` beyond the max-age): stale at
                // once, and `max_stale` counts from there.
                let now = Instant::now();
                let fresh_until = if fetched.age <= fetched.max_age {
                    now.checked_add(fetched.max_age - fetched.age)
                } else {
                    now.checked_sub(fetched.age - fetched.max_age)
                }
                .or(Some(now));
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                *current = Cached {
                    keys: Arc::new(fetched.keys),
                    fresh_until,
                };
            }
            Err(cause) => {
                tracing::warn!(error = %cause, "JWKS fetch failed; cached keys stay in use");
                state.last_error = Some(cause);
            }
        }
    }
}

fn invalid(reason: &'static str) -> VerifyError {
    tracing::debug!(reason, "token refused");
    VerifyError::Invalid
}

fn unavailable(state: &FetchState) -> VerifyError {
    VerifyError::KeysUnavailable(
        state
            .last_error
            .clone()
            .unwrap_or_else(|| "no key set fetched yet".to_owned()),
    )
}
