//! Password hashes carried over from a Django user table (`auth_user.password`).
//!
//! Accounts imported from a Django site keep the hash Django stored, so their passwords keep
//! working without a reset. [`classify`] tells Gatehouse's own bcrypt hashes apart from
//! Django's `algorithm$…` strings, and [`DjangoHash::verify`] checks a password the way Django
//! 5.2 does for every hasher it still ships: `pbkdf2_sha256`, `pbkdf2_sha1`, `bcrypt_sha256`,
//! `bcrypt`, `argon2`, `scrypt` and salted `md5`. After a correct password the caller is
//! expected to replace the stored value with a native hash.
//!
//! The stored string comes from a database row, which is data, not configuration: every
//! field is parsed without panicking, and cost parameters beyond what any real deployment
//! uses are refused, so that one hostile row cannot occupy a core for minutes or ask for
//! gigabytes of memory. Anything malformed, unsupported or over those limits verifies
//! nothing.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// PBKDF2 rounds, at most. Django 5.2 writes 1 000 000 and 6.0 1 200 000; ten million is a
/// few seconds of one core.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// bcrypt cost, at most. Django's default is 12; each step doubles the work, and cost 31
/// would run for days.
const MAX_BCRYPT_COST: u32 = 16;

/// Argon2 memory in KiB, at most (1 GiB). Django's default is 100 MiB.
const MAX_ARGON2_MEMORY_KIB: u32 = 1 << 20;
/// Argon2 passes over that memory, at most. Django's default is 2.
const MAX_ARGON2_PASSES: u32 = 100;
/// Memory times passes (KiB), at most: the time a hash takes grows with the product, and
/// 1 GiB × 100 passes alone would be minutes. 4 GiB of passes is a few seconds; Django's
/// default is 200 MiB.
const MAX_ARGON2_WORK_KIB: u64 = 4 << 20;

/// scrypt's N, at most. Django's default is 2^14.
const MAX_SCRYPT_N: u32 = 1 << 20;
/// scrypt's memory, `128 × N × r` bytes, at most (1 GiB). Django's default is 16 MiB.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// scrypt's work, `N × r × p`, at most: a few seconds of one core. Django's default
/// (2^14 × 8 × 5) is about 2^19.3.
const MAX_SCRYPT_WORK: u64 = 1 << 24;
/// scrypt's `r` and `p`, each at most: besides N's blocks, scrypt holds `128 × r × p`
/// bytes, and a row with N = 2 and a huge r or p would otherwise pass every other cap.
/// Django's defaults are 8 and 5.
const MAX_SCRYPT_R_P: u32 = 64;

/// What a stored hash is, by its prefix.
///
/// `Debug` shows which kind it is, never the hash itself, so a stray log line does not leak
/// one.
#[derive(Clone, Copy)]
pub enum StoredHash<'a> {
    /// Gatehouse's own bcrypt hash (`$2…`).
    Native(&'a str),
    /// A Django hash of an algorithm this module verifies.
    Django(DjangoHash<'a>),
    /// A password that can never match: Django writes `!` and random characters for an
    /// account without a usable password; an empty value is treated the same way.
    Unusable,
    /// Anything else, including the hashers Django itself no longer verifies (unsalted md5,
    /// sha1, crypt).
    Unknown,
}

impl fmt::Debug for StoredHash<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Native(_) => f.write_str("Native(..)"),
            Self::Django(hash) => f.debug_tuple("Django").field(hash).finish(),
            Self::Unusable => f.write_str("Unusable"),
            Self::Unknown => f.write_str("Unknown"),
        }
    }
}

/// Tells what `stored` is by its prefix alone; the fields of a Django hash are only read
/// by [`DjangoHash::verify`]. A caller that gets [`StoredHash::Unusable`] or
/// [`StoredHash::Unknown`] should still spend the time of a verification before refusing,
/// so the answer's timing does not tell which accounts exist or can sign in.
pub fn classify(stored: &str) -> StoredHash<'_> {
    if stored.is_empty() || stored.starts_with('!') {
        return StoredHash::Unusable;
    }
    if stored.starts_with("$2") {
        return StoredHash::Native(stored);
    }
    let Some((name, fields)) = stored.split_once('$') else {
        return StoredHash::Unknown;
    };
    match Algorithm::from_name(name) {
        Some(algorithm) => StoredHash::Django(DjangoHash {
            algorithm,
            encoded: stored,
            fields,
        }),
        None => StoredHash::Unknown,
    }
}

/// A Django-format hash (`algorithm$…`).
#[derive(Clone, Copy)]
pub struct DjangoHash<'a> {
    algorithm: Algorithm,
    /// The whole stored string: the algorithms Django checks by re-encoding compare
    /// against it.
    encoded: &'a str,
    /// What follows `algorithm$`.
    fields: &'a str,
}

impl fmt::Debug for DjangoHash<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoHash")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl DjangoHash<'_> {
    /// The algorithm name as Django writes it (pbkdf2_sha256, pbkdf2_sha1, bcrypt_sha256,
    /// bcrypt, argon2, scrypt, md5).
    pub fn algorithm(&self) -> &str {
        self.algorithm.name()
    }

    /// Whether `password` matches; any malformed or unsupported field is `false`, never a
    /// panic. The derived value is compared in constant time (subtle). CPU-heavy, like any
    /// password hash: callers run it on a blocking thread.
    pub fn verify(&self, password: &str) -> bool {
        let password = password.as_bytes();
        let verdict = match self.algorithm {
            Algorithm::Pbkdf2Sha256 | Algorithm::Pbkdf2Sha1 => self.verify_pbkdf2(password),
            Algorithm::BcryptSha256 | Algorithm::Bcrypt => self.verify_bcrypt(password),
            Algorithm::Argon2 => self.verify_argon2(password),
            Algorithm::Scrypt => self.verify_scrypt(password),
            Algorithm::Md5 => self.verify_md5(password),
        };
        verdict.unwrap_or(false)
    }

    /// Django checks by encoding the password again with the stored parameters and
    /// comparing whole strings; doing the same keeps its strictness (a non-canonical
    /// iteration count or base64 padding matches nothing there either).
    fn matches(&self, recomputed: &str) -> bool {
        recomputed.as_bytes().ct_eq(self.encoded.as_bytes()).into()
    }

    /// `pbkdf2_sha256$<iterations>$<salt>$<base64 key>`: the salt is used as the text it
    /// is, and the key is as long as the digest (32 or 20 bytes).
    fn verify_pbkdf2(&self, password: &[u8]) -> Option<bool> {
        let [iterations, salt, _key] = split_fields(self.fields)?;
        let iterations = decimal(iterations)?;
        // Zero rounds would silently be one in the pbkdf2 crate; Python refuses them.
        if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS || salt.is_empty() {
            return None;
        }
        let mut key = [0u8; 32];
        let key = match self.algorithm {
            Algorithm::Pbkdf2Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut key);
                &key[..]
            }
            _ => {
                let key = &mut key[..20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt.as_bytes(), iterations, key);
                key
            }
        };
        let recomputed = format!(
            "{}${iterations}${salt}${}",
            self.algorithm.name(),
            STANDARD.encode(key)
        );
        Some(self.matches(&recomputed))
    }

    /// `bcrypt$` or `bcrypt_sha256$` followed by a 60-character bcrypt string. The
    /// `bcrypt_sha256` variant hashes the lowercase hex SHA-256 of the password, so long
    /// passwords are not cut at 72 bytes; plain `bcrypt` truncates at 72 bytes, as every
    /// Django release did before pyca/bcrypt 5 started refusing longer passwords.
    fn verify_bcrypt(&self, password: &[u8]) -> Option<bool> {
        let data = self.fields;
        if data.len() != 60 || !data.is_ascii() {
            return None;
        }
        // `$2x$` is crypt_blowfish's bug-compatible mode for 8-bit passwords, which the
        // bcrypt crate would compute as `$2b$`; Django never wrote it.
        if !matches!(data.get(..4)?, "$2a$" | "$2b$" | "$2y$") {
            return None;
        }
        if decimal(data.get(4..6)?)? > MAX_BCRYPT_COST {
            return None;
        }
        let verdict = if self.algorithm == Algorithm::BcryptSha256 {
            let hex = Zeroizing::new(lower_hex(&Sha256::digest(password)));
            bcrypt::verify(hex.as_bytes(), data)
        } else {
            bcrypt::verify(password, data)
        };
        verdict.ok()
    }

    /// `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: the argon2-cffi string after
    /// `argon2`. The salt and hash are unpadded base64; the hash is as long as it decodes
    /// to (16, 32 or 64 bytes depending on the argon2-cffi release). The earliest hashes
    /// have no `v=` field, which libargon2 reads as version 0x10, where the argon2 crate's
    /// PHC parser would assume 0x13; hence the low-level call.
    fn verify_argon2(&self, password: &[u8]) -> Option<bool> {
        let mut fields = self.fields.split('$');
        let algorithm = match fields.next()? {
            "argon2id" => argon2::Algorithm::Argon2id,
            "argon2i" => argon2::Algorithm::Argon2i,
            "argon2d" => argon2::Algorithm::Argon2d,
            _ => return None,
        };
        let mut costs = fields.next()?;
        let version = match costs.strip_prefix("v=") {
            Some(version) => {
                costs = fields.next()?;
                match decimal(version)? {
                    0x13 => argon2::Version::V0x13,
                    0x10 => argon2::Version::V0x10,
                    _ => return None,
                }
            }
            None => argon2::Version::V0x10,
        };
        let (memory, passes, lanes) = argon2_costs(costs)?;
        let salt = STANDARD_NO_PAD.decode(fields.next()?).ok()?;
        let expected = STANDARD_NO_PAD.decode(fields.next()?).ok()?;
        if fields.next().is_some() {
            return None;
        }
        // Checked here rather than left to `Params::new`, which computes `8 × p` in a u32.
        if memory > MAX_ARGON2_MEMORY_KIB
            || passes > MAX_ARGON2_PASSES
            || u64::from(memory) * u64::from(passes) > MAX_ARGON2_WORK_KIB
            || lanes == 0
            || lanes > memory / 8
        {
            return None;
        }
        let params = argon2::Params::new(memory, passes, lanes, Some(expected.len())).ok()?;
        // The working memory is reserved here so that a failed allocation is a `false`,
        // not an abort of the whole process.
        let mut blocks = Vec::new();
        blocks.try_reserve_exact(params.block_count()).ok()?;
        blocks.resize(params.block_count(), argon2::Block::default());
        let mut derived = vec![0u8; expected.len()];
        argon2::Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, &salt, &mut derived, &mut blocks)
            .ok()?;
        Some(derived.ct_eq(&expected).into())
    }

    /// `scrypt$<N>$<salt>$<r>$<p>$<base64 key>`, N written out (16384, not 14), a 64-byte
    /// key, the salt used as the text it is.
    fn verify_scrypt(&self, password: &[u8]) -> Option<bool> {
        let [n, salt, r, p, _key] = split_fields(self.fields)?;
        let (n, r, p) = (decimal(n)?, decimal(r)?, decimal(p)?);
        if n < 2 || !n.is_power_of_two() || n > MAX_SCRYPT_N || r == 0 || p == 0 {
            return None;
        }
        if r > MAX_SCRYPT_R_P || p > MAX_SCRYPT_R_P {
            return None;
        }
        if salt.is_empty() {
            return None;
        }
        let blocks = u64::from(n).checked_mul(u64::from(r))?;
        if blocks.checked_mul(128)? > MAX_SCRYPT_MEMORY
            || blocks.checked_mul(u64::from(p))? > MAX_SCRYPT_WORK
        {
            return None;
        }
        let log_n = u8::try_from(n.trailing_zeros()).ok()?;
        let params = scrypt::Params::new(log_n, r, p, 64).ok()?;
        let mut key = [0u8; 64];
        scrypt::scrypt(password, salt.as_bytes(), &params, &mut key).ok()?;
        let recomputed = format!("scrypt${n}${salt}${r}${p}${}", STANDARD.encode(key));
        Some(self.matches(&recomputed))
    }

    /// `md5$<salt>$<hex md5(salt + password)>`. Weak, but Django 5.2 still verifies it.
    /// An empty salt is the unsalted form Django 5.1 dropped.
    fn verify_md5(&self, password: &[u8]) -> Option<bool> {
        let [salt, _digest] = split_fields(self.fields)?;
        if salt.is_empty() {
            return None;
        }
        let digest = Md5::new()
            .chain_update(salt)
            .chain_update(password)
            .finalize();
        Some(self.matches(&format!("md5${salt}${}", lower_hex(&digest))))
    }
}

/// The algorithms Django 5.2 still verifies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Pbkdf2Sha256,
    Pbkdf2Sha1,
    BcryptSha256,
    Bcrypt,
    Argon2,
    Scrypt,
    Md5,
}

impl Algorithm {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "pbkdf2_sha256" => Self::Pbkdf2Sha256,
            "pbkdf2_sha1" => Self::Pbkdf2Sha1,
            "bcrypt_sha256" => Self::BcryptSha256,
            "bcrypt" => Self::Bcrypt,
            "argon2" => Self::Argon2,
            "scrypt" => Self::Scrypt,
            "md5" => Self::Md5,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
            Self::Pbkdf2Sha1 => "pbkdf2_sha1",
            Self::BcryptSha256 => "bcrypt_sha256",
            Self::Bcrypt => "bcrypt",
            Self::Argon2 => "argon2",
            Self::Scrypt => "scrypt",
            Self::Md5 => "md5",
        }
    }
}

/// Splits at the first `N - 1` dollars, as Python's `split("$", N - 1)`: the last field
/// keeps any further `$`. `None` when there are fewer fields.
fn split_fields<const N: usize>(fields: &str) -> Option<[&str; N]> {
    let mut parts = fields.splitn(N, '$');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

/// A decimal made of ASCII digits only (`u32::from_str` would also take a leading `+`).
fn decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `m=<KiB>,t=<passes>,p=<lanes>`, in that order, as libargon2 writes and reads it.
fn argon2_costs(costs: &str) -> Option<(u32, u32, u32)> {
    let costs = costs.strip_prefix("m=")?;
    let (memory, costs) = costs.split_once(",t=")?;
    let (passes, lanes) = costs.split_once(",p=")?;
    Some((decimal(memory)?, decimal(passes)?, decimal(lanes)?))
}

fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors come from Django's and passlib's test suites, or were computed with
    /// Python's hashlib and argon2-cffi; none is produced by the crates under test. Hashes
    /// that Django's own hashers wrote, each with Django's verdicts, are checked in
    /// `tests/django_hash_fixtures.rs`.
    const LETMEIN: &str = "lètmein";
    const UNICODE: &str = "tá\u{0411}\u{2113}\u{0259}";

    fn django(stored: &str) -> DjangoHash<'_> {
        match classify(stored) {
            StoredHash::Django(hash) => hash,
            other => panic!("{stored:?} classified as {other:?}"),
        }
    }

    /// `stored` verifies `password` and refuses a near miss and the empty password.
    fn assert_verifies(stored: &str, password: &str) {
        let hash = django(stored);
        assert!(hash.verify(password), "{stored} should verify {password:?}");
        assert!(
            !hash.verify(&format!("{password}z")),
            "{stored} should refuse a wrong password"
        );
        if !password.is_empty() {
            assert!(
                !hash.verify(""),
                "{stored} should refuse the empty password"
            );
        }
    }

    fn assert_refuses(stored: &str, password: &str) {
        assert!(
            !django(stored).verify(password),
            "{stored:?} should not verify {password:?}"
        );
    }

    #[test]
    fn classifies_by_prefix() {
        let native = "$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG";
        assert!(matches!(classify(native), StoredHash::Native(hash) if hash == native));
        assert!(matches!(classify("$2y$12$whatever"), StoredHash::Native(_)));

        assert!(matches!(classify(""), StoredHash::Unusable));
        assert!(matches!(classify("!"), StoredHash::Unusable));
        assert!(matches!(
            classify("!hHOsH3kVDVIPHnJcWxQVGlHHzKbX1DpJzH7Xq8w0"),
            StoredHash::Unusable
        ));
        // An unusable marker never reaches a hasher, whatever follows it.
        assert!(matches!(
            classify("!pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A="),
            StoredHash::Unusable
        ));

        for unknown in [
            "plaintext",
            "88a434c88cca4e900f7874cd98123f43",
            "sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8",
            "sha1$$6d138ca3ae545631b3abd71a4f076ce759c5700b",
            "unsalted_md5$88a434c88cca4e900f7874cd98123f43",
            "crypt$$abN/.ovrmZuS.",
            "PBKDF2_SHA256$1000$seasalt$x",
            "$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$HpcgIWI2L0SaEdRQZTHxoP0m4aIJJ/08Ovpq2e2CCOA",
            "$1$salt$hash",
            "pbkdf2_sha256",
            " pbkdf2_sha256$1000$seasalt$x",
        ] {
            assert!(
                matches!(classify(unknown), StoredHash::Unknown),
                "{unknown:?} should be unknown"
            );
        }

        for name in [
            "pbkdf2_sha256",
            "pbkdf2_sha1",
            "bcrypt_sha256",
            "bcrypt",
            "argon2",
            "scrypt",
            "md5",
        ] {
            assert_eq!(django(&format!("{name}$anything")).algorithm(), name);
        }
    }

    #[test]
    fn debug_output_leaves_the_hash_out() {
        let stored = "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3";
        let shown = format!("{:?}", classify(stored));
        assert!(shown.contains("md5"), "{shown}");
        assert!(!shown.contains("seasalt"), "{shown}");
        let native = "$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG";
        assert_eq!(format!("{:?}", classify(native)), "Native(..)");
    }

    #[test]
    fn pbkdf2_sha256_vectors() {
        assert_verifies(
            "pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs=",
            "not a password",
        );
        assert_verifies(
            "pbkdf2_sha256$10000$bEwAfNrH1TlQ$OgYUblFNUX1B8GfMqaCYUK/iHyO0pa7STTDdaEJBuY0=",
            UNICODE,
        );
        assert_verifies(
            "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            LETMEIN,
        );
        assert_verifies(
            "pbkdf2_sha256$1$seasalt$mJQ8D8xVBAKQGCo0t0n+NSPS2a0gQhVtjuC9LdL9WiM=",
            LETMEIN,
        );
    }

    #[test]
    fn pbkdf2_sha1_vectors() {
        assert_verifies(
            "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=",
            "not a password",
        );
        assert_verifies(
            "pbkdf2_sha1$10000$KZKWwvqb8BfL$rw5pWsxJEU4JrZAQhHTCO+u0f5Y=",
            UNICODE,
        );
        assert_verifies(
            "pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=",
            LETMEIN,
        );
        // The same derivation under the other digest's name is not a match.
        assert_refuses(
            "pbkdf2_sha256$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=",
            LETMEIN,
        );
    }

    #[test]
    fn pbkdf2_refuses_what_django_would_not_write() {
        let one_round = "mJQ8D8xVBAKQGCo0t0n+NSPS2a0gQhVtjuC9LdL9WiM=";
        for stored in [
            // Zero rounds compute as one in the pbkdf2 crate: refused before hashing.
            format!("pbkdf2_sha256$0${one_round}"),
            format!("pbkdf2_sha256$0$seasalt${one_round}"),
            // Django re-encodes the count with `%d`: no leading zero or sign.
            format!("pbkdf2_sha256$01$seasalt${one_round}"),
            format!("pbkdf2_sha256$+1$seasalt${one_round}"),
            // Padding is part of the string Django compares.
            format!(
                "pbkdf2_sha256$1$seasalt${}",
                one_round.trim_end_matches('=')
            ),
            format!("pbkdf2_sha256$1$seasalt${one_round}$"),
            format!("pbkdf2_sha256$1$${one_round}"),
            "pbkdf2_sha256$1$seasalt$".to_owned(),
            "pbkdf2_sha256$1$seasalt$!!!!".to_owned(),
            "pbkdf2_sha256$abc$seasalt$x".to_owned(),
            "pbkdf2_sha256$-1$seasalt$x".to_owned(),
            "pbkdf2_sha256$99999999999999999999$seasalt$x".to_owned(),
            "pbkdf2_sha256$1$seasalt".to_owned(),
            "pbkdf2_sha256$1".to_owned(),
            "pbkdf2_sha256$".to_owned(),
            "pbkdf2_sha1$".to_owned(),
        ] {
            assert_refuses(&stored, LETMEIN);
        }
    }

    #[test]
    fn pbkdf2_iterations_over_the_cap_are_refused_without_hashing() {
        // Hashing 4 294 967 295 rounds would take well over an hour; the test returning at
        // all shows the cap applies first.
        assert_refuses("pbkdf2_sha256$4294967295$seasalt$x", LETMEIN);
        assert_refuses("pbkdf2_sha1$10000001$seasalt$x", LETMEIN);
    }

    #[test]
    fn bcrypt_sha256_vectors() {
        assert_verifies(
            "bcrypt_sha256$$2a$06$/3OeRpbOf8/l6nPPRdZPp.nRiyYqPobEZGdNRBWihQhiFDh1ws1tu",
            "",
        );
        assert_verifies(
            "bcrypt_sha256$$2a$08$NDjSAIcas.EcoxCRiArvT.MkNiPYVhrsrnJsRkLueZOoV1bsQqlmC",
            LETMEIN,
        );
        assert_verifies(
            "bcrypt_sha256$$2a$06$kCXUnRFQptGg491siDKNTu8RxjBGSjALHRuvhPYNFsa4Ea5d9M48u",
            UNICODE,
        );
        assert_verifies(
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            LETMEIN,
        );
        // `$2y$` is the same algorithm under PHP's name.
        assert_verifies(
            "bcrypt_sha256$$2y$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            LETMEIN,
        );
    }

    #[test]
    fn bcrypt_sha256_is_not_cut_at_72_bytes() {
        let long = "abc123".repeat(12);
        let exactly_72 =
            "bcrypt_sha256$$2a$06$Tg/oYyZTyAf.Nb3qSgN61OySmyXA8FoY4PjGizjE1QSDfuL5MXNni";
        let longer = "bcrypt_sha256$$2a$06$Tg/oYyZTyAf.Nb3qSgN61Ocy0BEz1RK6xslSNi8PlaLX2pe7x/KQG";
        assert!(django(exactly_72).verify(&long));
        assert!(!django(exactly_72).verify(&format!("{long}qwr")));
        assert!(django(longer).verify(&format!("{long}qwr")));
        assert!(!django(longer).verify(&long));
    }

    #[test]
    fn bcrypt_vectors() {
        assert_verifies(
            "bcrypt$$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",
            "",
        );
        assert_verifies(
            "bcrypt$$2a$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG",
            UNICODE,
        );
        assert_verifies(
            "bcrypt$$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG",
            LETMEIN,
        );
        // A plain bcrypt hash is not a bcrypt_sha256 one, nor the other way round.
        assert_refuses(
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG",
            LETMEIN,
        );
        assert_refuses(
            "bcrypt$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            LETMEIN,
        );
    }

    #[test]
    fn plain_bcrypt_truncates_at_72_bytes_like_django_did() {
        let long = "x".repeat(72);
        let stored = format!("bcrypt${}", bcrypt::hash(&long, 4).unwrap());
        assert!(django(&stored).verify(&long));
        assert!(django(&stored).verify(&format!("{long}anything after")));
    }

    #[test]
    fn bcrypt_refuses_malformed_strings() {
        let good = "$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG";
        for stored in [
            "bcrypt_sha256$xyz$2a$06$/3OeRpbOf8/l6nPPRdZPp.nRiyYqPobEZGdNRBWihQhiFDh1ws1tu",
            "bcrypt_sha256$",
            "bcrypt$",
            "bcrypt$$2b$04$",
            &format!("bcrypt${}", &good[..59]),
            &format!("bcrypt${good}x"),
            &format!("bcrypt${}", good.replace("$2b$", "$2x$")),
            &format!("bcrypt${}", good.replace("$2b$", "$3b$")),
            &format!("bcrypt${}", good.replace("$04$", "$03$")),
            &format!("bcrypt${}", good.replace("$04$", "$+4$")),
            &format!("bcrypt${}", good.replace("$04$", "$ab$")),
            &format!("bcrypt${}", good.replace("abcd", "ab!d")),
            // 60 bytes, but not 60 ASCII characters.
            &format!("bcrypt${}é", &good[..58]),
            "bcrypt$$2b$04$ééééééééééééééééééééééééééééééééééééééééééééééééééééé",
        ] {
            assert_refuses(stored, LETMEIN);
        }
    }

    #[test]
    fn bcrypt_costs_over_the_cap_are_refused_without_hashing() {
        // Cost 31 is days of work; the test returning shows the cap applies first.
        let salt_and_hash = "abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG";
        assert_refuses(&format!("bcrypt$$2b$31${salt_and_hash}"), LETMEIN);
        assert_refuses(&format!("bcrypt_sha256$$2b$17${salt_and_hash}"), LETMEIN);
    }

    #[test]
    fn argon2_vectors() {
        // Django's "old hash without version attribute": version 0x10, 64-byte hash.
        assert_verifies(
            "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
            "secret",
        );
        // 16-byte hashes from argon2-cffi before 21.2.
        assert_verifies(
            "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
            "secret",
        );
        assert_verifies(
            "argon2$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$AJFIsNZTMKTAewB4+ETN1A",
            "password",
        );
        assert_verifies(
            "argon2$argon2i$v=19$m=380,t=2,p=2$c29tZXNhbHQ$SrssP8n7m/12VWPM8dvNrw",
            "password",
        );
        assert_verifies(
            "argon2$argon2i$v=19$m=512,t=2,p=2$V25jN1l4UUJZWkR1$MxpA1BD2Gh7+D79gaAw6sQ",
            LETMEIN,
        );
        // The current argon2id form with a 32-byte hash.
        assert_verifies(
            "argon2$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$HpcgIWI2L0SaEdRQZTHxoP0m4aIJJ/08Ovpq2e2CCOA",
            LETMEIN,
        );
    }

    #[test]
    fn argon2_every_variant_and_version() {
        for stored in [
            "argon2$argon2d$v=19$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$oA03sDaiDZmWCe5bDK2O0qLt/h462uKSfWFLP1Yx7yM",
            "argon2$argon2d$v=16$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$jAs4pVQxnW5EuB2JNKnqvSl1dccXKASmCGydDVs02Uw",
            "argon2$argon2id$v=19$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$tXDeov+Hqj90N5YC4S27yMwkzEXe6x3uDBfqUcRD1WE",
            "argon2$argon2id$v=16$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$4EMUgjLgr8jVOxHutyvFpsb4De6rDAXw+lwEdoW3Msc",
            "argon2$argon2i$v=19$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$z9aU2rs9XPYLQk8dwfEppnA0xye2+ge4i88+GQCmZbA",
            "argon2$argon2i$v=16$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$ws6AehOSZ02DjNyhOALosdwBrWTWCNnrnHY/ZCmpWw8",
        ] {
            assert_verifies(stored, LETMEIN);
        }
        // A missing version means 0x10, the same as `v=16`; 0x13 is a different hash.
        assert_verifies(
            "argon2$argon2i$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$ws6AehOSZ02DjNyhOALosdwBrWTWCNnrnHY/ZCmpWw8",
            LETMEIN,
        );
        assert_refuses(
            "argon2$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
            "secret",
        );
        // The variant is part of the hash.
        assert_refuses(
            "argon2$argon2d$v=19$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$tXDeov+Hqj90N5YC4S27yMwkzEXe6x3uDBfqUcRD1WE",
            LETMEIN,
        );
    }

    #[test]
    fn argon2_refuses_malformed_strings() {
        let salt = "c2Vhc2FsdHNlYXNhbHQ";
        let hash = "tXDeov+Hqj90N5YC4S27yMwkzEXe6x3uDBfqUcRD1WE";
        for stored in [
            "argon2$".to_owned(),
            "argon2$argon2id".to_owned(),
            "argon2$argon2id$v=19".to_owned(),
            "argon2$argon2id$v=19$m=32,t=1,p=2".to_owned(),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}${hash}$"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}${hash}="),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}=${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2$!!!!${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}$é{hash}"),
            format!("argon2$argon2x$v=19$m=32,t=1,p=2${salt}${hash}"),
            format!("argon2$$argon2id$v=19$m=32,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=18$m=32,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=$m=32,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$t=1,m=32,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=1${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=x,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=-32,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=0,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=0,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=0${salt}${hash}"),
            // Fewer than 8 KiB per lane.
            format!("argon2$argon2id$v=19$m=32,t=1,p=5${salt}${hash}"),
            // `8 × p` overflows a u32.
            format!("argon2$argon2id$v=19$m=32,t=1,p=4294967295${salt}${hash}"),
            // A salt under 8 bytes, a hash under 4.
            format!("argon2$argon2id$v=19$m=32,t=1,p=2$c2FsdA${hash}"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}$tXDe"),
            format!("argon2$argon2id$v=19$m=32,t=1,p=2${salt}$"),
        ] {
            assert_refuses(&stored, LETMEIN);
        }
    }

    #[test]
    fn argon2_costs_over_the_caps_are_refused_without_hashing() {
        let tail = "c2Vhc2FsdHNlYXNhbHQ$tXDeov+Hqj90N5YC4S27yMwkzEXe6x3uDBfqUcRD1WE";
        for costs in [
            "m=1048577,t=1,p=1",
            "m=4294967295,t=1,p=1",
            "m=32,t=101,p=2",
            "m=32,t=4294967295,p=2",
            // Each within its own cap, but 1 GiB × 5 passes is over the product's.
            "m=1048576,t=5,p=1",
        ] {
            assert_refuses(&format!("argon2$argon2id$v=19${costs}${tail}"), LETMEIN);
        }
    }

    #[test]
    fn scrypt_vectors() {
        assert_verifies(
            "scrypt$1024$seasalt$8$1$+qO2jTkVUbPNlniTkHY96ldSJKs4U0WQif8UbWlfO3wJDNhKOg+pPtDckiT6Zw0qkEvKIQ1MdONfGxsWrpoiNg==",
            LETMEIN,
        );
        assert_verifies(
            "scrypt$16$seasalt$1$1$cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==",
            LETMEIN,
        );
        assert_verifies(
            "scrypt$16$seasalt$2$3$l8K9m2R+ET4cq9chDkxL4y1pJj+h8CovfxH9/a0BQ8BvlpZ7U2eeuq2YVttfSW7AuHua9LnhwLnMTnSGOi/K1Q==",
            LETMEIN,
        );
        assert_verifies(
            "scrypt$16$seasalt$1$1$d/6ov0QW0Tt/VFrZe//izwiTvkGjyhk4XHL+Wz3Jw2CD0khDlJkZaVB4/qQudK9SchGpehQ1J/oPlY04o1QjQA==",
            "",
        );
        // N, r and p each change the key.
        assert_refuses(
            "scrypt$32$seasalt$1$1$cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==",
            LETMEIN,
        );
        assert_refuses(
            "scrypt$16$seasalt$2$1$cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==",
            LETMEIN,
        );
        assert_refuses(
            "scrypt$16$seasalt$2$2$l8K9m2R+ET4cq9chDkxL4y1pJj+h8CovfxH9/a0BQ8BvlpZ7U2eeuq2YVttfSW7AuHua9LnhwLnMTnSGOi/K1Q==",
            LETMEIN,
        );
    }

    #[test]
    fn scrypt_refuses_malformed_strings() {
        let key = "cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==";
        for stored in [
            "scrypt$".to_owned(),
            "scrypt$16$seasalt$1$1".to_owned(),
            "scrypt$16$seasalt$1".to_owned(),
            format!("scrypt$16$$1$1${key}"),
            format!("scrypt$16$seasalt$1$1${}", &key[..86]),
            format!("scrypt$16$seasalt$1$1${key}$"),
            format!("scrypt$16$seasalt$1$1$!{}", &key[1..]),
            format!("scrypt$016$seasalt$1$1${key}"),
            format!("scrypt$x$seasalt$1$1${key}"),
            format!("scrypt$16$seasalt$one$1${key}"),
            format!("scrypt$16$seasalt$1$-1${key}"),
            // N must be a power of two above one.
            format!("scrypt$1000$seasalt$1$1${key}"),
            format!("scrypt$1$seasalt$1$1${key}"),
            format!("scrypt$0$seasalt$1$1${key}"),
            format!("scrypt$16$seasalt$0$1${key}"),
            format!("scrypt$16$seasalt$1$0${key}"),
            // RFC 7914 wants N < 2^(16 r).
            format!("scrypt$65536$seasalt$1$1${key}"),
        ] {
            assert_refuses(&stored, LETMEIN);
        }
    }

    #[test]
    fn scrypt_costs_over_the_caps_are_refused_without_hashing() {
        let key = "cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==";
        for costs in [
            // N over 2^20.
            "2097152$seasalt$8$1",
            "2147483648$seasalt$8$1",
            // 2^20 × 16 × 128 bytes is 2 GiB.
            "1048576$seasalt$16$1",
            // Little memory, but N × r × p is 2^30.
            "1024$seasalt$8$131072",
            "16$seasalt$4294967295$4294967295",
            // N tiny, but r × p alone is gigabytes.
            "2$seasalt$4194304$2",
            "2$seasalt$65$1",
            "2$seasalt$1$65",
        ] {
            assert_refuses(&format!("scrypt${costs}${key}"), LETMEIN);
        }
    }

    #[test]
    fn md5_vector() {
        assert_verifies("md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3", LETMEIN);
    }

    #[test]
    fn md5_refuses_what_django_5_would_not_verify() {
        for stored in [
            // Unsalted md5 in the salted layout was dropped in Django 5.1.
            "md5$$88a434c88cca4e900f7874cd98123f43",
            // Django compares its lowercase hex.
            "md5$seasalt$3F86D0D3D465B7B458C231BF3555C0E3",
            "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e",
            "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3$",
            "md5$seasalt",
            "md5$",
        ] {
            assert_refuses(stored, LETMEIN);
        }
    }

    #[test]
    fn every_truncation_of_a_valid_hash_verifies_nothing() {
        for stored in [
            "pbkdf2_sha256$1$seasalt$mJQ8D8xVBAKQGCo0t0n+NSPS2a0gQhVtjuC9LdL9WiM=",
            "pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt$$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG",
            "argon2$argon2id$v=19$m=32,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$tXDeov+Hqj90N5YC4S27yMwkzEXe6x3uDBfqUcRD1WE",
            "scrypt$16$seasalt$1$1$cLRu3GuNLld23RhA+fjx9GyexRHdxXIoj62y4LGNE8Ege7k58699/I4svJvM3AsCZg9hF6ZS7BX1A8CSHgKp8w==",
            "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3",
        ] {
            assert!(django(stored).verify(LETMEIN), "{stored}");
            for end in 0..stored.len() {
                if let StoredHash::Django(hash) = classify(&stored[..end]) {
                    assert!(!hash.verify(LETMEIN), "{:?}", &stored[..end]);
                }
            }
        }
    }
}
