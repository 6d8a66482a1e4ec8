//! Typed reads of single variables: every rule about one value (trimming, defaults, ranges,
//! the error naming the variable) lives here once, so the sections read like a list.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;

/// Longest accepted duration setting: ten years, in seconds.
pub const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

pub(super) fn error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// The variables, through a lookup (the process environment, or a map in tests). A value
/// that is empty after trimming counts as unset.
pub(super) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The trimmed value, `None` when unset or blank.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(super) fn text_or(&self, name: &str, default: &str) -> String {
        self.text(name).unwrap_or_else(|| default.to_owned())
    }

    /// A whole number of seconds, at least one and at most ten years: every lifetime is added
    /// to "now", which must stay a date.
    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        self.seconds_from(name, default, 1)
    }

    /// As [`Env::seconds`], zero allowed.
    pub(super) fn seconds_or_zero(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        self.seconds_from(name, default, 0)
    }

    fn seconds_from(
        &self,
        name: &'static str,
        default: u64,
        least: u64,
    ) -> Result<Duration, ConfigError> {
        let Some(raw) = self.text(name) else {
            return Ok(Duration::from_secs(default));
        };
        raw.parse::<u64>()
            .ok()
            .filter(|s| (least..=MAX_SECONDS).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                error(
                    name,
                    format!("expected a whole number of seconds up to {MAX_SECONDS}, got {raw:?}"),
                )
            })
    }

    /// Milliseconds within `range`.
    pub(super) fn millis(
        &self,
        name: &'static str,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, range)
            .map(|ms| Duration::from_millis(ms as u64))
    }

    pub(super) fn number(
        &self,
        name: &'static str,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Result<usize, ConfigError> {
        let Some(raw) = self.text(name) else {
            return Ok(default);
        };
        raw.parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| error(name, format!("expected a number in {range:?}, got {raw:?}")))
    }

    /// A count that fits a `u32` (every range handed in does).
    pub(super) fn count(
        &self,
        name: &'static str,
        default: u32,
        range: RangeInclusive<u32>,
    ) -> Result<u32, ConfigError> {
        let (start, end) = (*range.start() as usize, *range.end() as usize);
        self.number(name, default as usize, start..=end)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// `true`/`1` or `false`/`0`.
    pub(super) fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.text(name).as_deref() {
            None => Ok(default),
            Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(other) => Err(error(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }

    pub(super) fn socket(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<SocketAddr, ConfigError> {
        let raw = self.text_or(name, default);
        raw.parse()
            .map_err(|_| error(name, format!("expected host:port, got {raw:?}")))
    }

    /// A secret of at least `min` bytes.
    pub(super) fn secret(
        &self,
        name: &'static str,
        min: usize,
    ) -> Result<Option<SecretString>, ConfigError> {
        self.text(name)
            .map(|value| long_enough(name, &value, min))
            .transpose()
    }

    /// A comma-separated list of secrets, each of at least `min` bytes.
    pub(super) fn secrets(
        &self,
        name: &'static str,
        min: usize,
    ) -> Result<Vec<SecretString>, ConfigError> {
        self.list(name)
            .iter()
            .map(|value| long_enough(name, value, min))
            .collect()
    }

    /// The non-empty, trimmed entries of a comma-separated list.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A URL that must start with one of `schemes` (each given with its `://`, or `sqlite:`).
    pub(super) fn url(
        &self,
        name: &'static str,
        schemes: &[&str],
        expected: &str,
    ) -> Result<Option<String>, ConfigError> {
        match self.text(name) {
            Some(url) if !schemes.iter().any(|scheme| url.starts_with(scheme)) => {
                Err(error(name, expected))
            }
            url => Ok(url),
        }
    }
}

fn long_enough(name: &'static str, value: &str, min: usize) -> Result<SecretString, ConfigError> {
    if value.len() < min {
        return Err(error(name, format!("must be at least {min} bytes")));
    }
    Ok(SecretString::from(value.to_owned()))
}
