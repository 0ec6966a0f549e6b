//! Planning: given what is on disk and what is recorded, decide what a
//! command would do. Pure functions, no I/O: the commands load, plan, apply
//! and report, in that order.
//!
//! Enforced: every file-system call clippy.toml lists (std::fs, `Path`'s
//! `canonicalize`, `exists`, `metadata`, ..., and lockstep's own config
//! path, owner and state loaders) is denied here, so the inputs are loaded
//! before planning (for config files, [`crate::config::load`]).

#![deny(clippy::disallowed_methods)]

pub mod apply;
pub mod config;
pub mod database;
pub mod lint;
pub mod options;
pub mod rollback;
pub mod status;
