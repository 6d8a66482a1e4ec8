//! Tokens: the JWT codec and the Redis token store (the in-memory one is in
//! `gatehouse-memory`).

mod jwt;
mod redis_store;

pub use jwt::{JwtCodec, JwtSettings};
pub use redis_store::RedisTokenStore;
