//! Keyset pagination: newest first, by `(created_at, id)`, with opaque signed cursors.
//!
//! A page is a range of the `(created_at, id)` order, so fetching one costs an index seek
//! whatever its depth, and rows inserted while a client walks the list never shift it (they are
//! newer than every cursor the walk holds). Cursors are MACed with a server key, so a client can
//! neither forge a position nor carry a cursor from one list to another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::DomainError;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::shared::error::AppError;

/// A position in a `(created_at, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keyset {
    /// Creation time of the row.
    pub created_at: OffsetDateTime,
    /// Its id, breaking ties.
    pub id: Uuid,
}

/// A position a cursor can carry: written into the signed payload and read back from it.
pub trait CursorKey: Sized {
    /// Appends the position's bytes.
    fn write(&self, out: &mut Vec<u8>);
    /// Reads a position from exactly these bytes; `None` if they are not one.
    fn read(bytes: &[u8]) -> Option<Self>;
}

impl CursorKey for Keyset {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.created_at.unix_timestamp_nanos().to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        let (nanos, id) = bytes.split_first_chunk::<16>()?;
        let created_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from_be_bytes(*nanos)).ok()?;
        Some(Self {
            created_at,
            id: Uuid::from_slice(id).ok()?,
        })
    }
}

/// Which way a cursor walks from its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Rows strictly older than the position (the next page).
    Older,
    /// Rows strictly newer than the position (the previous page).
    Newer,
}

/// What a repository is asked for: up to `limit + 1` rows from a position, in walk order
/// (newest first for [`Direction::Older`] and for the first page, oldest first for
/// [`Direction::Newer`]). The extra row tells whether there is more. Lists in another order
/// read "older" as "further down the list" and "newer" as "further up".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest<K = Keyset> {
    /// The position and direction; `None` for the first page.
    pub from: Option<(Direction, K)>,
    /// Page size.
    pub limit: u64,
}

impl<K> PageRequest<K> {
    /// How many rows to fetch: one more than a page.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }
}

/// One page, newest first, with the positions of its neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Cursor to the older rows, if any.
    pub next: Option<String>,
    /// Cursor to the newer rows, if any.
    pub previous: Option<String>,
}

impl<T> Page<T> {
    /// Turns what the repository returned for `request` into a page. `keyset` reads a row's
    /// position; `cursors` signs positions for this list.
    pub fn assemble<K: CursorKey>(
        mut rows: Vec<T>,
        request: &PageRequest<K>,
        cursors: &ScopedCursors<'_>,
        keyset: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() as u64 > request.limit;
        rows.truncate(usize::try_from(request.limit).unwrap_or(usize::MAX));
        let direction = request.from.as_ref().map(|(direction, _)| *direction);
        if direction == Some(Direction::Newer) {
            rows.reverse();
        }
        let (older_exists, newer_exists) = match direction {
            None => (more, false),
            Some(Direction::Older) => (more, true),
            Some(Direction::Newer) => (true, more),
        };
        let next = rows
            .last()
            .filter(|_| older_exists)
            .map(|row| cursors.encode(Direction::Older, keyset(row)));
        let previous = rows
            .first()
            .filter(|_| newer_exists)
            .map(|row| cursors.encode(Direction::Newer, keyset(row)));
        Self {
            items: rows,
            next,
            previous,
        }
    }

    /// The same page with each row turned into something else (the cursors stay).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            previous: self.previous,
        }
    }
}

/// Page size rules shared by every list.
pub mod limits {
    /// Page size when the client names none.
    pub const DEFAULT: u64 = 10;
    /// Largest page; more is refused (400), not clamped, so a client never silently gets less
    /// than it asked for.
    pub const MAX: u64 = 100;
}

/// Signs and checks cursors. One key for the deployment (derived from the token secret), so
/// every instance accepts every other's cursors.
#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

const VERSION: u8 = 1;
const TAG_BYTES: usize = 16;

impl CursorCodec {
    /// A codec keyed with `key` (at least 32 bytes of secret).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    /// The codec for one list (`users`, `audit`, ...): its cursors are refused by the others.
    pub fn scoped<'a>(&'a self, scope: &'a str) -> ScopedCursors<'a> {
        ScopedCursors { codec: self, scope }
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }
}

/// A [`CursorCodec`] bound to one list.
pub struct ScopedCursors<'a> {
    codec: &'a CursorCodec,
    scope: &'a str,
}

impl ScopedCursors<'_> {
    /// An opaque cursor for `position` walking `direction`.
    pub fn encode<K: CursorKey>(&self, direction: Direction, position: K) -> String {
        let mut payload = Vec::with_capacity(64);
        payload.push(VERSION);
        payload.push(match direction {
            Direction::Older => 0,
            Direction::Newer => 1,
        });
        position.write(&mut payload);
        let tag = self.codec.mac(self.scope, &payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// Reads a cursor this list issued. Anything else (garbage, a tampered or foreign
    /// cursor) is a validation error on `cursor`.
    pub fn decode<K: CursorKey>(&self, cursor: &str) -> Result<(Direction, K), AppError> {
        let invalid = || AppError::from(DomainError::new("cursor", "invalid cursor"));
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| invalid())?;
        if bytes.len() < 2 + TAG_BYTES || bytes[0] != VERSION {
            return Err(invalid());
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
        self.codec
            .mac(self.scope, payload)
            .verify_truncated_left(tag)
            .map_err(|_| invalid())?;
        let direction = match payload[1] {
            0 => Direction::Older,
            1 => Direction::Newer,
            _ => return Err(invalid()),
        };
        let position = K::read(&payload[2..]).ok_or_else(invalid)?;
        Ok((direction, position))
    }

    /// Builds the repository request for a client's `limit` and `cursor`.
    pub fn request<K: CursorKey>(
        &self,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<PageRequest<K>, AppError> {
        let limit = limit.unwrap_or(limits::DEFAULT);
        if !(1..=limits::MAX).contains(&limit) {
            let message = format!("must be between 1 and {}", limits::MAX);
            return Err(DomainError::new("limit", message).into());
        }
        let from = cursor
            .filter(|c| !c.trim().is_empty())
            .map(|c| self.decode(c))
            .transpose()?;
        Ok(PageRequest { from, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn codec() -> CursorCodec {
        CursorCodec::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    fn keyset(n: u8) -> Keyset {
        Keyset {
            created_at: datetime!(2026-11-22 10:00:00.123456 UTC)
                + time::Duration::seconds(n.into()),
            id: Uuid::from_bytes([n; 16]),
        }
    }

    #[test]
    fn cursors_round_trip() {
        let codec = codec();
        let users = codec.scoped("users");
        for direction in [Direction::Older, Direction::Newer] {
            let cursor = users.encode(direction, keyset(7));
            assert_eq!(users.decode(&cursor).unwrap(), (direction, keyset(7)));
        }
    }

    #[test]
    fn tampered_foreign_and_garbage_cursors_are_refused() {
        let codec = codec();
        let users = codec.scoped("users");
        let cursor = users.encode(Direction::Older, keyset(1));
        let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        bytes[5] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        for bad in [
            tampered.as_str(),
            "",
            "abc",
            "!!!",
            &cursor[..cursor.len() - 2],
        ] {
            assert!(
                matches!(users.decode::<Keyset>(bad), Err(AppError::Validation(_))),
                "{bad:?}"
            );
        }
        assert!(codec.scoped("audit").decode::<Keyset>(&cursor).is_err());
        let other_key = CursorCodec::new(b"another key, another deployment!".to_vec());
        assert!(other_key.scoped("users").decode::<Keyset>(&cursor).is_err());
    }

    #[test]
    fn limits_are_checked() {
        let codec = codec();
        let users = codec.scoped("users");
        assert_eq!(
            users.request::<Keyset>(None, None).unwrap().limit,
            limits::DEFAULT
        );
        assert_eq!(users.request::<Keyset>(Some(100), None).unwrap().limit, 100);
        assert!(users.request::<Keyset>(Some(0), None).is_err());
        assert!(users.request::<Keyset>(Some(101), None).is_err());
    }

    #[test]
    fn pages_know_their_neighbours() {
        let codec = codec();
        let users = codec.scoped("users");
        let first = PageRequest {
            from: None,
            limit: 2,
        };
        // The repository returned limit + 1 rows: there is a next page, no previous one.
        let page = Page::assemble(vec![keyset(9), keyset(8), keyset(7)], &first, &users, |k| {
            *k
        });
        assert_eq!(page.items, vec![keyset(9), keyset(8)]);
        assert!(page.previous.is_none());
        let next = users.decode(page.next.as_deref().unwrap()).unwrap();
        assert_eq!(next, (Direction::Older, keyset(8)));

        // Walking back from the third row: rows come oldest first and are flipped.
        let back = PageRequest {
            from: Some((Direction::Newer, keyset(7))),
            limit: 2,
        };
        let page = Page::assemble(vec![keyset(8), keyset(9)], &back, &users, |k| *k);
        assert_eq!(page.items, vec![keyset(9), keyset(8)]);
        assert!(
            page.previous.is_none(),
            "nothing is newer than the newest row"
        );
        assert!(page.next.is_some());

        let last = PageRequest {
            from: Some((Direction::Older, keyset(8))),
            limit: 2,
        };
        let page = Page::assemble(vec![keyset(7)], &last, &users, |k| *k);
        assert!(page.next.is_none());
        assert_eq!(
            users.decode(page.previous.as_deref().unwrap()).unwrap(),
            (Direction::Newer, keyset(7))
        );
    }
}
