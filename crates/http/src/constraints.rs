//! Schemas of the rules the server enforces, built from the constants its checks use, so the
//! document and the checks cannot drift apart. (utoipa's `max_length = ...` attributes accept
//! only literals; these are wired in with `schema_with`.)

use gatehouse_application::CreditService;
use gatehouse_domain::{
    AuditEventType, CategoryName, Description, Email, NewTask, PasswordPolicy, Permission, Price,
    ProductName, ProductOrder, Role, User, Username,
};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, Schema};

/// `schema` or `null`: an optional body field, where `null` means the same as leaving it out.
fn or_null(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new()
            .item(schema)
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    ))
}

/// Declares `optional_<name>()`: the schema of `<name>()`, or `null`.
macro_rules! optional {
    ($($name:ident => $optional:ident),+ $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "`, or `null`.")]
            pub fn $optional() -> RefOr<Schema> {
                or_null($name())
            }
        )+
    };
}

optional!(
    person_name => optional_person_name,
    role => optional_role,
    permissions => optional_permissions,
    uuid => optional_uuid,
    category_name => optional_category_name,
    product_name => optional_product_name,
    description => optional_description,
    price_value => optional_price,
);

/// `schema` with a description: a derived parameter whose schema comes from `schema_with`
/// loses its doc comment, so the description travels in the schema.
pub fn described(mut schema: Object, description: &str) -> Object {
    schema.description = Some(description.to_owned());
    schema
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn with_format(format: KnownFormat) -> ObjectBuilder {
    string().format(Some(SchemaFormat::KnownFormat(format)))
}

/// Text the server trims before it counts characters: `min..=max` characters (`min` is 0
/// or 1) between optional leading and trailing whitespace; with `plain`, no control
/// characters either. A pattern rather than `minLength`/`maxLength`, which would count the
/// whitespace the server ignores.
fn trimmed(min: usize, max: usize, plain: bool) -> String {
    assert!(min <= 1 && max >= 2, "trimmed() covers 0..=max and 1..=max");
    let (edge, inner) = if plain {
        (r"[^\s\x00-\x1f\x7f-\x9f]", r"[^\x00-\x1f\x7f-\x9f]")
    } else {
        (r"\S", r"[\s\S]")
    };
    let text = format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2);
    if min == 0 {
        format!(r"^\s*(?:{text})?\s*$")
    } else {
        format!(r"^\s*{text}\s*$")
    }
}

/// An email address.
pub fn email() -> Object {
    with_format(KnownFormat::Email)
        .max_length(Some(Email::MAX_LEN))
        .build()
}

/// A username: letters, digits and `@ . + - _`.
pub fn username() -> Object {
    string()
        .pattern(Some(format!(
            r"^\s*[\w@.+-]{{{},{}}}\s*$",
            Username::MIN_LEN,
            Username::MAX_LEN
        )))
        .build()
}

/// A new password: the length bounds (the policy's other rules, not common, not all digits,
/// not like the email or username, are in the operation's description and its 400).
pub fn password() -> Object {
    let policy = PasswordPolicy::default();
    string()
        .description(Some(format!(
            "{} characters to {} bytes; not common, not all digits, not like the email or username.",
            policy.min_chars, policy.max_bytes
        )))
        .min_length(Some(policy.min_chars))
        .max_length(Some(policy.max_bytes))
        .build()
}

/// A first or last name.
pub fn person_name() -> Object {
    string()
        .pattern(Some(trimmed(0, User::MAX_NAME_LEN, true)))
        .build()
}

/// A role name.
pub fn role() -> Object {
    string()
        .enum_values(Some([Role::Admin, Role::User].map(|role| role.as_str())))
        .build()
}

/// A list of permission names.
pub fn permissions() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            string()
                .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
                .build(),
        )
        .build()
        .into()
}

/// A token that must hold something besides whitespace.
pub fn token() -> Object {
    string().pattern(Some(r"\S")).build()
}

/// A UUID.
pub fn uuid() -> Object {
    with_format(KnownFormat::Uuid).build()
}

/// A category name.
pub fn category_name() -> Object {
    string()
        .pattern(Some(trimmed(1, CategoryName::MAX_LEN, true)))
        .build()
}

/// A product name.
pub fn product_name() -> Object {
    string()
        .pattern(Some(trimmed(1, ProductName::MAX_LEN, true)))
        .build()
}

/// A category or product description (may be empty).
pub fn description() -> Object {
    string()
        .pattern(Some(trimmed(0, Description::MAX_LEN, false)))
        .build()
}

/// A price: a plain decimal with at most two places, up to the largest price.
pub fn price() -> Object {
    string()
        .pattern(Some(r"^0*[0-9]{1,12}(\.[0-9]{1,2})?$"))
        .examples(["19.99"])
        .build()
}

/// A price in a request body: the decimal string of [`price`], or a JSON number with at most
/// two places (what a DRF `DecimalField` accepts too); the server reads a number as the text
/// it would print.
pub fn price_value() -> RefOr<Schema> {
    let number = ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0))
        .maximum(Some(Price::MAX_CENTS as f64 / 100.0))
        .multiple_of(Some(0.01))
        .build();
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new().item(price()).item(number).build(),
    ))
}

/// A product ordering.
pub fn product_order() -> Object {
    string()
        .enum_values(Some(ProductOrder::ALL.iter().map(|(_, name)| *name)))
        .build()
}

/// An audit event type.
pub fn audit_event_type() -> Object {
    string()
        .enum_values(Some(AuditEventType::ALL.iter().map(|kind| kind.as_str())))
        .build()
}

/// A credit movement: non-zero, at most the largest single movement either way.
pub fn credit_amount() -> RefOr<Schema> {
    let range = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
            .build()
    };
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new()
            .item(range(-CreditService::MAX_AMOUNT, -1))
            .item(range(1, CreditService::MAX_AMOUNT))
            .build(),
    ))
}

/// Why credits moved.
pub fn credit_reason() -> Object {
    string()
        .pattern(Some(trimmed(1, CreditService::MAX_REASON, true)))
        .build()
}

/// How long a `long_running` task sleeps.
pub fn task_seconds() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(NewTask::MAX_SECONDS))
        .build()
}
