//! Case-insensitive substring search with `LIKE`, spelled the same on PostgreSQL and SQLite.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition};

/// Rows where any of `columns` contains `text`, ignoring case, with `%`, `_` and `\` in
/// `text` taken literally. Both sides are lower-cased (SQLite's `lower()` folds ASCII letters
/// only), and the escape character is named: SQLite has none by default.
pub(crate) fn any_contains<C: ColumnTrait>(
    columns: impl IntoIterator<Item = C>,
    text: &str,
) -> Condition {
    let pattern = contains_pattern(text);
    columns
        .into_iter()
        .fold(Condition::any(), |condition, column| {
            condition.add(
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(LikeExpr::new(pattern.clone()).escape('\\')),
            )
        })
}

/// `%text%` for LIKE, with the pattern characters in `text` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_text_is_matched_literally_and_ignoring_case() {
        assert_eq!(contains_pattern("Dune"), "%dune%");
        assert_eq!(contains_pattern("100%_off\\"), "%100\\%\\_off\\\\%");
        assert_eq!(
            contains_pattern(""),
            "%%",
            "nothing to find matches everything"
        );
    }
}
