//! lockstep: takes an application from release N to N+1 on one host, its
//! database schema and its INI config files, and reports like an Ansible
//! module. This file only wires the layers: parse → load → plan → apply →
//! report.

use clap::Parser;
use lockstep::cli;
use lockstep::cli::args::{Cli, Command, Format};
use lockstep::cli::settings::Settings;
use lockstep::commands::resolve::Resolution;
use lockstep::commands::{self, Ctx};
use lockstep::report::{self, Report};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::ansible::from_args_file(&argv) {
        Some(Ok(cli)) => cli,
        Some(Err(e)) => {
            let mut report = Report::new("all", false);
            report.fail(e.to_string());
            let _ = writeln!(std::io::stdout(), "{}", report.to_json());
            return ExitCode::from(1);
        }
        None => Cli::parse(),
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    // Packaging assets: printed as they are, no settings, no report.
    match &cli.command {
        Command::Man { out_dir } => return print_asset(out_dir.as_deref(), None),
        Command::Completions { shell, out_dir } => {
            return print_asset(out_dir.as_deref(), Some(*shell))
        }
        _ => {}
    }
    let quiet = cli.global.quiet;
    let settings = match Settings::resolve(&cli.global) {
        Ok(s) => s,
        Err(e) => {
            let format = cli.global.format.unwrap_or(Format::Human);
            let mut report = Report::new("all", cli.global.check);
            report.fail(format!("{e:#}"));
            return print(&report, format, false, quiet);
        }
    };
    tracing::info!(
        settings_file = %settings.settings_file.as_ref().map_or("none".to_owned(), |p| p.display().to_string()),
        state_dir = %settings.state_dir.display(),
        "settings resolved"
    );
    lockstep::redact::remember_url(&settings.database_url);
    for secret in settings.secret_values() {
        lockstep::redact::remember(secret);
    }
    let format = settings.format;
    let detailed = matches!(
        cli.command,
        Command::Plan {
            detailed_exitcode: true,
            ..
        }
    );

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let mut report = Report::new("all", settings.check);
            report.fail(format!("cannot start the async runtime: {e}"));
            return print(&report, format, false, quiet);
        }
    };
    let report = runtime.block_on(run(cli.command, settings));
    print(&report, format, detailed, quiet)
}

async fn run(command: Command, mut settings: Settings) -> Report {
    if let Command::Plan { .. } = command {
        settings.check = true;
        settings.diff = true;
    }
    let phase = settings.phase.as_str();
    let check = settings.check;
    let ctx = match Ctx::new(settings) {
        Ok(ctx) => ctx,
        Err(e) => {
            let mut report = Report::new(phase, check);
            report.fail(format!("{e:#}"));
            return report;
        }
    };
    let result = match &command {
        Command::Apply(args) => commands::apply::run(&ctx, args).await,
        Command::Plan { plan, .. } => commands::apply::run(&ctx, &plan.as_apply()).await,
        Command::Backfill(batches) => commands::backfill::run(&ctx, batches).await,
        Command::Lint => commands::lint::run(&ctx),
        Command::Status => commands::status::status(&ctx).await,
        Command::Verify => commands::status::verify(&ctx).await,
        Command::Sql { dialect } => commands::sql::run(&ctx, dialect.as_deref()).await,
        Command::Rollback {
            to,
            database_to,
            config_to,
        } => {
            let targets = commands::rollback::Targets {
                database: database_to.clone().or_else(|| to.clone()),
                config: config_to.clone().or_else(|| to.clone()),
            };
            commands::rollback::run(&ctx, &targets).await
        }
        Command::Resolve {
            version,
            mark_applied,
            mark_rolled_back: _,
            resume,
            restamp,
            adopt,
        } => {
            let resolution = match (adopt, restamp, version) {
                (Some(file), _, _) => Resolution::Adopt(file.clone()),
                (None, Some(v), _) => Resolution::Restamp(v.clone()),
                (None, None, Some(v)) if *resume => Resolution::Resume(v.clone()),
                (None, None, Some(v)) if *mark_applied => Resolution::MarkApplied(v.clone()),
                (None, None, Some(v)) => Resolution::MarkRolledBack(v.clone()),
                (None, None, None) => unreachable_usage(),
            };
            commands::resolve::run(&ctx, resolution).await
        }
        Command::Adopt { baseline } => commands::adopt::run(&ctx, baseline.as_deref()).await,
        Command::Hosts { retire } => commands::hosts::run(&ctx, retire.as_deref()).await,
        Command::New { slug, yaml, config } => {
            let kind = match (config, yaml) {
                (Some(file), _) => commands::new::Template::Config(file.clone()),
                (None, true) => commands::new::Template::Yaml,
                (None, false) => commands::new::Template::Sql,
            };
            commands::new::run(&ctx, slug, &kind)
        }
        Command::Man { .. } | Command::Completions { .. } => {
            unreachable!("printed before settings are resolved")
        }
    };
    result.unwrap_or_else(|e| {
        let mut report = ctx.new_report();
        report.fail(format!("{e:#}"));
        report
    })
}

/// clap's argument groups make this combination impossible; exit as for
/// any other usage error should that ever change.
fn unreachable_usage() -> ! {
    eprintln!("error: resolve needs VERSION --mark-applied, VERSION --mark-rolled-back, --restamp VERSION or --adopt FILE");
    std::process::exit(2)
}

/// `man` and `completions`: print to stdout, or write into `out_dir`
/// (naming the file written on stderr).
fn print_asset(out_dir: Option<&std::path::Path>, shell: Option<clap_complete::Shell>) -> ExitCode {
    use lockstep::cli::assets;
    let result = match (out_dir, shell) {
        (Some(dir), None) => assets::write_man(dir).map(Some),
        (Some(dir), Some(shell)) => assets::write_completions(shell, dir).map(Some),
        (None, None) => assets::man_page().map(|page| {
            let _ = std::io::stdout().write_all(&page);
            None
        }),
        (None, Some(shell)) => {
            let _ = std::io::stdout().write_all(&assets::completions(shell));
            Ok(None)
        }
    };
    match result {
        Ok(Some(path)) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}; check that the directory is writable");
            ExitCode::from(1)
        }
    }
}

fn print(report: &Report, format: Format, detailed_exitcode: bool, quiet: bool) -> ExitCode {
    // The run's secrets (URL passwords, secret config values) and the
    // report's own, masked in whatever is printed.
    let mut redactor = lockstep::redact::run_redactor();
    for secret in &report.secrets {
        redactor.add(secret);
    }
    match format {
        // A closed stdout (`| head`) is not worth a panic.
        Format::Json => {
            let _ = writeln!(std::io::stdout(), "{}", redactor.scrub(&report.to_json()));
        }
        // A failure goes to stderr, coloured only when stderr is a terminal;
        // --quiet prints the error alone, and nothing on success.
        Format::Human => {
            let render = if quiet {
                report::human::render_quiet
            } else {
                report::human::render
            };
            let _ = if report.failed {
                let stderr = std::io::stderr();
                let text = render(report, report::human::use_colour(&stderr));
                write!(&stderr, "{}", redactor.scrub(&text))
            } else {
                let stdout = std::io::stdout();
                let text = render(report, report::human::use_colour(&stdout));
                write!(&stdout, "{}", redactor.scrub(&text))
            };
        }
    }
    match (report.failed, detailed_exitcode, report.changed) {
        (true, _, _) => ExitCode::from(1),
        (false, true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    }
}

/// Logs go to stderr: warnings by default, errors only with `--quiet`,
/// more with each `-v`; `LOCKSTEP_LOG` (an env-filter) overrides both.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,lockstep=info",
        (false, 2) => "info,lockstep=debug",
        _ => "debug,lockstep=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOCKSTEP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(lockstep::redact::ScrubbedStderr)
        .with_ansi(report::human::use_colour(&std::io::stderr()))
        .without_time()
        .try_init();
}
