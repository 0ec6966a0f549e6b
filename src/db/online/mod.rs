//! Online (zero-downtime) schema changes from declarative YAML migrations:
//! each operation compiles, per dialect, into an **expand** part (additive
//! DDL and triggers that keep old and new columns in sync both ways), a
//! batched **backfill**, a **sanity check**, a **contract** part (drop what
//! the old code needed) and an **undo** of expand for rollback. Old and new
//! application versions can run side by side between expand and contract.
//!
//! [`operation`] reads the YAML, [`compile()`] turns it into SQL through
//! the dialect's generator ([`crate::db::dialect::online::OnlineSql`], one
//! implementation per dialect file in `db/dialect/`), [`backfill`] runs
//! the batches, [`introspect`] reads the live schema the SQL depends on
//! (with the dialect's catalog queries), [`capture`] records columns as
//! expand found them, [`live`] compiles a migration against the live
//! schema and [`runner`] runs its parts.

pub mod backfill;
pub mod capture;
pub mod compile;
pub mod introspect;
pub mod live;
pub mod operation;
pub mod runner;

pub use compile::{compile, Compiled, Read};
pub use operation::OnlineMigration;
