//! The optional, self-service part of a user record.

use std::fmt;

use time::Date;

use crate::DomainError;

/// A phone number in E.164 form: `+`, a country code that does not start with 0, at most 15
/// digits in all. Spaces, dashes, dots and parentheses that people type are dropped first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number such as `+44 20 7946 0958` into `+442079460958`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || {
            DomainError::new(
                "phone_number",
                "enter a number in international format, e.g. +442079460958",
            )
        };
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or_else(invalid)?;
        let well_formed = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !well_formed {
            return Err(invalid());
        }
        Ok(Self(compact))
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a birth date: not in the future and not before 1900.
pub fn check_birth_date(date: Date, today: Date) -> Result<Date, DomainError> {
    if date > today {
        return Err(DomainError::new("birth_date", "must not be in the future"));
    }
    if date.year() < 1900 {
        return Err(DomainError::new("birth_date", "must be in 1900 or later"));
    }
    Ok(date)
}

/// Which emails the user wants besides the ones an account needs (verification, reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationPreferences {
    /// New sign-in and other security notices.
    pub security_emails: bool,
    /// News about the product.
    pub product_emails: bool,
}

impl Default for NotificationPreferences {
    /// Security notices on, marketing off: opt-in, never opt-out.
    fn default() -> Self {
        Self {
            security_emails: true,
            product_emails: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        let phone = PhoneNumber::parse(" +44 (20) 7946-0958 ").unwrap();
        assert_eq!(phone.as_str(), "+442079460958");
        for bad in [
            "",
            "442079460958",
            "+0442079460958",
            "+1",
            "+1234567890123456",
            "+44 20 ABC",
            "++44",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn birth_dates_are_in_the_past_and_plausible() {
        let today = date!(2026 - 11 - 22);
        assert!(check_birth_date(date!(1990 - 01 - 31), today).is_ok());
        assert!(check_birth_date(today, today).is_ok());
        assert!(check_birth_date(date!(2026 - 11 - 23), today).is_err());
        assert!(check_birth_date(date!(1899 - 12 - 31), today).is_err());
    }

    proptest! {
        #[test]
        fn e164_numbers_round_trip(country in "[1-9]", rest in "[0-9]{1,13}") {
            let raw = format!("+{country}{rest}");
            let phone = PhoneNumber::parse(&raw).unwrap();
            prop_assert_eq!(phone.as_str(), raw.as_str());
        }
    }
}
