//! Tokens: the JWT codec and the token stores.

mod jwt;
mod memory_store;
mod redis_store;

pub use jwt::{JwtCodec, JwtSettings};
pub use memory_store::{InMemoryStoreProbe, InMemoryTokenStore};
pub use redis_store::RedisTokenStore;
