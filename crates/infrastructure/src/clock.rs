use gatehouse_application::ports::Clock;
use time::OffsetDateTime;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// `at` in whole milliseconds since the Unix epoch: the precision tokens and the Redis
/// stores keep instants in.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}
