//! Abuse limits: how often a client address, an account or a user may try something
//! (logins, registrations, account emails, task creations), and the rate limiter port that
//! counts. Depends on `shared` only.

pub mod ports;
pub mod throttle;

pub use throttle::{AddressAction, EmailLimit, Reservation, Throttle, ThrottleSettings};
