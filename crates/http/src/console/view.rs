//! What the pages show, prepared for the templates: the chrome every page shares, the
//! confirmations an action leaves behind, and times written for people.

use time::OffsetDateTime;
use time::macros::format_description;

/// The part of every signed-in page around its content.
pub(crate) struct Chrome {
    /// Who is signed in.
    pub username: String,
    /// Goes into every form.
    pub csrf_token: String,
    /// What the last action did, when the page follows one.
    pub notice: Option<&'static str>,
}

/// The message for a confirmation key (`?done=...` after an action). Only these fixed texts
/// are ever shown, so the query string cannot put words on the page.
pub(crate) fn confirmation(key: &str) -> Option<&'static str> {
    Some(match key {
        "created" => "Created.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "deactivated" => "The user is deactivated; their sessions and tokens are ended.",
        "activated" => "The user is active again.",
        "signed-out" => "Every session and token of the user ended; their devices are forgotten.",
        "mfa-reset" => "Every second factor of the user is removed; they were emailed.",
        "credits" => "Credits adjusted.",
        "retried" => "The job is back in the queue.",
        "revoked" => "The job is revoked.",
        _ => return None,
    })
}

/// `2026-11-28 15:45 UTC`.
pub(crate) fn when(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// [`when`], or a dash for never.
pub(crate) fn when_maybe(at: Option<OffsetDateTime>) -> String {
    at.map_or_else(|| "-".to_owned(), when)
}

/// A query string from its pairs, leaving out empty values (for filter and page links).
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(_, value)| !value.is_empty())
        .collect();
    if kept.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

/// Links to the neighbouring pages of a list at `path`, keeping its filters.
pub(crate) struct Pager {
    /// The newer page, if any.
    pub previous: Option<String>,
    /// The older page, if any.
    pub next: Option<String>,
}

impl Pager {
    /// Links for a page with these cursors, its filters in `filters`.
    pub fn new(
        path: &str,
        filters: &[(&str, &str)],
        previous: Option<&str>,
        next: Option<&str>,
    ) -> Self {
        let link = |cursor: &str| {
            let mut pairs = filters.to_vec();
            pairs.push(("cursor", cursor));
            format!("{path}{}", query(&pairs))
        };
        Self {
            previous: previous.map(link),
            next: next.map(link),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_confirmations_are_shown() {
        assert_eq!(confirmation("saved"), Some("Saved."));
        assert_eq!(confirmation("<script>"), None);
    }

    #[test]
    fn query_strings_encode_and_skip_blanks() {
        assert_eq!(query(&[("search", "a&b"), ("role", "")]), "?search=a%26b");
        assert_eq!(query(&[("role", "")]), "");
        let pager = Pager::new("/admin/users", &[("role", "admin")], None, Some("c1"));
        assert_eq!(
            pager.next.as_deref(),
            Some("/admin/users?role=admin&cursor=c1")
        );
        assert!(pager.previous.is_none());
    }

    #[test]
    fn times_read_as_utc() {
        let at = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert_eq!(when(at), "1970-01-01 00:00:00 UTC");
        assert_eq!(when_maybe(None), "-");
    }
}
