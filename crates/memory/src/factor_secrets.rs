use std::collections::HashMap;

use gatehouse_application::ports::{
    AuthenticatedPasskey, CeremonyState, NewRecoveryCodes, NewTotp, PasskeyCeremonies,
    PasskeyError, RegisteredPasskey, SecondFactorSecrets,
};
use gatehouse_domain::UserId;
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};

use crate::locked::Locked;

/// [`SecondFactorSecrets`] in process memory. Like [`crate::InMemoryTokenCodec`], it keeps
/// what production seals in memory instead: the "sealed" secret a store holds is a random
/// handle to the secret kept here (bound to its user), so it dies with the process. Codes
/// are real RFC 6238 (the `totp-rs` crate: SHA-1, 6 digits, 30 s, one step of drift);
/// recovery codes are 16 random hex characters stored as SHA-256 digests bound to the user.
#[derive(Default)]
pub struct InMemoryFactorSecrets {
    secrets: Locked<HashMap<Handle, (UserId, Vec<u8>)>>,
}

/// What a store keeps in place of a sealed secret: a random name for the one kept here.
type Handle = Vec<u8>;

impl InMemoryFactorSecrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }
}

fn totp(secret: Vec<u8>) -> anyhow::Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn random(bytes: usize) -> Vec<u8> {
    let mut out = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut out);
    out
}

fn digest(user: UserId, code: &str) -> Vec<u8> {
    let typed: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut hash = Sha256::new();
    hash.update(user.as_uuid().as_bytes());
    hash.update(typed.as_bytes());
    hash.finalize().to_vec()
}

impl SecondFactorSecrets for InMemoryFactorSecrets {
    fn new_totp(&self, user: UserId, account: &str) -> anyhow::Result<NewTotp> {
        let secret = random(20);
        let handle = random(16);
        let encoded = totp_rs::Secret::from(secret.clone()).to_base32();
        self.secrets
            .with(|secrets| secrets.insert(handle.clone(), (user, secret)))?;
        Ok(NewTotp {
            sealed_secret: handle,
            otpauth_url: format!(
                "otpauth://totp/Gatehouse:{account}?secret={encoded}&issuer=Gatehouse"
            ),
            secret: SecretString::from(encoded),
            qr_svg: "<svg xmlns=\"http://www.w3.org/2000/svg\"/>".into(),
        })
    }

    fn totp_step(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        code: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<u64>> {
        let secret = self
            .secrets
            .with(|secrets| secrets.get(sealed_secret).cloned())?
            .filter(|(owner, _)| *owner == user)
            .ok_or_else(|| anyhow::anyhow!("no such secret for this user"))?
            .1;
        let Ok(now) = u64::try_from(at.unix_timestamp()) else {
            return Ok(None);
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(totp(secret)?.check(code, now))
    }

    /// Nothing here is sealed under a key that rotates.
    fn reseal_totp(&self, _user: UserId, _sealed: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn new_recovery_codes(&self, user: UserId) -> anyhow::Result<NewRecoveryCodes> {
        let codes: Vec<String> = (0..10)
            .map(|_| random(8).iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        Ok(NewRecoveryCodes {
            digests: codes.iter().map(|code| digest(user, code)).collect(),
            codes: codes.into_iter().map(SecretString::from).collect(),
        })
    }

    fn recovery_code_digests(&self, user: UserId, typed: &str) -> Vec<Vec<u8>> {
        if typed.trim().is_empty() {
            return Vec::new();
        }
        vec![digest(user, typed)]
    }
}

/// [`PasskeyCeremonies`] for an embedder without WebAuthn: every ceremony is
/// [`PasskeyError::Unavailable`], as when the relying-party id is not a domain. Passkeys
/// need a browser and an origin, which an embedded Gatehouse does not have.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPasskeys;

fn unavailable<T>() -> Result<T, PasskeyError> {
    Err(PasskeyError::Unavailable(
        "this embedding has no WebAuthn relying party".into(),
    ))
}

impl PasskeyCeremonies for NoPasskeys {
    fn available(&self) -> Result<(), PasskeyError> {
        unavailable()
    }

    fn start_registration(
        &self,
        _user: UserId,
        _name: &str,
        _display_name: &str,
        _exclude: &[Vec<u8>],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        unavailable()
    }

    fn finish_registration(
        &self,
        _state: &CeremonyState,
        _credential: &serde_json::Value,
    ) -> Result<RegisteredPasskey, PasskeyError> {
        unavailable()
    }

    fn start_authentication(
        &self,
        _passkeys: &[String],
    ) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        unavailable()
    }

    fn finish_authentication(
        &self,
        _state: &CeremonyState,
        _credential: &serde_json::Value,
        _passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError> {
        unavailable()
    }

    fn start_discoverable(&self) -> Result<(serde_json::Value, CeremonyState), PasskeyError> {
        unavailable()
    }

    fn identify(
        &self,
        _credential: &serde_json::Value,
    ) -> Result<(uuid::Uuid, Vec<u8>), PasskeyError> {
        unavailable()
    }

    fn finish_discoverable(
        &self,
        _state: &CeremonyState,
        _credential: &serde_json::Value,
        _passkeys: &[String],
    ) -> Result<AuthenticatedPasskey, PasskeyError> {
        unavailable()
    }
}
