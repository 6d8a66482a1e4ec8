//! Background tasks: what a client may ask to run, and the lifecycle each run goes through.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::id::uuid_id;
use crate::{DomainError, UserId};

uuid_id!(
    /// A task's id (UUIDv7: sorts by creation time).
    TaskId
);

macro_rules! task_statuses {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Where a task is in its life. `Success`, `Failure` and `Revoked` are final.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskStatus { $(#[doc = $name] $variant),+ }

        impl TaskStatus {
            /// Every state, in the order of a task's life.
            pub const ALL: [Self; [$(Self::$variant),+].len()] = [$(Self::$variant),+];

            /// The wire name, as the API shows it and the task table stores it.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// Parses a wire name, exactly (upper case); `None` for anything else.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

task_statuses! {
    Pending => "PENDING",
    Started => "STARTED",
    Success => "SUCCESS",
    Failure => "FAILURE",
    Retry => "RETRY",
    Revoked => "REVOKED",
}

impl TaskStatus {
    /// No further change can happen.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Revoked)
    }
}

macro_rules! task_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal),+ $(,)?) => {
        /// What a task does. Its wire name (see [`TaskKind::as_str`]) is what clients see as a
        /// task's `type` and what the task table stores in `kind`; those names are a contract
        /// with clients and with rows already stored, so they never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskKind {
            $($(#[$doc])* $variant,)+
            /// A stored kind this release does not know (a row a newer release wrote, read
            /// after a rollback). Never created, never parsed from a client; the runner fails
            /// it for good, and it stays readable and revocable. Its wire name is `unknown`.
            Unrecognised,
        }

        impl TaskKind {
            /// Every kind a task can be created with, in declaration order.
            pub const ALL: [Self; [$(Self::$variant),+].len()] = [$(Self::$variant),+];

            /// The wire name (`add`, `long_running`, `process_data`, `send_email`).
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ Self::Unrecognised => "unknown" }
            }

            /// Parses a wire name, exactly (no case folding); `None` for any other name
            /// (`unknown` included: it names no task anyone can create).
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

task_kinds! {
    /// Adds two numbers (a client's task).
    Add => "add",
    /// Sleeps in steps, stopping early when revoked (a client's task).
    LongRunning => "long_running",
    /// Summarises a JSON document (a client's task; see [`summarise`]).
    ProcessData => "process_data",
    /// Sends an account email (the service's own job: no owner, no quota).
    SendEmail => "send_email",
}

impl TaskKind {
    /// Whether clients may ask for it; the others are the service's own jobs.
    pub fn is_client_task(self) -> bool {
        !matches!(self, Self::SendEmail | Self::Unrecognised)
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TaskKind {
    type Err = DomainError;

    /// [`TaskKind::parse`], with the error a client sees for an unknown `type`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name).ok_or_else(|| DomainError::new("type", "unknown task type"))
    }
}

/// A task a client asks for, with its arguments checked: a value of this type can be
/// queued as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum NewTask {
    /// Adds two numbers.
    Add {
        /// First term.
        x: f64,
        /// Second term.
        y: f64,
    },
    /// Sleeps for `seconds`, in one-second steps, stopping early when revoked.
    LongRunning {
        /// 1..=3600.
        seconds: u32,
    },
    /// Summarises a JSON value (see [`summarise`]).
    ProcessData {
        /// At most [`NewTask::MAX_DATA_BYTES`] serialised.
        data: Value,
    },
}

impl NewTask {
    /// Longest `long_running` task, in seconds.
    pub const MAX_SECONDS: u32 = 3600;
    /// Largest `process_data` payload, serialised.
    pub const MAX_DATA_BYTES: usize = 1024 * 1024;

    /// An `add` task; both terms must be finite.
    pub fn add(x: f64, y: f64) -> Result<Self, DomainError> {
        for (field, value) in [("x", x), ("y", y)] {
            if !value.is_finite() {
                return Err(DomainError::new(field, "must be a finite number"));
            }
        }
        Ok(Self::Add { x, y })
    }

    /// A `long_running` task of 1..=3600 seconds.
    pub fn long_running(seconds: u64) -> Result<Self, DomainError> {
        match u32::try_from(seconds) {
            Ok(s @ 1..=Self::MAX_SECONDS) => Ok(Self::LongRunning { seconds: s }),
            _ => Err(DomainError::new(
                "seconds",
                format!("must be between 1 and {}", Self::MAX_SECONDS),
            )),
        }
    }

    /// A `process_data` task over at most 1 MiB of JSON.
    pub fn process_data(data: Value) -> Result<Self, DomainError> {
        if data.to_string().len() > Self::MAX_DATA_BYTES {
            return Err(DomainError::new("data", "must be at most 1 MiB of JSON"));
        }
        Ok(Self::ProcessData { data })
    }

    /// Which kind of task it is.
    pub fn kind(&self) -> TaskKind {
        match self {
            Self::Add { .. } => TaskKind::Add,
            Self::LongRunning { .. } => TaskKind::LongRunning,
            Self::ProcessData { .. } => TaskKind::ProcessData,
        }
    }
}

/// The result of a `process_data` task: how many values of each JSON type the document holds
/// at every depth, how deep it nests, and its top-level keys sorted (`null` unless it is an
/// object).
pub fn summarise(data: &Value) -> Value {
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let depth = count(data, &mut counts, 1);
    let keys = match data {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::from(keys.into_iter().cloned().collect::<Vec<_>>())
        }
        _ => Value::Null,
    };
    serde_json::json!({ "counts": counts, "depth": depth, "keys": keys })
}

fn count(value: &Value, counts: &mut BTreeMap<&'static str, u64>, depth: u64) -> u64 {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    *counts.entry(name).or_default() += 1;
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(map) => Box::new(map.values()),
        _ => return depth,
    };
    children
        .map(|child| count(child, counts, depth + 1))
        .fold(depth, u64::max)
}

/// One task: what was asked, by whom, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task's id: what clients poll and revoke it by, and what the queue carries.
    pub id: TaskId,
    /// Who asked for it; `None` for the service's own jobs (emails).
    pub owner: Option<UserId>,
    /// What it does.
    pub kind: TaskKind,
    /// Its arguments, as JSON.
    pub arguments: Value,
    /// Where it is.
    pub status: TaskStatus,
    /// The outcome of a `SUCCESS`.
    pub result: Option<Value>,
    /// The last error (set on `RETRY` and `FAILURE`).
    pub error: Option<String>,
    /// Runs started so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When its first run started.
    pub started_at: Option<OffsetDateTime>,
    /// When it reached a final status.
    pub finished_at: Option<OffsetDateTime>,
}

impl Task {
    /// A new `PENDING` task.
    pub fn queued(
        owner: Option<UserId>,
        kind: TaskKind,
        arguments: Value,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            id: TaskId::generate(),
            owner,
            kind,
            arguments,
            status: TaskStatus::Pending,
            result: None,
            error: None,
            attempts: 0,
            created_at: at,
            started_at: None,
            finished_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_round_trip_and_know_which_are_final() {
        for status in [
            TaskStatus::Pending,
            TaskStatus::Started,
            TaskStatus::Success,
            TaskStatus::Failure,
            TaskStatus::Retry,
            TaskStatus::Revoked,
        ] {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("pending"), None);
        assert!(TaskStatus::Revoked.is_final() && !TaskStatus::Retry.is_final());
    }

    #[test]
    fn arguments_are_checked() {
        assert!(NewTask::add(1.5, -2.0).is_ok());
        assert_eq!(NewTask::add(f64::NAN, 1.0).unwrap_err().field, "x");
        assert!(NewTask::long_running(1).is_ok() && NewTask::long_running(3600).is_ok());
        for bad in [0, 3601, u64::MAX] {
            assert_eq!(NewTask::long_running(bad).unwrap_err().field, "seconds");
        }
        let big = Value::String("x".repeat(NewTask::MAX_DATA_BYTES));
        assert_eq!(NewTask::process_data(big).unwrap_err().field, "data");
    }

    #[test]
    fn kinds_keep_their_wire_names() {
        let names: Vec<&str> = TaskKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(names, ["add", "long_running", "process_data", "send_email"]);
        for kind in TaskKind::ALL {
            assert_eq!(TaskKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string().parse::<TaskKind>(), Ok(kind));
        }
        assert_eq!(TaskKind::parse("Add"), None);
        assert_eq!(TaskKind::parse(TaskKind::Unrecognised.as_str()), None);
        assert!(!TaskKind::ALL.contains(&TaskKind::Unrecognised));
        assert_eq!("reboot".parse::<TaskKind>().unwrap_err().field, "type");
        assert!(TaskKind::Add.is_client_task() && !TaskKind::SendEmail.is_client_task());
        assert_eq!(NewTask::add(1.0, 2.0).unwrap().kind(), TaskKind::Add);
    }

    #[test]
    fn data_summaries_count_every_value_and_sort_keys() {
        let summary = summarise(&json!({"b": [1, "two", null], "a": {"c": true}}));
        assert_eq!(
            summary,
            json!({
                "counts": {"array": 1, "boolean": 1, "null": 1, "number": 1, "object": 2, "string": 1},
                "depth": 3,
                "keys": ["a", "b"],
            })
        );
        assert_eq!(summarise(&json!(7))["keys"], Value::Null);
    }
}
