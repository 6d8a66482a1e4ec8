//! Session stores: in-memory (embedded default) and Redis (shared by every instance).

mod memory_store;
mod redis_store;

pub use memory_store::InMemorySessionStore;
pub use redis_store::RedisSessionStore;
