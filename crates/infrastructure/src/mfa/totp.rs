//! Time-based one-time codes (RFC 6238): SHA-1, 6 digits, 30-second steps, one step of
//! drift either way, each step accepted once. The code arithmetic and the constant-time
//! comparison are totp-rs's; the replay rule is ours.

use anyhow::Context;
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

/// Digits of a code.
pub const TOTP_DIGITS: u8 = 6;
/// Seconds a code is current.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Steps of drift accepted either way (a phone's clock a little off, a code typed late).
const SKEW_STEPS: u16 = 1;
/// Bytes of a secret: 160 bits, the size of SHA-1's output (RFC 4226 recommends it).
const SECRET_BYTES: usize = 20;

/// A user's TOTP secret. Never logged: `Debug` shows nothing of it.
pub struct TotpSecret(SecretSlice<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new secret from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        Self(bytes.to_vec().into())
    }

    /// A secret read back (opened from its sealed form).
    pub fn from_bytes(bytes: SecretSlice<u8>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            bytes.expose_secret().len() >= 16,
            "a TOTP secret has at least 128 bits"
        );
        Ok(Self(bytes))
    }

    /// The raw bytes, to seal.
    pub fn bytes(&self) -> &SecretSlice<u8> {
        &self.0
    }

    /// The secret as authenticator apps take it typed in (base32, no padding).
    pub fn base32(&self) -> SecretString {
        totp_rs::Secret::from(self.0.expose_secret().to_vec())
            .to_base32()
            .into()
    }

    /// The step a code belongs to, if `code` is this secret's code at `at` (or one step
    /// either side) and that step is later than `last_accepted`: a code is accepted once,
    /// and an older one never after a newer one. Anything but six ASCII digits is refused.
    pub fn accepts(
        &self,
        code: &str,
        at: OffsetDateTime,
        last_accepted: Option<u64>,
    ) -> anyhow::Result<Option<u64>> {
        let Ok(now) = u64::try_from(at.unix_timestamp()) else {
            return Ok(None);
        };
        let step = self.totp(None)?.check(code, now);
        Ok(step.filter(|step| last_accepted.is_none_or(|last| *step > last)))
    }

    /// The code an authenticator app shows at `at` (what a test, or a software
    /// authenticator, types).
    pub fn code_at(&self, at: OffsetDateTime) -> anyhow::Result<String> {
        let seconds = u64::try_from(at.unix_timestamp()).context("a time before 1970")?;
        Ok(self.totp(None)?.generate(seconds).to_string())
    }

    /// The secret from its base32 form (what enrolment shows).
    pub fn from_base32(text: &str) -> anyhow::Result<Self> {
        let secret = totp_rs::Secret::try_from_base32(text)
            .map_err(|_| anyhow::anyhow!("not a base32 secret"))?;
        Self::from_bytes(secret.to_vec().into())
    }

    /// The `otpauth://totp/...` URI an authenticator app reads from the QR code: `issuer`
    /// (the service's name) and `account` (the user's email) label the entry.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> anyhow::Result<String> {
        let totp = self.totp(Some((issuer, account)))?;
        totp.to_url().context("the otpauth URI does not build")
    }

    fn totp(&self, labels: Option<(&str, &str)>) -> anyhow::Result<Totp> {
        let mut builder = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(TOTP_DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(TOTP_STEP_SECONDS)
            .with_secret(self.0.expose_secret().to_vec());
        if let Some((issuer, account)) = labels {
            builder = builder
                .with_issuer(Some(issuer.to_owned()))
                .with_account_name(account.to_owned());
        }
        builder.build().context("not a valid TOTP configuration")
    }
}

/// `text` (an `otpauth://` URI) as a QR code in SVG, for the enrolment page: dark modules on
/// a white, quiet-zoned square at least 200 px wide.
pub fn qr_svg(text: &str) -> anyhow::Result<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).context("the text does not fit a QR code")?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec().into()).unwrap()
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    /// RFC 6238 appendix B, SHA-1: the 8-digit values' last six digits are the 6-digit codes.
    #[test]
    fn rfc_6238_test_vectors() {
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let code = &eight_digits[2..];
            let step = rfc_secret().accepts(code, at(time), None).unwrap();
            assert_eq!(step, Some(time as u64 / 30), "{time}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = rfc_secret();
        let code = "287082"; // step 1 (t = 59)
        for (time, accepted) in [(29, true), (59, true), (89, true), (0, true), (90, false)] {
            let step = secret.accepts(code, at(time), None).unwrap();
            assert_eq!(step.is_some(), accepted, "{time}");
        }
        assert_eq!(secret.accepts(code, at(119), None).unwrap(), None);
    }

    #[test]
    fn a_code_is_accepted_once_and_never_after_a_newer_one() {
        let secret = rfc_secret();
        let step = secret.accepts("287082", at(59), None).unwrap().unwrap();
        assert_eq!(secret.accepts("287082", at(59), Some(step)).unwrap(), None);
        assert_eq!(
            secret.accepts("287082", at(59), Some(step + 1)).unwrap(),
            None
        );
        assert_eq!(
            secret.accepts("287082", at(59), Some(step - 1)).unwrap(),
            Some(step)
        );
    }

    #[test]
    fn anything_but_six_digits_is_refused() {
        let secret = rfc_secret();
        for code in [
            "",
            "28708",
            "2870820",
            "+87082",
            "28708a",
            "abcdef",
            " 287082",
            "２８７０８２",
        ] {
            assert_eq!(
                secret.accepts(code, at(59), None).unwrap(),
                None,
                "{code:?}"
            );
        }
        assert_eq!(secret.accepts("287082", at(-5), None).unwrap(), None);
    }

    #[test]
    fn a_new_secret_is_random_and_labels_its_uri() {
        let (a, b) = (TotpSecret::generate(), TotpSecret::generate());
        assert_ne!(a.bytes().expose_secret(), b.bytes().expose_secret());
        assert_eq!(a.bytes().expose_secret().len(), 20);
        let url = a.otpauth_url("Gatehouse", "alice@example.com").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Gatehouse:alice%40example.com?"),
            "{url}"
        );
        assert!(url.contains(&format!("secret={}", a.base32().expose_secret())));
        assert!(url.contains("issuer=Gatehouse"), "{url}");
        assert!(a.otpauth_url("Gate:house", "alice@example.com").is_err());
        assert_eq!(format!("{a:?}"), "TotpSecret(..)");
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let url = rfc_secret()
            .otpauth_url("Gatehouse", "alice@example.com")
            .unwrap();
        let svg = qr_svg(&url).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(!svg.contains("<script"));
    }
}
