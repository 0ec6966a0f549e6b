//! End-to-end tests of the real `lockstep` binary, one file per feature.

#[macro_use]
mod databases;
mod test;

mod apply;
mod bad_input;
mod check_mode;
mod checksums;
mod concurrency;
mod failure;
mod rollback;
mod settings;
mod sql;
