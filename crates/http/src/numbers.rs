//! Lenient readers for JSON shapes that JSON Schema cannot tell apart: `5.0` is an integer
//! to a schema, so it is one here too; and a nested object must be an object, not the array
//! serde would otherwise accept for a struct.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};

/// An integer, also when written with a zero fraction (`5.0`); `5.5` stays an error.
pub fn integral<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let out_of_range = || D::Error::custom(format!("{number} is out of range"));
    if let Some(value) = number.as_u64() {
        return T::try_from(value).map_err(|_| out_of_range());
    }
    if let Some(value) = number.as_i64() {
        return T::try_from(value).map_err(|_| out_of_range());
    }
    match number.as_f64() {
        Some(value) if value.fract() == 0.0 && value.abs() < 9.0e15 => {
            T::try_from(value as i64).map_err(|_| out_of_range())
        }
        _ => Err(D::Error::custom(format!(
            "invalid type: {number}, expected an integer"
        ))),
    }
}

/// An optional nested object: `null` or absent is `None`; anything but an object is an error.
pub fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(map) => serde_json::from_value(serde_json::Value::Object(map))
            .map(Some)
            .map_err(D::Error::custom),
    }
}
