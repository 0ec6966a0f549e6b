//! Resolves every setting from, in order of precedence, the command line,
//! the environment (`LOCKSTEP_*`, then `DATABASE_URL` for the URL),
//! `lockstep.ini` in the project directory, and the defaults. Relative paths
//! in lockstep.ini are relative to the project directory.
//!
//! System mode: with no lockstep.ini in the project directory, the system
//! file `/etc/lockstep/lockstep.ini` (or `$LOCKSTEP_SYSTEM_CONFIG`) is read
//! instead, its relative paths are relative to its own directory, and the
//! state dir defaults to `/var/lib/lockstep`, as a distro package expects.

use crate::cli::args::{Format, GlobalArgs};
use crate::cli::settings_file::SettingsFile;
use crate::config::secrecy::SecretNames;
use crate::plan::options::{OnDrift, PhaseArg};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SETTINGS_FILE: &str = "lockstep.ini";
/// The settings file of system mode, unless `LOCKSTEP_SYSTEM_CONFIG` names another.
pub const SYSTEM_SETTINGS_FILE: &str = "/etc/lockstep/lockstep.ini";
/// The state dir of system mode, unless a setting names another.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/lockstep";

/// The system settings file: `$LOCKSTEP_SYSTEM_CONFIG` (for packagers and
/// tests) or `/etc/lockstep/lockstep.ini`.
pub fn system_settings_file() -> PathBuf {
    std::env::var_os("LOCKSTEP_SYSTEM_CONFIG")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(SYSTEM_SETTINGS_FILE), PathBuf::from)
}

/// Every setting a command needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub project: PathBuf,
    /// The lockstep.ini that was read, if any.
    pub settings_file: Option<PathBuf>,
    /// Whether that file is the system one (`/etc/lockstep/lockstep.ini`).
    pub system_mode: bool,
    pub database_url: String,
    pub migrations: PathBuf,
    /// The layout of the migrations folder (`auto`: found from the folder).
    pub migrations_format: crate::db::layouts::Layout,
    pub config_migrations: PathBuf,
    pub config_root: PathBuf,
    pub state_dir: PathBuf,
    pub phase: PhaseArg,
    pub format: Format,
    pub check: bool,
    pub diff: bool,
    pub vars: BTreeMap<String, String>,
    /// The names of variables from secret vars files: their values are
    /// scrubbed from all output.
    pub secret_vars: BTreeSet<String>,
    pub on_drift: OnDrift,
    pub lock_timeout: Duration,
    pub host_id: String,
    /// Config keys secret by their name (`secret_keys` in lockstep.ini).
    pub secret_names: SecretNames,
}

/// Where a setting's value came from, for messages about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The command-line flag, e.g. `--migrations`.
    Flag(&'static str),
    /// An environment variable, e.g. `LOCKSTEP_MIGRATIONS`.
    Env(&'static str),
    /// A settings file and line: `/srv/app/lockstep.ini:3`.
    File(String),
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "set by {flag}"),
            Origin::Env(var) => write!(f, "set by the environment variable {var}"),
            Origin::File(at) => write!(f, "set in {at}"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// A flag's value came from its environment variable when that variable
/// holds exactly this value (clap lets the flag win when both are given).
fn flag_or_env(flag: &'static str, env: &'static str, value: &Path) -> Origin {
    match std::env::var_os(env) {
        Some(v) if !v.is_empty() && Path::new(&v) == value => Origin::Env(env),
        _ => Origin::Flag(flag),
    }
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Settings> {
        let project = args.project.clone().unwrap_or_else(|| PathBuf::from("."));
        if let Some(given) = &args.project {
            if !given.is_dir() {
                let origin = flag_or_env("--project (-C)", "LOCKSTEP_PROJECT", given);
                bail!(
                    "the project directory {} does not exist ({origin}); \
                     give the directory that holds lockstep.ini and migrations/",
                    given.display()
                );
            }
        }
        let project_ini = under(&project, SETTINGS_FILE);
        let system_ini = system_settings_file();
        // Whatever is there is the settings file: one that is no regular
        // file (a FIFO, a directory) is refused when read, not skipped.
        let present = |p: &Path| std::fs::metadata(p).is_ok();
        let system_mode = !present(&project_ini) && present(&system_ini);
        // Relative paths in a settings file are relative to its directory.
        let (ini_path, base) = if system_mode {
            let dir = system_ini
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
            (system_ini, dir)
        } else {
            (project_ini, project.clone())
        };
        let settings_file = present(&ini_path).then(|| ini_path.clone());
        let file = match &settings_file {
            Some(path) => SettingsFile::read(path)?,
            None => SettingsFile::default(),
        };
        let from_file = |key: &str| file.get(key);
        let file_path = |key: &str| from_file(key).map(|(v, at)| (under(&base, v), at));
        // A value error names the file and line: `lockstep.ini:3: phase = x: expected …`.
        let invalid = |key: &str, value: &str, at: &str, expected: &str| {
            anyhow!("{at}: {key} = {value}: expected {expected}")
        };

        let state_dir = args
            .state_dir
            .clone()
            .or_else(|| file_path("state_dir").map(|(p, _)| p))
            .unwrap_or_else(|| {
                if system_mode {
                    PathBuf::from(SYSTEM_STATE_DIR)
                } else {
                    under(&project, ".lockstep")
                }
            });
        let database_url = match args
            .database
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
        {
            Some(url) => url,
            None => match from_file("database") {
                Some((url, _)) => sqlite_relative_to(url, &base),
                None => format!("sqlite:{}", state_dir.join("lockstep.db").display()),
            },
        };
        let database_url = match std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
            Some(password) => with_password(&database_url, &password)?,
            None => database_url,
        };
        let phase = match args.phase {
            Some(p) => p,
            None => match from_file("phase") {
                None | Some(("all", _)) => PhaseArg::All,
                Some(("expand", _)) => PhaseArg::Expand,
                Some(("contract", _)) => PhaseArg::Contract,
                Some((other, at)) => {
                    return Err(invalid("phase", other, &at, "expand, contract or all"))
                }
            },
        };
        let format = match args.format {
            Some(f) => f,
            None => match from_file("format") {
                None | Some(("human", _)) => Format::Human,
                Some(("json", _)) => Format::Json,
                Some((other, at)) => return Err(invalid("format", other, &at, "human or json")),
            },
        };
        let migrations_format = match args.migrations_format {
            Some(layout) => layout,
            None => match from_file("migrations_format") {
                None => crate::db::layouts::Layout::Auto,
                Some((name, at)) => crate::db::layouts::Layout::parse(name).ok_or_else(|| {
                    invalid(
                        "migrations_format",
                        name,
                        &at,
                        &crate::db::layouts::Layout::names(),
                    )
                })?,
            },
        };
        let on_drift = match args.on_drift {
            Some(d) => d,
            None => match from_file("on_drift") {
                None | Some(("fail", _)) => OnDrift::Fail,
                Some(("merge", _)) => OnDrift::Merge,
                Some(("force", _)) => OnDrift::Force,
                Some((other, at)) => {
                    return Err(invalid("on_drift", other, &at, "fail, merge or force"))
                }
            },
        };
        let lock_timeout = match args.lock_timeout {
            Some(s) => s,
            None => match from_file("lock_timeout") {
                None => 60,
                Some((v, at)) => v
                    .parse()
                    .map_err(|_| invalid("lock_timeout", v, &at, "whole seconds"))?,
            },
        };
        let flag = |given: bool, key: &str| -> Result<bool> {
            if given {
                return Ok(true);
            }
            match from_file(key) {
                None | Some(("false" | "no" | "0", _)) => Ok(false),
                Some(("true" | "yes" | "1", _)) => Ok(true),
                Some((other, at)) => Err(invalid(key, other, &at, "true or false")),
            }
        };
        let host_id = match (&args.host_id, from_file("host_id")) {
            (Some(id), _) => id.clone(),
            (None, Some(("", at))) => bail!("{at}: `host_id` is empty; expected this host's name"),
            (None, Some((id, _))) => id.to_owned(),
            (None, None) => gethostname::gethostname().to_string_lossy().into_owned(),
        };

        // Variables: lockstep.ini [vars] < vars files < secret vars files < --var.
        let mut vars: BTreeMap<String, String> = file
            .vars
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        let mut vars_files: Vec<PathBuf> =
            file_path("vars_file").map(|(p, _)| p).into_iter().collect();
        if !args.vars_file.is_empty() {
            vars_files = args.vars_file.clone();
        }
        for path in &vars_files {
            vars.extend(read_vars_file(path)?);
        }
        let mut secret_vars = BTreeSet::new();
        for path in &args.secret_vars_file {
            for (k, v) in read_vars_file(path)? {
                secret_vars.insert(k.clone());
                vars.insert(k, v);
            }
        }
        for pair in &args.vars {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--var {pair}: expected KEY=VALUE"))?;
            let key = k.trim();
            // A secret keeps its value: a plain --var cannot unmask it.
            if secret_vars.contains(key) {
                bail!("--var {key}: {key} is also a secret variable; give it in one place only");
            }
            vars.insert(key.to_owned(), v.to_owned());
        }

        // A folder named by a setting must exist: a typo would otherwise
        // read as "no migrations" and a deploy would silently do nothing.
        let folder = |flag: &'static str,
                      env: &'static str,
                      key: &str,
                      given: &Option<PathBuf>,
                      default: PathBuf|
         -> (PathBuf, Origin) {
            match (given, file_path(key)) {
                (Some(p), _) => (p.clone(), flag_or_env(flag, env, p)),
                (None, Some((p, at))) => (p, Origin::File(at)),
                (None, None) => (default, Origin::Default),
            }
        };
        let (migrations, migrations_origin) = folder(
            "--migrations",
            "LOCKSTEP_MIGRATIONS",
            "migrations",
            &args.migrations,
            under(&project, "migrations"),
        );
        let (config_migrations, config_migrations_origin) = folder(
            "--config-migrations",
            "LOCKSTEP_CONFIG_MIGRATIONS",
            "config_migrations",
            &args.config_migrations,
            under(&project, "config-migrations"),
        );
        let (config_root, config_root_origin) = folder(
            "--config-root",
            "LOCKSTEP_CONFIG_ROOT",
            "config_root",
            &args.config_root,
            project.clone(),
        );
        for (what, path, origin) in [
            ("migrations folder", &migrations, migrations_origin),
            (
                "config migrations folder",
                &config_migrations,
                config_migrations_origin,
            ),
            ("config root", &config_root, config_root_origin),
        ] {
            if origin != Origin::Default && !path.is_dir() {
                bail!(
                    "the {what} {} does not exist ({origin}); \
                     correct the path, or create the folder",
                    path.display()
                );
            }
        }

        Ok(Settings {
            migrations,
            migrations_format,
            config_migrations,
            config_root,
            check: flag(args.check, "check")?,
            diff: flag(args.diff, "diff")?,
            project,
            settings_file,
            system_mode,
            database_url,
            state_dir,
            phase,
            format,
            vars,
            secret_vars,
            on_drift,
            lock_timeout: Duration::from_secs(lock_timeout),
            host_id,
            secret_names: from_file("secret_keys")
                .map_or_else(SecretNames::default, |(v, _)| SecretNames::parse(v)),
        })
    }

    /// The values of secret variables, to scrub from everything printed.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.secret_vars
            .iter()
            .filter_map(|k| self.vars.get(k).map(String::as_str))
    }
}

/// Why a vars file gives no variables; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum VarsFileError {
    /// Printed with its source, as `{:#}` does: "...: it is a FIFO ...".
    #[error("cannot read the vars file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The parser's message is part of this one, so it is no `source()`.
    #[error("{}{}: not valid YAML: {message}", path.display(), line.map_or(String::new(), |l| format!(":{l}")))]
    Yaml {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{}: expected a mapping of KEY: value", path.display())]
    NotMapping { path: PathBuf },
    #[error("{}: keys must be strings", path.display())]
    KeyNotString { path: PathBuf },
    #[error("{}: the value of `{key}` must be a string, number or boolean", path.display())]
    ValueNotScalar { path: PathBuf, key: String },
}

/// Values for `${KEY}` from a YAML (or JSON, which is YAML) mapping of
/// scalars.
pub fn read_vars_file(path: &Path) -> Result<BTreeMap<String, String>, VarsFileError> {
    let path_buf = || path.to_path_buf();
    // Never blocks: a FIFO (or a device) is refused, not waited on.
    let text = crate::files::read_regular_text(path).map_err(|source| VarsFileError::Read {
        path: path_buf(),
        source,
    })?;
    let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|error| {
        let (line, message) = crate::error::yaml_error(&text, &error);
        VarsFileError::Yaml {
            path: path_buf(),
            line,
            message,
        }
    })?;
    let mut out = BTreeMap::new();
    let serde_yaml::Value::Mapping(map) = value else {
        return Err(VarsFileError::NotMapping { path: path_buf() });
    };
    for (k, v) in map {
        let key = scalar(&k).ok_or_else(|| VarsFileError::KeyNotString { path: path_buf() })?;
        let value = scalar(&v).ok_or_else(|| VarsFileError::ValueNotScalar {
            path: path_buf(),
            key: key.clone(),
        })?;
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The database password, kept out of the URL and off the command line
/// (where `ps` shows it): the Ansible module passes it this way.
pub const PASSWORD_ENV: &str = "LOCKSTEP_DATABASE_PASSWORD";

/// `url` with its password replaced by `password`, percent-encoded.
fn with_password(url: &str, password: &str) -> Result<String> {
    let no_user = || {
        anyhow!(
            "{PASSWORD_ENV} is set, but the database URL {} has no user name; \
             give one (postgres://USER@HOST/DB) or leave the password unset",
            crate::redact::redact_url(url)
        )
    };
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| *scheme != "sqlite")
        .ok_or_else(no_user)?;
    let (base, query) = rest
        .split_once('?')
        .map_or((rest, None), |(b, q)| (b, Some(q)));
    // The last `@` ends the user info, as for the redactor.
    let (userinfo, host) = base.rsplit_once('@').ok_or_else(no_user)?;
    let user = userinfo.split(':').next().unwrap_or_default();
    if user.is_empty() {
        return Err(no_user());
    }
    let password =
        percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC);
    let query = query.map_or(String::new(), |q| format!("?{q}"));
    Ok(format!("{scheme}://{user}:{password}@{host}{query}"))
}

/// `name` inside the project; plain `name` for the current directory, so
/// paths in messages read `migrations/…`, not `./migrations/…`.
fn under(project: &Path, name: &str) -> PathBuf {
    if project == Path::new(".") || Path::new(name).is_absolute() {
        PathBuf::from(name)
    } else {
        project.join(name)
    }
}

/// `sqlite:app.db` in lockstep.ini means the project's app.db, not one
/// relative to wherever lockstep happens to be started.
fn sqlite_relative_to(url: &str, project: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_owned();
    };
    let rest_path = rest.strip_prefix("//").unwrap_or(rest);
    if rest_path.starts_with('/') || rest_path.starts_with(":memory:") || rest_path.is_empty() {
        return url.to_owned();
    }
    format!("sqlite:{}", under(project, rest_path).display())
}
