//! Keyset pagination over `(key, id)` for any table: `(created_at, id)` newest first for most
//! lists, other keys and directions for the product list. `id` is any unique column (the
//! pre-registration list breaks ties by email).

use gatehouse_application::pagination::{Direction, PageRequest};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};

/// Narrows `select` to the rows of `request` in walk order: newest first from the top or
/// going older, oldest first going newer. See [`page_by`].
pub(crate) fn page<E: EntityTrait>(
    select: Select<E>,
    created_at: impl ColumnTrait,
    id: impl ColumnTrait,
    request: &PageRequest,
) -> Select<E> {
    let from = request
        .from
        .map(|(direction, at)| (direction, Value::from(at.created_at), Value::from(at.id)));
    page_by(select, created_at, id, false, from, request.fetch())
}

/// Narrows `select` to `fetch` rows of a list ordered by `(key, id)`, ascending or not, in
/// walk order: down the list from the top, or from a position ([`Direction::Older`] is "down",
/// [`Direction::Newer`] is "up", read in reverse).
///
/// "Before (k, i)" is spelled `key <= k AND (key < k OR id < i)`: the first half is a range
/// the `(key, id)` index can seek to on every database, so a page a million rows deep costs
/// what the first does. (The plain `key < k OR (key = k AND id < i)` makes PostgreSQL scan
/// and discard every earlier row; a row-value comparison is not planned onto the index by
/// every SQLite build.)
pub(crate) fn page_by<E: EntityTrait>(
    select: Select<E>,
    key: impl ColumnTrait,
    id: impl ColumnTrait,
    ascending: bool,
    from: Option<(Direction, Value, Value)>,
    fetch: u64,
) -> Select<E> {
    let (select, order) = match from {
        None => (select, if ascending { Order::Asc } else { Order::Desc }),
        Some((direction, at, at_id)) => {
            let down = direction == Direction::Older;
            // Down a descending list, or up an ascending one, is towards smaller values.
            if ascending != down {
                let smaller = Condition::all()
                    .add(key.lte(at.clone()))
                    .add(Condition::any().add(key.lt(at)).add(id.lt(at_id)));
                (select.filter(smaller), Order::Desc)
            } else {
                let larger = Condition::all()
                    .add(key.gte(at.clone()))
                    .add(Condition::any().add(key.gt(at)).add(id.gt(at_id)));
                (select.filter(larger), Order::Asc)
            }
        }
    };
    select
        .order_by(key, order.clone())
        .order_by(id, order)
        .limit(fetch)
}
