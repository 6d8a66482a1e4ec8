//! Lenient readers for JSON shapes that JSON Schema cannot tell apart: `5.0` is an integer
//! to a schema, so it is one here too; and a nested object must be an object, not the array
//! serde would otherwise accept for a struct.

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Error, MapAccess, Visitor};
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
/// The object's fields go straight to `T`'s own visitor, so a repeated field is refused as at
/// the top level.
pub fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    struct ObjectOnly<T>(PhantomData<T>);

    impl<'de, T: DeserializeOwned> Visitor<'de> for ObjectOnly<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object or null")
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }

    deserializer.deserialize_option(ObjectOnly(PhantomData))
}
