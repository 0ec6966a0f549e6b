//! The words both sides (database and config migrations) and every layer
//! share: versions, phases, the two sides, history states and timestamps
//! as stored. The bottom of the module graph: it imports nothing of
//! lockstep's.

use std::cmp::Ordering;
use std::fmt;

/// A migration version: the digits of its file name, ordered numerically
/// (`0004` and `4` are the same version), displayed as written. Flyway's
/// dotted versions (`1.2.10`) order part by part, and trailing zero parts
/// do not count (`1.0` is `1`), as Flyway orders them.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    number: u128,
    /// The parts after the first dot, trailing zeros removed; empty (and
    /// not allocated) for the plain numbers almost every layout uses.
    rest: Vec<u128>,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let number = parse_part(parts.next()?)?;
        let mut rest = parts.map(parse_part).collect::<Option<Vec<_>>>()?;
        while rest.last() == Some(&0) {
            rest.pop();
        }
        Some(Version {
            text: text.to_owned(),
            number,
            rest,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn parse_part(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number && self.rest == other.rest
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.number
            .cmp(&other.number)
            .then_with(|| self.rest.cmp(&other.rest))
    }
}
impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.number.hash(state);
        self.rest.hash(state);
    }
}
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// When in a rolling deploy a migration (or a part of one) runs: `expand`
/// before the new code is deployed (additive, old code keeps working),
/// `contract` after every host runs the new code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Expand,
    Contract,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        match text {
            "expand" => Some(Phase::Expand),
            "contract" => Some(Phase::Contract),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two sequences `--restamp` can address: database migrations and
/// config migrations number their versions independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Database,
    Config,
}

impl Side {
    /// How `--restamp` names a version of this side: `db:0002`,
    /// `config:0002`. Every message that advises a restamp uses this form.
    pub fn restamp_arg(self, version: &str) -> String {
        match self {
            Side::Database => format!("db:{version}"),
            Side::Config => format!("config:{version}"),
        }
    }
}

/// The current time as lockstep stores it: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The states of a row in the database history, as stored.
pub mod state {
    pub const APPLIED: &str = "applied";
    pub const RUNNING: &str = "running";
    pub const FAILED: &str = "failed";
    pub const ROLLED_BACK: &str = "rolled_back";
    /// A migration with SQL only for other dialects, recorded without
    /// running anything on this database.
    pub const SKIPPED: &str = "skipped";
    /// A YAML migration whose expand part ran; its backfill may not have.
    pub const EXPANDED: &str = "expanded";
    pub const BACKFILLED: &str = "backfilled";
    pub const CONTRACTED: &str = "contracted";

    /// Whether the migration's (expand) part is in the database.
    pub fn is_applied(state: &str) -> bool {
        matches!(state, APPLIED | EXPANDED | BACKFILLED | CONTRACTED)
    }

    /// Every state this lockstep writes.
    pub const KNOWN: [&str; 8] = [
        APPLIED,
        RUNNING,
        FAILED,
        ROLLED_BACK,
        EXPANDED,
        BACKFILLED,
        CONTRACTED,
        SKIPPED,
    ];

    /// A YAML migration waiting for its contract part.
    pub fn awaits_contract(state: &str) -> bool {
        matches!(state, EXPANDED | BACKFILLED)
    }
}
