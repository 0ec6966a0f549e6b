//! The words both sides (database and config migrations) and every layer
//! share: versions, phases, the two sides, timestamps as stored. The bottom
//! of the module graph: it imports nothing of lockstep's.

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
