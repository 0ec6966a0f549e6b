//! Resolves every setting from, in order of precedence, the command line,
//! the environment (`LOCKSTEP_*`, then `DATABASE_URL` for the URL),
//! `lockstep.ini` in the project directory, and the defaults. Relative paths
//! in lockstep.ini are relative to the project directory.
//!
//! System mode: with no lockstep.ini in the project directory, the system
//! file `/etc/lockstep/lockstep.ini` (or `$LOCKSTEP_SYSTEM_CONFIG`) is read
//! instead, its relative paths are relative to its own directory, and the
//! state dir defaults to `/var/lib/lockstep`, as a distro package expects.

use crate::cli::args::{Format, GlobalArgs, OnDrift, PhaseArg};
use crate::config::secrecy::SecretNames;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
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
    pub on_drift: OnDrift,
    pub lock_timeout: Duration,
    pub host_id: String,
    /// Config keys secret by their name (`secret_keys` in lockstep.ini).
    pub secret_names: SecretNames,
}

const KEYS: &[&str] = &[
    "database",
    "migrations",
    "migrations_format",
    "config_migrations",
    "config_root",
    "state_dir",
    "phase",
    "format",
    "check",
    "diff",
    "vars_file",
    "on_drift",
    "lock_timeout",
    "host_id",
    "secret_keys",
];

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Settings> {
        let project = args.project.clone().unwrap_or_else(|| PathBuf::from("."));
        let project_ini = under(&project, SETTINGS_FILE);
        let system_ini = system_settings_file();
        let system_mode = !project_ini.is_file() && system_ini.is_file();
        // Relative paths in a settings file are relative to its directory.
        let (ini_path, base) = if system_mode {
            let dir = system_ini
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
            (system_ini, dir)
        } else {
            (project_ini, project.clone())
        };
        let (file, vars_from_ini) = if ini_path.is_file() {
            read_settings_file(&ini_path)?
        } else {
            (BTreeMap::new(), BTreeMap::new())
        };
        let settings_file = ini_path.is_file().then(|| ini_path.clone());
        let from_file = |key: &str| file.get(key).map(|(v, _)| v.as_str());
        let file_path = |key: &str| from_file(key).map(|v| under(&base, v));
        let parse_file = |key: &str, expected: &str| -> Result<Option<String>> {
            Ok(from_file(key).map(str::to_owned)).and_then(|v| {
                if let Some(ref value) = v {
                    if value.is_empty() {
                        bail!(
                            "{}: `{key}` is empty; expected {expected}",
                            ini_path.display()
                        );
                    }
                }
                Ok(v)
            })
        };

        let state_dir = args
            .state_dir
            .clone()
            .or_else(|| file_path("state_dir"))
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
                Some(url) => sqlite_relative_to(url, &base),
                None => format!("sqlite:{}", state_dir.join("lockstep.db").display()),
            },
        };
        let phase = match args.phase {
            Some(p) => p,
            None => match parse_file("phase", "expand, contract or all")?.as_deref() {
                None => PhaseArg::All,
                Some("expand") => PhaseArg::Expand,
                Some("contract") => PhaseArg::Contract,
                Some("all") => PhaseArg::All,
                Some(other) => bail!(
                    "{}: phase = {other}: expected expand, contract or all",
                    ini_path.display()
                ),
            },
        };
        let format = match args.format {
            Some(f) => f,
            None => match from_file("format") {
                None | Some("human") => Format::Human,
                Some("json") => Format::Json,
                Some(other) => bail!(
                    "{}: format = {other}: expected human or json",
                    ini_path.display()
                ),
            },
        };
        let migrations_format = match args.migrations_format {
            Some(layout) => layout,
            None => match from_file("migrations_format") {
                None => crate::db::layouts::Layout::Auto,
                Some(name) => crate::db::layouts::Layout::parse(name).ok_or_else(|| {
                    anyhow!(
                        "{}: migrations_format = {name}: expected {}",
                        ini_path.display(),
                        crate::db::layouts::Layout::names()
                    )
                })?,
            },
        };
        let on_drift = match args.on_drift {
            Some(d) => d,
            None => match from_file("on_drift") {
                None | Some("fail") => OnDrift::Fail,
                Some("merge") => OnDrift::Merge,
                Some("force") => OnDrift::Force,
                Some(other) => bail!(
                    "{}: on_drift = {other}: expected fail, merge or force",
                    ini_path.display()
                ),
            },
        };
        let lock_timeout = match args.lock_timeout {
            Some(s) => s,
            None => match from_file("lock_timeout") {
                None => 60,
                Some(v) => v.parse().map_err(|_| {
                    anyhow!(
                        "{}: lock_timeout = {v}: expected whole seconds",
                        ini_path.display()
                    )
                })?,
            },
        };
        let flag = |given: bool, key: &str| -> Result<bool> {
            if given {
                return Ok(true);
            }
            match from_file(key) {
                None | Some("false") | Some("no") | Some("0") => Ok(false),
                Some("true") | Some("yes") | Some("1") => Ok(true),
                Some(other) => bail!(
                    "{}: {key} = {other}: expected true or false",
                    ini_path.display()
                ),
            }
        };
        let host_id = args
            .host_id
            .clone()
            .or_else(|| from_file("host_id").map(str::to_owned))
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());

        // Variables: lockstep.ini [vars] < vars files < --var.
        let mut vars = vars_from_ini;
        let mut vars_files: Vec<PathBuf> = file_path("vars_file").into_iter().collect();
        if !args.vars_file.is_empty() {
            vars_files = args.vars_file.clone();
        }
        for path in &vars_files {
            vars.extend(read_vars_file(path)?);
        }
        for pair in &args.vars {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--var {pair}: expected KEY=VALUE"))?;
            vars.insert(k.trim().to_owned(), v.to_owned());
        }

        Ok(Settings {
            migrations: args
                .migrations
                .clone()
                .or_else(|| file_path("migrations"))
                .unwrap_or_else(|| under(&project, "migrations")),
            migrations_format,
            config_migrations: args
                .config_migrations
                .clone()
                .or_else(|| file_path("config_migrations"))
                .unwrap_or_else(|| under(&project, "config-migrations")),
            config_root: args
                .config_root
                .clone()
                .or_else(|| file_path("config_root"))
                .unwrap_or_else(|| project.clone()),
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
            on_drift,
            lock_timeout: Duration::from_secs(lock_timeout),
            host_id,
            secret_names: from_file("secret_keys")
                .map_or_else(SecretNames::default, SecretNames::parse),
        })
    }
}

type Keys = BTreeMap<String, (String, usize)>;

/// Reads `[lockstep]` and `[vars]` from lockstep.ini; an unknown key or
/// section is an error (a typo would otherwise be silently ignored).
fn read_settings_file(path: &Path) -> Result<(Keys, BTreeMap<String, String>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = ini::Ini::load_from_str(&text)
        .map_err(|e| anyhow!("{}:{}: {}", path.display(), e.line, e.msg))?;
    let mut keys = Keys::new();
    let mut vars = BTreeMap::new();
    for (section, props) in parsed.iter() {
        match section {
            Some("lockstep") => {
                for (k, v) in props.iter() {
                    if !KEYS.contains(&k) {
                        bail!(
                            "{}: unknown setting `{k}` in [lockstep]; known settings: {}",
                            path.display(),
                            KEYS.join(", ")
                        );
                    }
                    keys.insert(k.to_owned(), (v.to_owned(), 0));
                }
            }
            Some("vars") => {
                for (k, v) in props.iter() {
                    vars.insert(k.to_owned(), v.to_owned());
                }
            }
            None if props.is_empty() => {}
            None => bail!(
                "{}: settings must be under [lockstep] (or [vars]), found `{}` before any section",
                path.display(),
                props.iter().next().map_or("", |(k, _)| k)
            ),
            Some(other) => bail!(
                "{}: unknown section [{other}]; expected [lockstep] and [vars]",
                path.display()
            ),
        }
    }
    Ok((keys, vars))
}

/// Values for `${KEY}` from a YAML (or JSON, which is YAML) mapping of
/// scalars.
pub fn read_vars_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the vars file {}", path.display()))?;
    let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map_or(String::new(), |l| format!(":{}", l.line()));
        anyhow!("{}{at}: not valid YAML: {e}", path.display())
    })?;
    let mut out = BTreeMap::new();
    let serde_yaml::Value::Mapping(map) = value else {
        bail!("{}: expected a mapping of KEY: value", path.display());
    };
    for (k, v) in map {
        let key = scalar(&k).ok_or_else(|| anyhow!("{}: keys must be strings", path.display()))?;
        let value = scalar(&v).ok_or_else(|| {
            anyhow!(
                "{}: the value of `{key}` must be a string, number or boolean",
                path.display()
            )
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
