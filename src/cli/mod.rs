//! The command line: argument parsing, settings resolution, and Ansible's
//! binary-module protocol (an args file instead of flags).

pub mod ansible;
pub mod args;
pub mod assets;
pub mod settings;
pub mod settings_file;
