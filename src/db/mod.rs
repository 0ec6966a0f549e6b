//! The database side: finding SQL migrations, the per-dialect SQL (all of
//! it in [`dialect`], one file per dialect), the connection and its lock,
//! the history tables, and running scripts.

pub mod bookkeeping;
pub mod connection;
pub mod dialect;
pub mod failure_point;
pub mod history;
pub mod layouts;
pub mod lock;
pub mod migration;
pub mod online;
pub mod runner;
pub mod source;
pub mod statements;
pub mod tool_history;
