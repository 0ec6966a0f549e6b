//! Planning: given what is on disk and what is recorded, decide what a
//! command would do. Pure functions, no I/O: the commands load, plan, apply
//! and report, in that order.

pub mod config;
pub mod database;
pub mod lint;
pub mod options;
pub mod rollback;
