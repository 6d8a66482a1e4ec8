//! Values as a Django database holds them in text: SQLite has no boolean, date or decimal
//! type (Django stores `0`/`1`, ISO text and numbers of either affinity), and every column
//! the source reads as text comes through here, so both backends follow one set of rules.

use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A boolean: SQLite's `0`/`1` and PostgreSQL's `true`/`false` (`t`/`f` too, as `psql`
/// shows them). Anything else is unreadable: guessing could grant a flag nobody set.
pub(super) fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

/// A whole amount: an integer, or a decimal whose fraction is zero (`150.00` from a
/// `DecimalField`, `150.0` from SQLite's numeric affinity). A real fraction or an exponent is
/// unreadable: rounding would invent or lose credits.
pub(super) fn whole_amount(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b == b'0')
    {
        return None;
    }
    whole.parse().ok()
}

/// A date, `YYYY-MM-DD`.
pub(super) fn day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// A moment as Django's SQLite backend stores it: `YYYY-MM-DD HH:MM:SS[.ffffff]`, in UTC. A
/// `T` separator, a trailing `Z` or an explicit offset (`+00:00`, written by older Django
/// versions) are accepted too. The result is in UTC.
pub(super) fn moment(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let date = day(date)?;
    let rest = rest.strip_prefix([' ', 'T'])?;
    let (clock, offset) = split_offset(rest)?;
    let time = Time::parse(
        clock,
        format_description!("[hour]:[minute]:[second][optional [.[subsecond]]]"),
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

/// Splits `HH:MM:SS[.f][offset]` into the clock and its offset (UTC when there is none).
fn split_offset(rest: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, UtcOffset::UTC));
    }
    let Some(at) = rest.find(['+', '-']) else {
        return Some((rest, UtcOffset::UTC));
    };
    let (clock, offset) = rest.split_at(at);
    let offset = UtcOffset::parse(
        offset,
        format_description!("[offset_hour sign:mandatory][optional [:[offset_minute]]]"),
    )
    .ok()?;
    Some((clock, offset))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn flags_are_sqlite_integers_or_postgres_words() {
        for yes in ["1", "true", "t", "TRUE"] {
            assert_eq!(flag(yes), Some(true), "{yes}");
        }
        for no in ["0", "false", "f", "False"] {
            assert_eq!(flag(no), Some(false), "{no}");
        }
        for neither in ["", "2", "maybe", "yes"] {
            assert_eq!(flag(neither), None, "{neither}");
        }
    }

    #[test]
    fn amounts_are_integers_or_decimals_without_a_fraction() {
        assert_eq!(whole_amount("150"), Some(150));
        assert_eq!(whole_amount("150.00"), Some(150));
        assert_eq!(whole_amount("150.0"), Some(150));
        assert_eq!(whole_amount("150."), Some(150));
        assert_eq!(whole_amount("-3"), Some(-3));
        assert_eq!(whole_amount("0.000"), Some(0));
        for unreadable in [
            "2.50",
            "",
            ".0",
            "-",
            "1e3",
            "lots",
            "99999999999999999999",
            "1.0e+20",
        ] {
            assert_eq!(whole_amount(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn moments_are_django_sqlite_text_in_utc() {
        assert_eq!(
            moment("2024-03-01 10:20:30.123456"),
            Some(datetime!(2024-03-01 10:20:30.123456 UTC))
        );
        assert_eq!(
            moment("2024-03-01 10:20:30"),
            Some(datetime!(2024-03-01 10:20:30 UTC))
        );
        assert_eq!(
            moment("2024-03-01 10:20:30.5+00:00"),
            Some(datetime!(2024-03-01 10:20:30.5 UTC))
        );
        assert_eq!(
            moment("2024-03-01T10:20:30Z"),
            Some(datetime!(2024-03-01 10:20:30 UTC))
        );
        assert_eq!(
            moment("2024-03-01 12:20:30+02:00"),
            Some(datetime!(2024-03-01 10:20:30 UTC))
        );
        for unreadable in [
            "",
            "yesterday",
            "2024-03-01",
            "2024-13-01 00:00:00",
            "2024-03-01 25:00:00",
        ] {
            assert_eq!(moment(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn days_are_iso_dates() {
        assert_eq!(day("1990-05-17"), Some(date!(1990 - 05 - 17)));
        assert_eq!(day("17/05/1990"), None);
        assert_eq!(day("someday"), None);
    }
}
