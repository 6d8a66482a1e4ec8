//! Hashes written by Django's own hashers (`fixtures/django/hashes.json`, made by
//! `scripts/django-fixtures/make_fixtures.py`): for every attempt recorded there, Gatehouse
//! must give exactly the verdict Django's `check_password` gave.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeSet;
use std::sync::OnceLock;

use gatehouse_application::ports::PasswordHasher as _;
use gatehouse_domain::PasswordHash;
use gatehouse_infrastructure::BcryptHasher;
use gatehouse_infrastructure::django_hashes::{StoredHash, classify};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    /// The hasher: an algorithm name, `argon2id`/`argon2i` for the two argon2 types, or
    /// `unusable` for `make_password(None)`.
    variant: String,
    /// What the hash starts with before its first `$`; none for an unusable password.
    algorithm: Option<String>,
    /// `default` (Django's own cost) or `low`.
    cost: Option<String>,
    password: Option<String>,
    hash: String,
    checks: Vec<Check>,
}

#[derive(Deserialize)]
struct Check {
    password: String,
    /// What `check_password` answered in the environment that wrote the hash. A `bool`, so
    /// an entry where Django raised instead could not be read and the suite would fail.
    django: bool,
}

/// Every hasher the fixture must cover: the hashers Django 5.2 verifies, both argon2 types,
/// and the unusable password. The fixture cannot silently shrink below this.
const VARIANTS: [&str; 9] = [
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
    "argon2id",
    "argon2i",
    "scrypt",
    "md5",
    "unusable",
];

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE
        .get_or_init(|| serde_json::from_str(include_str!("fixtures/django/hashes.json")).unwrap())
}

fn entries(variant: &str) -> Vec<&'static Entry> {
    fixture()
        .entries
        .iter()
        .filter(|entry| entry.variant == variant)
        .collect()
}

/// Runs every recorded attempt on every hash of `variant` through `classify` and
/// `DjangoHash::verify`.
fn matches_django(variant: &str) {
    let entries = entries(variant);
    assert!(!entries.is_empty(), "no {variant} hashes in the fixture");
    for entry in entries {
        let hash = match classify(&entry.hash) {
            StoredHash::Django(hash) => hash,
            other => panic!("{} classified as {other:?}", entry.hash),
        };
        assert_eq!(Some(hash.algorithm()), entry.algorithm.as_deref());
        for check in &entry.checks {
            assert_eq!(
                hash.verify(&check.password),
                check.django,
                "{} with {:?}: Django said {}",
                entry.hash,
                check.password,
                check.django
            );
        }
    }
}

#[test]
fn pbkdf2_sha256_as_django() {
    matches_django("pbkdf2_sha256");
}

#[test]
fn pbkdf2_sha1_as_django() {
    matches_django("pbkdf2_sha1");
}

#[test]
fn bcrypt_sha256_as_django() {
    matches_django("bcrypt_sha256");
}

/// Includes hashes of a password over 72 bytes made with bcrypt 4, which cut it at 72
/// bytes, so Django accepted anything sharing those bytes. Django 5.2 with bcrypt 5 raises
/// on such a password instead of answering (recorded as `django_bcrypt_5`); Gatehouse
/// follows the release that wrote the hash, so those accounts keep signing in.
#[test]
fn bcrypt_as_django() {
    matches_django("bcrypt");
}

#[test]
fn argon2id_as_django() {
    matches_django("argon2id");
}

#[test]
fn argon2i_as_django() {
    matches_django("argon2i");
}

#[test]
fn scrypt_as_django() {
    matches_django("scrypt");
}

#[test]
fn md5_as_django() {
    matches_django("md5");
}

/// `make_password(None)`: Django refuses every attempt, and Gatehouse never hands the
/// value to a hasher.
#[test]
fn unusable_as_django() {
    let entries = entries("unusable");
    assert!(!entries.is_empty());
    for entry in entries {
        assert!(
            matches!(classify(&entry.hash), StoredHash::Unusable),
            "{}",
            entry.hash
        );
        assert!(entry.password.is_none() && entry.algorithm.is_none());
        assert!(entry.checks.iter().all(|check| !check.django));
    }
}

/// The sign-in path: the hasher reads each low-cost hash as Django does, and asks for every
/// Django hash to be replaced by its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_hasher_answers_as_django() {
    let hasher = BcryptHasher::new(4, 2).unwrap();
    let low = fixture()
        .entries
        .iter()
        .filter(|entry| entry.cost.as_deref() != Some("default") || entry.variant == "md5");
    for entry in low {
        let stored = PasswordHash::new(entry.hash.clone());
        assert_eq!(hasher.needs_upgrade(&stored), entry.variant != "unusable");
        for check in &entry.checks {
            assert_eq!(
                hasher.verify(&check.password, &stored).await.unwrap(),
                check.django,
                "{} with {:?}",
                entry.hash,
                check.password
            );
        }
    }
}

/// Every hasher is there, each with Django's default cost, and with the passwords that
/// tell implementations apart: non-ASCII, empty, longer than bcrypt's 72 bytes.
#[test]
fn the_fixture_covers_every_format() {
    let variants: BTreeSet<&str> = fixture()
        .entries
        .iter()
        .map(|entry| entry.variant.as_str())
        .collect();
    assert_eq!(variants, BTreeSet::from(VARIANTS), "hashers in the fixture");

    // Django 5.2's defaults, which Gatehouse's caps must let through.
    let defaults = [
        ("pbkdf2_sha256", "pbkdf2_sha256$1000000$"),
        ("pbkdf2_sha1", "pbkdf2_sha1$1000000$"),
        ("bcrypt_sha256", "bcrypt_sha256$$2b$12$"),
        ("bcrypt", "bcrypt$$2b$12$"),
        ("argon2id", "argon2$argon2id$v=19$m=102400,t=2,p=8$"),
        ("argon2i", "argon2$argon2i$v=19$m=102400,t=2,p=8$"),
        ("scrypt", "scrypt$16384$"),
        ("md5", "md5$"),
    ];
    for (variant, prefix) in defaults {
        let entries = entries(variant);
        assert!(
            entries.iter().any(|entry| {
                entry.cost.as_deref() == Some("default") && entry.hash.starts_with(prefix)
            }),
            "no {variant} hash at Django's default cost ({prefix}…)"
        );
        for entry in &entries {
            assert!(
                entry.hash.starts_with(prefix.split('$').next().unwrap()),
                "{variant}: {}",
                entry.hash
            );
        }
        let passwords: Vec<&str> = entries
            .iter()
            .filter_map(|entry| entry.password.as_deref())
            .collect();
        assert!(
            passwords.iter().any(|p| !p.is_ascii()),
            "{variant}: non-ASCII"
        );
        assert!(passwords.iter().any(|p| p.is_empty()), "{variant}: empty");
        assert!(
            passwords.iter().any(|p| p.len() > 72),
            "{variant}: over 72 bytes"
        );
        for entry in entries {
            // The right password, accepted, and at least one attempt refused: a verifier
            // that answers always the same cannot pass.
            let password = entry.password.as_deref().unwrap();
            assert!(
                entry
                    .checks
                    .iter()
                    .any(|check| check.password == password && check.django),
                "{}",
                entry.hash
            );
            assert!(
                entry.checks.iter().any(|check| !check.django),
                "{}",
                entry.hash
            );
        }
    }
    let scrypt_default = entries("scrypt")
        .into_iter()
        .find(|entry| entry.cost.as_deref() == Some("default"))
        .unwrap();
    assert!(
        scrypt_default.hash.contains("$8$5$"),
        "scrypt's default r and p: {}",
        scrypt_default.hash
    );
}
