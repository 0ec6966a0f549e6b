//! End-to-end tests of the real `lockstep` binary, one file per feature.

#[macro_use]
mod databases;
mod projects;
mod test;

mod apply;
mod backfill_output;
mod bad_input;
mod check_mode;
mod checksums;
mod concurrency;
mod config_aliases;
mod config_bad_input;
mod config_dialects;
mod config_drift;
mod config_files;
mod config_lossless;
mod config_root_races;
mod crash;
mod dialect_coverage;
mod docs_links;
mod failure;
mod faults_database;
mod faults_filesystem;
mod file_metadata;
mod hangs;
mod human_output;
mod layouts;
mod lint;
mod load;
mod man_and_completions;
mod new;
mod online;
mod online_defaults;
mod online_sanity;
mod online_writes;
mod plan;
mod races;
mod resume;
mod rollback;
mod secrets;
mod security;
mod settings;
mod sql;
mod status;
mod system_mode;
