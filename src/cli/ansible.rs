//! Ansible's binary-module protocol: run with exactly one argument, the
//! path of a file holding a JSON object, lockstep reads its options from it
//! (long option names with `_` for `-`), honours `_ansible_check_mode` and
//! `_ansible_diff`, and answers in JSON. That lets the binary sit in a
//! playbook's `library/` directory with no Python wrapper.

use crate::cli::args::Cli;
use clap::Parser;
use serde_json::{Map, Value};
use std::ffi::OsString;

/// Options accepted in an args file, and the flag each becomes.
const OPTIONS: &[(&str, Kind)] = &[
    ("command", Kind::Command),
    ("project", Kind::Value("--project")),
    ("database", Kind::Value("--database")),
    ("migrations", Kind::Value("--migrations")),
    ("migrations_format", Kind::Value("--migrations-format")),
    ("config_migrations", Kind::Value("--config-migrations")),
    ("config_root", Kind::Value("--config-root")),
    ("state_dir", Kind::Value("--state-dir")),
    ("phase", Kind::Value("--phase")),
    ("target", Kind::CommandValue("--target")),
    ("vars", Kind::Vars),
    ("vars_file", Kind::Values("--vars-file")),
    ("secret_vars_file", Kind::Values("--secret-vars-file")),
    ("on_drift", Kind::Value("--on-drift")),
    ("lock_timeout", Kind::Value("--lock-timeout")),
    ("host_id", Kind::Value("--host-id")),
    ("backup", Kind::CommandFlag("--backup")),
    (
        "allow_out_of_order",
        Kind::CommandFlag("--allow-out-of-order"),
    ),
    ("force", Kind::CommandFlag("--force")),
    ("no_backfill", Kind::CommandFlag("--no-backfill")),
    ("batch_size", Kind::CommandValue("--batch-size")),
    ("batch_sleep", Kind::CommandValue("--batch-sleep")),
];

#[derive(Clone, Copy)]
enum Kind {
    Command,
    Value(&'static str),
    /// A string or a list of strings: the flag once per item.
    Values(&'static str),
    CommandValue(&'static str),
    CommandFlag(&'static str),
    Vars,
}

/// Why a module arguments file does not make a command line: its message
/// is the `failed: true` result's.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("unsupported parameter `{key}`; valid parameters are: {valid}")]
    Unsupported { key: String, valid: String },
    #[error("`command` must be a string")]
    CommandNotString,
    #[error("command `{0}`: as a module lockstep runs apply, plan, status or verify")]
    Command(String),
    #[error("`{0}` must be a string or number")]
    NotScalar(String),
    #[error("`{0}` must be a string or a list of strings")]
    NotScalars(String),
    #[error("`vars` must be a dictionary of KEY: value")]
    VarsNotMap,
    #[error("vars.{0} must be a string, number or boolean")]
    VarNotScalar(String),
    /// The command line the parameters make is refused: the first line of
    /// the parser's message; the whole message is the source.
    #[error("{summary}")]
    Invalid {
        summary: String,
        #[source]
        source: clap::Error,
    },
}

/// `Some` when `argv` is the binary-module form: the parsed command line,
/// or why a `failed: true` result.
pub fn from_args_file(argv: &[OsString]) -> Option<Result<Cli, ArgsError>> {
    if argv.len() != 2 {
        return None;
    }
    // Only a regular file can be an arguments file; anything else is
    // parsed as a command line. Opened without blocking: a FIFO is never
    // waited on.
    let text = crate::files::read_regular_text(std::path::Path::new(&argv[1])).ok()?;
    let Ok(Value::Object(args)) = serde_json::from_str::<Value>(&text) else {
        return None;
    };
    Some(to_cli(&args))
}

fn to_cli(args: &Map<String, Value>) -> Result<Cli, ArgsError> {
    let mut global: Vec<String> = vec!["lockstep".into(), "--format".into(), "json".into()];
    let mut command_args: Vec<String> = Vec::new();
    let mut command = "apply".to_owned();
    for (key, value) in args {
        if key == "_ansible_check_mode" {
            if truthy(value) {
                global.push("--check".into());
            }
            continue;
        }
        if key == "_ansible_diff" {
            if truthy(value) {
                global.push("--diff".into());
            }
            continue;
        }
        if key.starts_with("_ansible_") || value.is_null() {
            continue;
        }
        let Some((_, kind)) = OPTIONS.iter().find(|(name, _)| name == key) else {
            let valid: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
            return Err(ArgsError::Unsupported {
                key: key.clone(),
                valid: valid.join(", "),
            });
        };
        match kind {
            Kind::Command => {
                command = scalar(value).ok_or(ArgsError::CommandNotString)?;
                if !matches!(command.as_str(), "apply" | "plan" | "status" | "verify") {
                    return Err(ArgsError::Command(command));
                }
            }
            Kind::Value(flag) => {
                global.push((*flag).into());
                global.push(scalar(value).ok_or_else(|| ArgsError::NotScalar(key.clone()))?);
            }
            Kind::Values(flag) => {
                let items: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    global.push((*flag).into());
                    global.push(scalar(item).ok_or_else(|| ArgsError::NotScalars(key.clone()))?);
                }
            }
            Kind::CommandValue(flag) => {
                command_args.push((*flag).into());
                command_args.push(scalar(value).ok_or_else(|| ArgsError::NotScalar(key.clone()))?);
            }
            Kind::CommandFlag(flag) => {
                if truthy(value) {
                    command_args.push((*flag).into());
                }
            }
            Kind::Vars => {
                let Value::Object(vars) = value else {
                    return Err(ArgsError::VarsNotMap);
                };
                for (k, v) in vars {
                    let v = scalar(v).ok_or_else(|| ArgsError::VarNotScalar(k.clone()))?;
                    global.push("--var".into());
                    global.push(format!("{k}={v}"));
                }
            }
        }
    }
    global.push(command);
    global.extend(command_args);
    Cli::try_parse_from(&global).map_err(|source| {
        let text = source.to_string();
        let summary = text
            .lines()
            .next()
            .unwrap_or("invalid parameters")
            .trim_start_matches("error: ")
            .to_owned();
        ArgsError::Invalid { summary, source }
    })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}
