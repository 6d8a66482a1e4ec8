//! The Redis session store, shared by every instance (the in-memory one is in
//! `gatehouse-memory`).

mod redis_store;

pub use redis_store::RedisSessionStore;
