//! The second-factor secrets port over the primitives of this module: TOTP secrets sealed
//! with the master key (XChaCha20-Poly1305, bound to their user), codes checked with
//! `totp-rs`, recovery codes keyed by a key derived from the master key.

use gatehouse_application::ports::{NewRecoveryCodes, NewTotp, SecondFactorSecrets};
use gatehouse_domain::UserId;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::{RecoveryCodes, TotpSecret, qr_svg};
use crate::signing::{MasterKeys, SealPurpose};

/// Second-factor secrets under the configured master keys: sealed with the current one,
/// opened (and recovery codes recognised) with the previous one too while it is configured,
/// so a master-key rotation locks nobody out.
pub struct SealedFactorSecrets {
    keys: MasterKeys,
    recovery: Vec<RecoveryCodes>,
    issuer: String,
}

impl std::fmt::Debug for SealedFactorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedFactorSecrets")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl SealedFactorSecrets {
    /// Secrets under `keys`, shown in authenticator apps as `issuer`.
    pub fn new(keys: MasterKeys, issuer: &str) -> anyhow::Result<Self> {
        let mut recovery = vec![RecoveryCodes::new(&keys.current)?];
        if let Some(previous) = &keys.previous {
            recovery.push(RecoveryCodes::new(previous)?);
        }
        Ok(Self {
            keys,
            recovery,
            issuer: issuer.to_owned(),
        })
    }

    fn open(&self, user: UserId, sealed: &[u8]) -> anyhow::Result<TotpSecret> {
        self.open_noting_key(user, sealed).map(|(secret, _)| secret)
    }

    /// The secret, and whether the previous master key sealed it.
    fn open_noting_key(&self, user: UserId, sealed: &[u8]) -> anyhow::Result<(TotpSecret, bool)> {
        let label = user.to_string();
        let current = &self.keys.current;
        let (opened, previous) = match current.open(SealPurpose::TotpSecret, &label, sealed) {
            Ok(opened) => (opened, false),
            Err(refused) => match &self.keys.previous {
                Some(previous) => {
                    let opened = previous
                        .open(SealPurpose::TotpSecret, &label, sealed)
                        .map_err(|_| refused)?;
                    (opened, true)
                }
                None => return Err(refused),
            },
        };
        Ok((TotpSecret::from_bytes(opened)?, previous))
    }
}

impl SecondFactorSecrets for SealedFactorSecrets {
    fn new_totp(&self, user: UserId, account: &str) -> anyhow::Result<NewTotp> {
        let secret = TotpSecret::generate();
        let sealed_secret = self.keys.current.seal(
            SealPurpose::TotpSecret,
            &user.to_string(),
            secret.bytes().expose_secret(),
        )?;
        // Issuers and accounts may not contain ':' in an otpauth label.
        let issuer = self.issuer.replace(':', " ");
        let otpauth_url = secret.otpauth_url(&issuer, &account.replace(':', " "))?;
        let qr_svg = qr_svg(&otpauth_url)?;
        Ok(NewTotp {
            sealed_secret,
            secret: secret.base32(),
            otpauth_url,
            qr_svg,
        })
    }

    fn totp_step(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        code: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<u64>> {
        // Replays are the store's to refuse (one compare-and-set), so none is passed here.
        self.open(user, sealed_secret)?.accepts(code, at, None)
    }

    fn reseal_totp(&self, user: UserId, sealed: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let (secret, previous) = self.open_noting_key(user, sealed)?;
        if !previous {
            return Ok(None);
        }
        let label = user.to_string();
        let resealed = self.keys.current.seal(
            SealPurpose::TotpSecret,
            &label,
            secret.bytes().expose_secret(),
        )?;
        Ok(Some(resealed))
    }

    fn new_recovery_codes(&self, user: UserId) -> anyhow::Result<NewRecoveryCodes> {
        let current = self
            .recovery
            .first()
            .ok_or_else(|| anyhow::anyhow!("no master key"))?;
        let (codes, digests) = current.generate(user.as_uuid())?;
        Ok(NewRecoveryCodes {
            codes,
            digests: digests.into_iter().map(|d| d.to_vec()).collect(),
        })
    }

    fn recovery_code_digests(&self, user: UserId, typed: &str) -> Vec<Vec<u8>> {
        self.recovery
            .iter()
            .filter_map(|codes| codes.digest(user.as_uuid(), typed))
            .map(|digest| digest.to_vec())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::signing::{MASTER_KEY_BYTES, MasterKey};

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&vec![byte; MASTER_KEY_BYTES].into()).unwrap()
    }

    fn secrets(current: u8, previous: Option<u8>) -> SealedFactorSecrets {
        let keys = MasterKeys {
            current: key(current),
            previous: previous.map(key),
        };
        SealedFactorSecrets::new(keys, "Gate:house").unwrap()
    }

    fn bytes_of(secret: &SecretString) -> Vec<u8> {
        TotpSecret::from_base32(secret.expose_secret())
            .unwrap()
            .bytes()
            .expose_secret()
            .to_vec()
    }

    fn code_now(secret: &SecretString, at: OffsetDateTime) -> String {
        TotpSecret::from_base32(secret.expose_secret())
            .unwrap()
            .code_at(at)
            .unwrap()
    }

    #[test]
    fn a_sealed_secret_checks_codes_for_its_user_only_and_survives_a_master_key_rotation() {
        let user = UserId::generate();
        let at = OffsetDateTime::now_utc();
        let new = secrets(1, None)
            .new_totp(user, "alice@example.com")
            .unwrap();
        assert!(
            new.otpauth_url.contains("issuer=Gate%20house"),
            "{}",
            new.otpauth_url
        );
        assert!(new.qr_svg.starts_with("<?xml") || new.qr_svg.contains("<svg"));
        let code = code_now(&new.secret, at);
        let step = secrets(1, None)
            .totp_step(user, &new.sealed_secret, &code, at)
            .unwrap();
        assert_eq!(step, Some(at.unix_timestamp() as u64 / 30));
        assert!(
            secrets(1, None)
                .totp_step(UserId::generate(), &new.sealed_secret, &code, at)
                .is_err(),
            "another user's row does not open"
        );
        assert!(
            secrets(2, None)
                .totp_step(user, &new.sealed_secret, &code, at)
                .is_err()
        );
        let rotated = secrets(2, Some(1));
        assert_eq!(
            rotated
                .totp_step(user, &new.sealed_secret, &code, at)
                .unwrap(),
            step
        );
        let shown = bytes_of(&new.secret);
        assert!(!new.sealed_secret.windows(20).any(|w| w == shown.as_slice()));
    }

    #[test]
    fn recovery_codes_are_recognised_under_the_previous_master_key_too() {
        let user = UserId::generate();
        let issued = secrets(1, None).new_recovery_codes(user).unwrap();
        assert_eq!(issued.codes.len(), 10);
        let typed = issued.codes[0].expose_secret();
        let rotated = secrets(2, Some(1));
        let candidates = rotated.recovery_code_digests(user, typed);
        assert_eq!(candidates.len(), 2);
        assert!(candidates.contains(&issued.digests[0]));
        assert!(rotated.recovery_code_digests(user, "not a code").is_empty());
    }
}
