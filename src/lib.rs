//! lockstep takes an application from release N to N+1 on one host: its
//! database schema (SQLite, PostgreSQL, MySQL/MariaDB) and its INI config
//! files, with checksums, drift detection and Ansible-style JSON.
//!
//! The layers, in the one direction data flows:
//! - load: [`db::source`] and [`config::source`] read migrations from disk,
//!   [`config::load`] the config files, [`commands`] the history and the
//!   per-host state;
//! - plan: [`plan`] decides what to run from what was loaded, pure and
//!   without I/O (clippy's `disallowed_methods`, denied in `plan/`); one
//!   [`plan::apply::ApplyPlan`] serves `apply`, `plan` and check mode;
//! - apply: [`db::runner`] and [`config::write`] change the database and files
//!   ([`config::commit`]: intents recorded, files replaced, what landed
//!   recorded, and what a killed run left settled);
//! - report: [`report`] is the one result every command prints.
//!
//! [`cli`] parses the command line (or an Ansible args file) into settings.
//!
//! Imports point one way, bottom to top: the shared vocabulary
//! ([`vocabulary`], [`migration_files`], [`files`], [`checksum`],
//! [`redact`], [`error`]); the two sides, [`config`] and [`db`], which do
//! not know each other; [`report`]; [`plan`]; [`cli`]; [`commands`]. The
//! test `architecture` in `tests/integration` fails on an import that
//! points up or closes a cycle.

pub mod checksum;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod error;
pub mod files;
pub mod migration_files;
pub mod plan;
pub mod redact;
pub mod report;
pub mod vocabulary;

/// lockstep's version, recorded with everything it applies.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
