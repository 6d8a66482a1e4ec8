//! Keyset pagination over rows in memory, with exactly the semantics of the SQL adapters:
//! a list ordered by `(key, id)`, walked down from the top or from a position, or up from a
//! position (returned in walk order, i.e. reversed).

use gatehouse_application::pagination::{Direction, PageRequest};
use time::OffsetDateTime;
use uuid::Uuid;

/// Up to `fetch` of `rows` in walk order of a list ordered by `(key, id)`, ascending or not.
pub(crate) fn page_by<T, K: Ord + Clone>(
    rows: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> (K, Uuid),
    ascending: bool,
    from: Option<(Direction, (K, Uuid))>,
    fetch: u64,
) -> Vec<T> {
    let mut keyed: Vec<((K, Uuid), T)> = rows.into_iter().map(|row| (key(&row), row)).collect();
    let walk_ascending = match &from {
        None => ascending,
        Some((direction, at)) => {
            let down = *direction == Direction::Older;
            // Down a descending list, or up an ascending one, is towards smaller values.
            let smaller = ascending != down;
            keyed.retain(|(k, _)| if smaller { k < at } else { k > at });
            !smaller
        }
    };
    keyed.sort_by(|(a, _), (b, _)| if walk_ascending { a.cmp(b) } else { b.cmp(a) });
    keyed
        .into_iter()
        .take(usize::try_from(fetch).unwrap_or(usize::MAX))
        .map(|(_, row)| row)
        .collect()
}

/// Newest first by `(created_at, id)`: see [`PageRequest`].
pub(crate) fn page<T>(
    rows: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> (OffsetDateTime, Uuid),
    request: &PageRequest,
) -> Vec<T> {
    let from = request
        .from
        .map(|(direction, at)| (direction, (at.created_at, at.id)));
    page_by(rows, key, false, from, request.fetch())
}
