//! Recovery codes: ten single-use codes a user keeps on paper for the day the phone is
//! lost. Stored as digests only (HMAC-SHA256 under a key derived from the master key, from
//! the `hmac` and `sha2` crates): a copy of the database alone reverses none of them, and a
//! 60-bit code leaves nothing to guess even with the key.

use hmac::{Hmac, Mac};
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use secrecy::SecretString;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::signing::{DerivedKeyPurpose, MasterKey};

/// How many codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a code (without its dashes): 12 base32 characters, 60 bits.
const CODE_CHARS: usize = 12;
/// Crockford's base32 alphabet, lower case: no `i`, `l`, `o`, `u` to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The digest a code is stored as.
pub type RecoveryCodeDigest = [u8; 32];

/// Makes and checks recovery codes under one master key.
pub struct RecoveryCodes {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodes(..)")
    }
}

impl RecoveryCodes {
    /// Codes keyed by `master`'s recovery-code key.
    pub fn new(master: &MasterKey) -> anyhow::Result<Self> {
        Ok(Self {
            key: master.derive(DerivedKeyPurpose::RecoveryCodes)?,
        })
    }

    /// A fresh set for `user`: the codes to show once (`xxxx-xxxx-xxxx`) and the digests to
    /// store.
    pub fn generate(
        &self,
        user: Uuid,
    ) -> anyhow::Result<(Vec<SecretString>, Vec<RecoveryCodeDigest>)> {
        (0..RECOVERY_CODES)
            .map(|_| {
                let mut random = Zeroizing::new([0u8; CODE_CHARS]);
                OsRng.fill_bytes(random.as_mut());
                let chars: Zeroizing<Vec<u8>> = Zeroizing::new(
                    random
                        .iter()
                        .map(|byte| ALPHABET[usize::from(byte & 31)])
                        .collect(),
                );
                let digest = self.digest_of(user, &chars)?;
                let shown = chars
                    .chunks(4)
                    .map(|group| String::from_utf8_lossy(group).into_owned())
                    .collect::<Vec<_>>()
                    .join("-");
                Ok((SecretString::from(shown), digest))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|pairs| pairs.into_iter().unzip())
    }

    /// The digest the code the user typed is stored under, if it can be a code at all.
    /// Case, spaces and dashes do not matter, and the letters people confuse with digits
    /// read as those digits; anything else that is not exactly a code has no digest. The
    /// store looks the digest up (an HMAC: equal digests say nothing about near codes).
    pub fn digest(&self, user: Uuid, typed: &str) -> Option<RecoveryCodeDigest> {
        let chars = normalise(typed)?;
        self.digest_of(user, &chars).ok()
    }

    /// Bound to the user: a code copied into another account's row matches nothing.
    fn digest_of(&self, user: Uuid, chars: &[u8]) -> anyhow::Result<RecoveryCodeDigest> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref())
            .map_err(|_| anyhow::anyhow!("not an HMAC key"))?;
        mac.update(user.as_bytes());
        mac.update(chars);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// The code's characters, or `None` when it cannot be one.
fn normalise(typed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut chars = Zeroizing::new(Vec::with_capacity(CODE_CHARS));
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || chars.len() == CODE_CHARS {
            return None;
        }
        chars.push(c as u8);
    }
    (chars.len() == CODE_CHARS).then_some(chars)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;

    use super::*;
    use crate::signing::MASTER_KEY_BYTES;

    /// Where the typed code is among `stored`, compared in constant time.
    impl RecoveryCodes {
        fn find(&self, user: Uuid, typed: &str, stored: &[RecoveryCodeDigest]) -> Option<usize> {
            let digest = self.digest(user, typed)?;
            stored
                .iter()
                .position(|candidate| bool::from(candidate.ct_eq(&digest)))
        }
    }

    fn codes(byte: u8) -> RecoveryCodes {
        RecoveryCodes::new(&MasterKey::from_bytes(&vec![byte; MASTER_KEY_BYTES].into()).unwrap())
            .unwrap()
    }

    #[test]
    fn ten_distinct_codes_each_found_once_for_their_user_only() {
        let user = Uuid::new_v4();
        let (shown, stored) = codes(1).generate(user).unwrap();
        assert_eq!(
            (shown.len(), stored.len()),
            (RECOVERY_CODES, RECOVERY_CODES)
        );
        for (index, code) in shown.iter().enumerate() {
            let code = code.expose_secret();
            assert_eq!(code.len(), 14, "{code}");
            assert_eq!(code.matches('-').count(), 2, "{code}");
            assert_eq!(codes(1).find(user, code, &stored), Some(index));
            assert_eq!(codes(1).find(Uuid::new_v4(), code, &stored), None);
            assert_eq!(
                codes(2).find(user, code, &stored),
                None,
                "another master key"
            );
        }
        let distinct: std::collections::HashSet<_> = stored.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
    }

    #[test]
    fn typing_slips_are_forgiven_and_nothing_else() {
        let user = Uuid::new_v4();
        let (shown, stored) = codes(1).generate(user).unwrap();
        let code = shown[3].expose_secret().to_owned();
        let upper = code.to_uppercase();
        let spaced = code.replace('-', " ");
        let bare = code.replace('-', "");
        for typed in [&upper, &spaced, &bare] {
            assert_eq!(codes(1).find(user, typed, &stored), Some(3), "{typed}");
        }
        let short = &bare[..11];
        let long = format!("{bare}0");
        let accented = format!("{}é", &bare[..11]);
        for typed in ["", short, &long, &accented, "uuuu-uuuu-uuuu", "123456"] {
            assert_eq!(codes(1).find(user, typed, &stored), None, "{typed:?}");
        }
    }

    #[test]
    fn look_alike_letters_read_as_digits() {
        assert_eq!(
            normalise("OIL0-abcd-efgh").map(|c| c.to_vec()),
            Some(b"0110abcdefgh".to_vec())
        );
    }
}
