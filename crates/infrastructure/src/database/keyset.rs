//! Keyset pagination over `(created_at, id)` for any table that has both.

use gatehouse_application::pagination::{Direction, PageRequest};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};

/// Narrows `select` to the rows of `request` in walk order: newest first from the top or
/// going older, oldest first going newer. "Older than (t, i)" is spelled
/// `created <= t AND (created < t OR id < i)`: the first half is a range the
/// `(created_at, id)` index can seek to on every database, so a page a million rows deep
/// costs what the first does. (The plain `created < t OR (created = t AND id < i)` makes
/// PostgreSQL scan and discard every newer row; a row-value comparison is not planned onto the
/// index by every SQLite build.)
pub(crate) fn page<E: EntityTrait>(
    select: Select<E>,
    created_at: impl ColumnTrait,
    id: impl ColumnTrait,
    request: &PageRequest,
) -> Select<E> {
    let (select, order) = match request.from {
        None => (select, Order::Desc),
        Some((direction, at)) => {
            let (condition, order) = match direction {
                Direction::Older => (
                    Condition::all().add(created_at.lte(at.created_at)).add(
                        Condition::any()
                            .add(created_at.lt(at.created_at))
                            .add(id.lt(at.id)),
                    ),
                    Order::Desc,
                ),
                Direction::Newer => (
                    Condition::all().add(created_at.gte(at.created_at)).add(
                        Condition::any()
                            .add(created_at.gt(at.created_at))
                            .add(id.gt(at.id)),
                    ),
                    Order::Asc,
                ),
            };
            (select.filter(condition), order)
        }
    };
    select
        .order_by(created_at, order.clone())
        .order_by(id, order)
        .limit(request.fetch())
}
