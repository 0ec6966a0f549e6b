//! The command line: every command and option, as clap parses them. Values
//! left unset here fall back to the environment, `lockstep.ini` and the
//! defaults in [`crate::cli::settings`].

use crate::plan::options::{OnDrift, PhaseArg};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lockstep",
    version,
    about = "Take an application from release N to N+1: database schema and INI config files, \
             with checksums, drift detection and Ansible-style JSON",
    after_help = "Settings: flag > LOCKSTEP_* environment > lockstep.ini > /etc/lockstep/lockstep.ini > default.\n\
                  Exit status: 0 success, 1 failure (JSON still printed), 2 usage error.",
    after_long_help = SETTINGS_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The settings lookup order, for `--help` and the man page.
pub const SETTINGS_HELP: &str = "\
Settings are looked up in this order; the first that sets a value wins:
  1. the command-line flag;
  2. the environment: LOCKSTEP_<OPTION> (DATABASE_URL as a fallback for --database);
  3. <project>/lockstep.ini (-C DIR, default .), section [lockstep], keys named as
     the long options (config_root = etc); relative paths are relative to the project;
  4. system mode: when the project has no lockstep.ini and /etc/lockstep/lockstep.ini
     exists, that file (LOCKSTEP_SYSTEM_CONFIG names another, for packagers and tests);
     use absolute paths in it, relative ones are relative to its directory, and the
     state dir defaults to /var/lib/lockstep;
  5. the default.
`lockstep status` prints the settings file and state dir it used.

Exit status: 0 success (changed or not), 1 failure (the JSON result is still
printed, with failed: true), 2 usage error; plan --detailed-exitcode: 2 when
changes are pending.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Options every command takes; `--help` lists them under their own heading,
/// after the command's own options.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Project directory, where lockstep.ini is looked up [default: .]
    #[arg(
        short = 'C',
        long,
        env = "LOCKSTEP_PROJECT",
        global = true,
        value_name = "DIR"
    )]
    pub project: Option<PathBuf>,
    /// Database URL: sqlite:FILE, postgres://…, mysql://… [default: an embedded SQLite file in the state dir]
    #[arg(
        long,
        env = "LOCKSTEP_DATABASE",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Directory of database migrations [default: <project>/migrations]
    #[arg(long, env = "LOCKSTEP_MIGRATIONS", global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// Layout of the migrations directory: another tool's, read unchanged [default: auto]
    #[arg(
        long,
        env = "LOCKSTEP_MIGRATIONS_FORMAT",
        global = true,
        value_enum,
        value_name = "LAYOUT"
    )]
    pub migrations_format: Option<crate::db::layouts::Layout>,
    /// Directory of config migrations [default: <project>/config-migrations]
    #[arg(
        long,
        env = "LOCKSTEP_CONFIG_MIGRATIONS",
        global = true,
        value_name = "DIR"
    )]
    pub config_migrations: Option<PathBuf>,
    /// Config migrations name files relative to this directory [default: <project>]
    #[arg(long, env = "LOCKSTEP_CONFIG_ROOT", global = true, value_name = "DIR")]
    pub config_root: Option<PathBuf>,
    /// Per-host state: config checksums, snapshots, locks [default: <project>/.lockstep]
    #[arg(long, env = "LOCKSTEP_STATE_DIR", global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Which parts to run [default: all]
    #[arg(long, env = "LOCKSTEP_PHASE", global = true, value_enum)]
    pub phase: Option<PhaseArg>,
    /// Output format [default: human]
    #[arg(long, env = "LOCKSTEP_FORMAT", global = true, value_enum)]
    pub format: Option<Format>,
    /// Change nothing; report what would change
    #[arg(long, env = "LOCKSTEP_CHECK", global = true)]
    pub check: bool,
    /// Show what changes (or would change): file diffs and SQL
    #[arg(long, env = "LOCKSTEP_DIFF", global = true)]
    pub diff: bool,
    /// A value for ${KEY} in config migrations (repeatable)
    #[arg(long = "var", global = true, value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// A YAML or JSON file of values for ${KEY} (repeatable)
    #[arg(long, env = "LOCKSTEP_VARS_FILE", global = true, value_name = "FILE")]
    pub vars_file: Vec<PathBuf>,
    /// A YAML or JSON file of secret values for ${KEY}, masked in all output;
    /// keeps them off the command line (repeatable)
    #[arg(
        long,
        env = "LOCKSTEP_SECRET_VARS_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub secret_vars_file: Vec<PathBuf>,
    /// What to do when a managed config file was edited by hand [default: fail]
    #[arg(long, env = "LOCKSTEP_ON_DRIFT", global = true, value_enum)]
    pub on_drift: Option<OnDrift>,
    /// Seconds to wait for another lockstep's lock [default: 60]
    #[arg(
        long,
        env = "LOCKSTEP_LOCK_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub lock_timeout: Option<u64>,
    /// This host's name for contract gating [default: the host name]
    #[arg(long, env = "LOCKSTEP_HOST_ID", global = true, value_name = "NAME")]
    pub host_id: Option<String>,
    /// Print only errors: no summary of a successful run, no warnings (JSON results are still printed)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More logs on stderr: -v info, -vv debug, -vvv trace (LOCKSTEP_LOG overrides)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ApplyArgs {
    /// Apply only up to this version (inclusive)
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// Apply a pending migration older than the newest applied one
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Keep a timestamped copy of each config file before changing it
    #[arg(long)]
    pub backup: bool,
    /// Contract even when hosts lag behind or a sanity check fails
    #[arg(long)]
    pub force: bool,
    /// Leave the backfills of expanded migrations to `lockstep backfill`
    #[arg(long)]
    pub no_backfill: bool,
    #[command(flatten)]
    pub batches: BatchArgs,
}

/// Plan's options: those of apply that change what would run. Apply's
/// --backup and batch pacing change nothing in a plan, which writes
/// nothing; they are accepted but not listed, so that an apply command line
/// (or the Ansible module's options) works unchanged with plan.
#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    /// Plan only up to this version (inclusive)
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// Include a pending migration older than the newest applied one
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Plan contracts as `apply --force` would run them: even when hosts lag
    /// behind or a sanity check fails
    #[arg(long)]
    pub force: bool,
    /// Plan as `apply --no-backfill`: backfills left to `lockstep backfill`
    #[arg(long)]
    pub no_backfill: bool,
    #[arg(long, hide = true)]
    pub backup: bool,
    #[arg(long, hide = true, value_name = "ROWS")]
    pub batch_size: Option<i64>,
    #[arg(long, hide = true, value_name = "MILLISECONDS")]
    pub batch_sleep: Option<u64>,
}

impl PlanArgs {
    /// The `apply` these options describe (run in check mode by `plan`).
    pub fn as_apply(&self) -> ApplyArgs {
        ApplyArgs {
            target: self.target.clone(),
            allow_out_of_order: self.allow_out_of_order,
            force: self.force,
            no_backfill: self.no_backfill,
            backup: self.backup,
            batches: BatchArgs {
                batch_size: self.batch_size.unwrap_or(BatchArgs::default().batch_size),
                batch_sleep: self.batch_sleep.unwrap_or_default(),
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Rows per backfill batch (each its own short transaction); fewer
    /// while batches take longer than 50 ms
    #[arg(long, default_value_t = 1000, value_name = "ROWS")]
    pub batch_size: i64,
    /// Pause between backfill batches, to leave room for the application
    #[arg(long, default_value_t = 0, value_name = "MILLISECONDS")]
    pub batch_sleep: u64,
}

impl Default for BatchArgs {
    fn default() -> Self {
        BatchArgs {
            batch_size: 1000,
            batch_sleep: 0,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the database and config files to the target state (idempotent)
    Apply(ApplyArgs),
    /// What apply would do, changing nothing (= apply --check --diff)
    Plan {
        #[command(flatten)]
        plan: PlanArgs,
        /// Exit 0 when nothing is pending, 2 when changes are pending, 1 on error
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Run or resume the pending batched backfills of expanded migrations
    Backfill(BatchArgs),
    /// Flag SQL migrations that are unsafe for a no-downtime deploy
    Lint,
    /// Applied, pending, failed and drifted migrations and config files
    Status,
    /// Compare checksums only; exit 1 on any drift
    Verify,
    /// Print the SQL apply would run, including lockstep's own bookkeeping
    Sql {
        /// Print for this dialect without connecting, as for an empty database
        #[arg(long, value_name = "postgres|mysql|sqlite")]
        dialect: Option<String>,
    },
    /// Undo migrations newer than VERSION, newest first, with their down SQL
    #[command(group(clap::ArgGroup::new("targets").required(true).multiple(true).args(["to", "database_to", "config_to"])))]
    Rollback {
        /// The version to return to, database and config alike (it stays applied)
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// The database version to return to (overrides --to; without it and --to the database is left as it is)
        #[arg(long, value_name = "VERSION")]
        database_to: Option<String>,
        /// The config migration version to return to (overrides --to; without it and --to config files are left as they are)
        #[arg(long, value_name = "VERSION")]
        config_to: Option<String>,
    },
    /// Repair recorded state on purpose
    #[command(group(clap::ArgGroup::new("action").required(true).args(["mark_applied", "mark_rolled_back", "resume", "restamp", "adopt"])))]
    Resolve {
        /// The failed migration to mark (with --mark-applied / --mark-rolled-back)
        #[arg(value_name = "VERSION")]
        version: Option<String>,
        /// Record a failed migration as applied (you finished it by hand)
        #[arg(long, requires = "version")]
        mark_applied: bool,
        /// Record a failed migration as rolled back (you undid it by hand)
        #[arg(long, requires = "version")]
        mark_rolled_back: bool,
        /// Run a failed migration's fixed file from the statement that failed on, skipping the statements that took effect
        #[arg(long, requires = "version")]
        resume: bool,
        /// Accept the current file of an edited, applied migration
        /// (`db:VERSION` or `config:VERSION` when both kinds have VERSION)
        #[arg(long, value_name = "VERSION", conflicts_with = "version")]
        restamp: Option<String>,
        /// Accept a hand-edited config file as it stands (relative to the config root)
        #[arg(long, value_name = "FILE", conflicts_with = "version")]
        adopt: Option<String>,
    },
    /// Take over a database another tool migrated (or, with --baseline, one with no history): record what is in it as applied, running nothing
    Adopt {
        /// Record every migration up to VERSION as applied (a database with a schema but no history)
        #[arg(long, value_name = "VERSION")]
        baseline: Option<String>,
    },
    /// List the hosts recorded for contract gating, or retire one
    Hosts {
        /// Retire this host: contract no longer waits for it
        #[arg(long, value_name = "NAME")]
        retire: Option<String>,
    },
    /// Create a new, correctly numbered migration from a template
    New {
        /// Short name, e.g. add_email (`--phase contract` for a contract migration)
        slug: String,
        /// A YAML database migration (declarative operations) instead of SQL
        #[arg(long, conflicts_with = "config")]
        yaml: bool,
        /// A config migration that edits FILE (a path relative to the config
        /// root) instead of a database migration
        #[arg(long, value_name = "FILE")]
        config: Option<String>,
    },
    /// Print the man page (roff), or write lockstep.1 into --out-dir
    Man {
        /// Write lockstep.1 into this directory instead of printing it
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Print shell completions, or write them into --out-dir
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// Write the completion file (lockstep.bash, _lockstep, lockstep.fish, …) into this directory
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}
