//! The sample catalog: categories and the products filed under them.
//!
//! Money is a [`Price`]: whole cents in an integer, parsed from and written as a decimal
//! string. It never passes through a float.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::id::uuid_id;
use crate::{DomainError, UserId};

uuid_id!(
    /// The identity of a category.
    CategoryId
);

uuid_id!(
    /// The identity of a product.
    ProductId
);

/// A price: a non-negative amount with exactly two decimal places, at most
/// 999,999,999,999.99 (what a `DECIMAL(14, 2)` column holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Price(i64);

impl Price {
    /// The largest price, in cents.
    pub const MAX_CENTS: i64 = 99_999_999_999_999;

    /// Parses a plain decimal (`"19.99"`, `"0.1"`, `"7"`) for `field`. Signs, exponents,
    /// more than two decimal places, and anything but ASCII digits and one point are refused:
    /// `"1e3"` and `"-1"` are not prices.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        let error = |message: &str| DomainError::new(field, message);
        if raw.starts_with('-') {
            return Err(error("must not be negative"));
        }
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
            return Err(error("enter a decimal number such as 19.99"));
        }
        if raw.ends_with('.') {
            return Err(error("enter a decimal number such as 19.99"));
        }
        if fraction.len() > 2 {
            return Err(error("at most 2 decimal places"));
        }
        let too_large = || error("must be at most 999999999999.99");
        let whole = whole.trim_start_matches('0');
        // Twelve digits of whole units is the most a price has; longer would overflow below.
        if whole.len() > 12 {
            return Err(too_large());
        }
        let units: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| too_large())?;
        Self::from_cents(units * 100 + cents).ok_or_else(too_large)
    }

    /// A price of `cents` hundredths, if in range.
    pub fn from_cents(cents: i64) -> Option<Self> {
        (0..=Self::MAX_CENTS)
            .contains(&cents)
            .then_some(Self(cents))
    }

    /// The amount in hundredths.
    pub fn cents(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for Price {
    /// Always two decimal places: `"999.99"`, `"0.10"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Checks a trimmed, non-empty text of at most `max` characters for `field`.
fn bounded_text(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::new(field, "may not be blank"));
    }
    if text.chars().count() > max {
        return Err(DomainError::new(field, format!("at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::new(
            field,
            "may not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// A category's name: 1 to 100 characters, unique ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategoryName(String);

impl CategoryName {
    /// Longest name, in characters.
    pub const MAX_LEN: usize = 100;

    /// Parses a name (trimmed).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        bounded_text("name", raw, Self::MAX_LEN).map(Self)
    }

    /// The name as stored and shown (already trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's name: 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductName(String);

impl ProductName {
    /// Longest name, in characters.
    pub const MAX_LEN: usize = 200;

    /// Parses a name (trimmed).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        bounded_text("name", raw, Self::MAX_LEN).map(Self)
    }

    /// The name as stored and shown (already trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text describing a category or product: at most 5,000 characters, may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Description(String);

impl Description {
    /// Longest description, in characters.
    pub const MAX_LEN: usize = 5000;

    /// Parses a description (trimmed; empty is allowed).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_LEN {
            return Err(DomainError::new(
                "description",
                format!("at most {} characters", Self::MAX_LEN),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The description as stored and shown (already trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group of products. Written by admins only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// The category's id: stable across renames.
    pub id: CategoryId,
    /// Unique name (ignoring case).
    pub name: CategoryName,
    /// What belongs here.
    pub description: Description,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// Something for sale, filed under one category and owned by the user who created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The product's id: stable across every change.
    pub id: ProductId,
    /// Display name.
    pub name: ProductName,
    /// Free text shown with the product.
    pub description: Description,
    /// Exact price.
    pub price: Price,
    /// Where it is filed.
    pub category: CategoryId,
    /// Its owner: the user who created it.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// The orders a product list can be read in. Each is stable: ties are broken by id, in the
/// same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProductOrder {
    /// `-created_at`: newest first (the default).
    #[default]
    NewestFirst,
    /// `created_at`: oldest first.
    OldestFirst,
    /// `price`: cheapest first.
    PriceAscending,
    /// `-price`: dearest first.
    PriceDescending,
    /// `name`: A to Z.
    NameAscending,
    /// `-name`: Z to A.
    NameDescending,
}

impl ProductOrder {
    /// Every order, with its query-string name.
    pub const ALL: [(ProductOrder, &'static str); 6] = [
        (ProductOrder::NewestFirst, "-created_at"),
        (ProductOrder::OldestFirst, "created_at"),
        (ProductOrder::PriceAscending, "price"),
        (ProductOrder::PriceDescending, "-price"),
        (ProductOrder::NameAscending, "name"),
        (ProductOrder::NameDescending, "-name"),
    ];

    /// The query-string name (`"-price"`, ...).
    pub fn as_str(&self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(order, _)| order == self)
            .map_or("-created_at", |(_, name)| name)
    }

    /// Whether the list runs from small to large values.
    pub fn ascending(&self) -> bool {
        matches!(
            self,
            Self::OldestFirst | Self::PriceAscending | Self::NameAscending
        )
    }
}

impl FromStr for ProductOrder {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == raw.trim())
            .map(|(order, _)| *order)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, name)| *name).collect();
                DomainError::new("ordering", format!("must be one of {}", names.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(raw: &str) -> Result<String, Vec<String>> {
        Price::parse("price", raw)
            .map(|p| p.to_string())
            .map_err(|e| e.messages)
    }

    #[test]
    fn prices_are_plain_decimals_with_two_places_at_most() {
        assert_eq!(price("0.00"), Ok("0.00".into()));
        assert_eq!(price("0.1"), Ok("0.10".into()));
        assert_eq!(price("7"), Ok("7.00".into()));
        assert_eq!(price(" 19.99 "), Ok("19.99".into()));
        assert_eq!(price("007.50"), Ok("7.50".into()));
        assert_eq!(price("999999999999.99"), Ok("999999999999.99".into()));
        assert_eq!(Price::parse("price", "12.34").unwrap().cents(), 1234);
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for (raw, reason) in [
            ("-1", "must not be negative"),
            ("-0.01", "must not be negative"),
            ("1e3", "enter a decimal number such as 19.99"),
            ("abc", "enter a decimal number such as 19.99"),
            ("", "enter a decimal number such as 19.99"),
            (".5", "enter a decimal number such as 19.99"),
            ("5.", "enter a decimal number such as 19.99"),
            ("1.2.3", "enter a decimal number such as 19.99"),
            ("+1", "enter a decimal number such as 19.99"),
            ("١٢", "enter a decimal number such as 19.99"),
            ("NaN", "enter a decimal number such as 19.99"),
            ("0.001", "at most 2 decimal places"),
            ("1000000000000", "must be at most 999999999999.99"),
            ("1000000000000.00", "must be at most 999999999999.99"),
            (
                "99999999999999999999999999",
                "must be at most 999999999999.99",
            ),
        ] {
            assert_eq!(price(raw), Err(vec![reason.to_owned()]), "{raw:?}");
        }
    }

    #[test]
    fn cents_round_trip_within_range_only() {
        assert_eq!(
            Price::from_cents(1).map(|p| p.to_string()),
            Some("0.01".into())
        );
        assert_eq!(Price::from_cents(-1), None);
        assert_eq!(Price::from_cents(Price::MAX_CENTS + 1), None);
    }

    #[test]
    fn names_are_trimmed_bounded_and_not_blank() {
        assert_eq!(CategoryName::parse("  Books ").unwrap().as_str(), "Books");
        assert!(CategoryName::parse("   ").is_err());
        assert!(CategoryName::parse(&"x".repeat(101)).is_err());
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert!(ProductName::parse(&"é".repeat(201)).is_err());
        assert!(ProductName::parse("tab\there").is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"d".repeat(5001)).is_err());
    }

    #[test]
    fn orderings_parse_from_their_names_only() {
        for (order, name) in ProductOrder::ALL {
            assert_eq!(name.parse::<ProductOrder>().unwrap(), order);
            assert_eq!(order.as_str(), name);
        }
        assert!("price desc".parse::<ProductOrder>().is_err());
        assert!("PRICE".parse::<ProductOrder>().is_err());
        assert!("".parse::<ProductOrder>().is_err());
        assert_eq!(ProductOrder::default(), ProductOrder::NewestFirst);
    }
}
