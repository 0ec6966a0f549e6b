//! `resolve`: repair recorded state on purpose. Mark a failed or
//! interrupted migration applied or rolled back after fixing the database by
//! hand, re-stamp an applied (database or config) migration whose edit is
//! intended, or adopt a hand-edited config file as it stands.

use super::{connect_locked, read_history, Ctx};
use crate::checksum::Checksum;
use crate::config::ini::Syntax;
use crate::config::secrecy::Secrecy;
use crate::config::state::{FileRecord, State, StateLock};
use crate::db::history::{self, LogEntry};
use crate::report::Report;
use crate::vocabulary::state;
use crate::vocabulary::{now, Side, Version};
use anyhow::{anyhow, bail, Result};

pub enum Resolution {
    MarkApplied(String),
    MarkRolledBack(String),
    Resume(String),
    Restamp(String),
    Adopt(String),
}

pub async fn run(ctx: &Ctx, resolution: Resolution) -> Result<Report> {
    let mut report = ctx.new_report();
    let mut resolution = resolution;
    match &resolution {
        Resolution::Adopt(file) => {
            adopt(ctx, file, &mut report)?;
            return Ok(report);
        }
        Resolution::Restamp(text) => match restamp_side(ctx, text)? {
            (Side::Config, version) => {
                restamp_config(ctx, &version, &mut report)?;
                return Ok(report);
            }
            (Side::Database, version) => resolution = Resolution::Restamp(version),
        },
        _ => {}
    }
    if ctx.settings.check {
        bail!("resolve changes the database's history on purpose and has no check mode; run it without --check");
    }
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = async {
        let history = read_history(&mut db).await?;
        let dialect = db.dialect();
        let version_text = match &resolution {
            Resolution::MarkApplied(v)
            | Resolution::MarkRolledBack(v)
            | Resolution::Resume(v)
            | Resolution::Restamp(v)
            | Resolution::Adopt(v) => v,
        };
        let version = Version::parse(version_text)
            .ok_or_else(|| anyhow!("`{version_text}` is not a migration version"))?;
        let row = history
            .iter()
            .find(|r| Version::parse(&r.version).as_ref() == Some(&version))
            .ok_or_else(|| anyhow!("migration {version} has no history row: nothing to resolve"))?;
        if matches!(resolution, Resolution::Resume(_)) {
            return super::resume::resume(ctx, &mut db, &version, row, &mut report).await;
        }
        let at = now();
        let (action, new_state, checksum, msg) = match &resolution {
            Resolution::MarkApplied(_) | Resolution::MarkRolledBack(_) => {
                if row.state != state::FAILED && row.state != state::RUNNING {
                    bail!(
                        "migration {version} is {}, not failed: only a failed or interrupted migration can be marked",
                        row.state
                    );
                }
                let applied = matches!(resolution, Resolution::MarkApplied(_));
                let (new_state, verb) = if applied {
                    (state::APPLIED, "applied")
                } else {
                    (state::ROLLED_BACK, "rolled back")
                };
                let new_state = if row.kind == "yaml" {
                    yaml_resolution(&mut db, &row.version, applied).await?
                } else {
                    new_state
                };
                let mut msg = if row.kind == "yaml" {
                    format!("marked migration {version} as {verb} ({new_state})")
                } else {
                    format!("marked migration {version} as {verb}")
                };
                // Marked applied, the migration is what its file says now:
                // the file was fixed to match what the database holds, so
                // its checksum is the one to verify against from here on.
                let mut checksum = row.checksum.clone();
                if applied {
                    let migrations = ctx.load_migrations()?;
                    match migrations.iter().find(|m| m.version == version) {
                        Some(m) if m.checksum.as_str() != row.checksum => {
                            msg.push_str(&format!(
                                "; recorded the checksum of its current file {} (was {})",
                                m.checksum, row.checksum
                            ));
                            checksum = m.checksum.to_string();
                        }
                        Some(m) => msg.push_str(&format!("; its file is unchanged ({})", m.checksum)),
                        None => msg.push_str(&format!(
                            "; it has no file in {}, so the recorded checksum {} stays",
                            ctx.migrations_display(),
                            row.checksum
                        )),
                    }
                }
                ("resolve", new_state, checksum, msg)
            }
            Resolution::Resume(_) => unreachable!("resume returned above"),
            Resolution::Adopt(_) => unreachable!("adopt is handled before the database is opened"),
            Resolution::Restamp(_) => {
                if !state::is_applied(&row.state) {
                    bail!("migration {version} is {}, not applied: only an applied migration can be re-stamped", row.state);
                }
                let migrations = ctx.load_migrations()?;
                let m = migrations.iter().find(|m| m.version == version).ok_or_else(|| {
                    anyhow!("migration {version} has no file in {}: nothing to re-stamp", ctx.migrations_display())
                })?;
                if m.checksum.as_str() == row.checksum {
                    report.msg = format!("migration {version} already matches its file: nothing to re-stamp");
                    return Ok(());
                }
                (
                    "restamp",
                    row.state.as_str(),
                    m.checksum.to_string(),
                    format!("re-stamped migration {version}: {} -> {}", row.checksum, m.checksum),
                )
            }
        };
        let mut statements = vec![history::update_checksum(dialect, &row.version, &checksum, &at)];
        if action == "resolve" {
            statements.push(crate::db::failure_point::forget(dialect, &row.version));
        }
        if new_state != row.state {
            statements.push(history::update_state(dialect, &row.version, new_state, &at, row.duration_ms, None));
        }
        statements.push(history::insert_log(
            dialect,
            &LogEntry {
                at: &at,
                version: &row.version,
                action,
                state: new_state,
                checksum: &checksum,
                host: &ctx.settings.host_id,
                detail: Some(&msg),
            },
        ));
        db.begin().await?;
        for s in &statements {
            if let Err(e) = db.run(s).await {
                db.rollback().await;
                return Err(e.into());
            }
        }
        db.commit().await?;
        report.changed = true;
        report.msg = msg;
        Ok(())
    }
    .await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}

/// The state that settles an interrupted YAML migration. It runs in parts
/// and the log says which one stopped: marked applied, an expand becomes
/// `expanded` (apply then backfills and contracts) and a contract
/// `contracted`; marked rolled back, an expand becomes `rolled_back` and a
/// contract `backfilled` (apply contracts again). Plain `applied` would
/// skip the contract of an expand for good.
async fn yaml_resolution(
    db: &mut crate::db::connection::Database,
    version: &str,
    applied: bool,
) -> Result<&'static str> {
    use sqlx::Row;
    let rows = db
        .fetch_all_bound(
            &history::select_last_action(db.dialect()),
            &[crate::db::bookkeeping::Value::Text(version.to_owned())],
        )
        .await?;
    let part: Option<String> = rows.first().map(|r| r.try_get(0)).transpose()?;
    let contract = part.as_deref() == Some("contract");
    Ok(match (contract, applied) {
        (false, true) => state::EXPANDED,
        (true, true) => state::CONTRACTED,
        (false, false) => state::ROLLED_BACK,
        (true, false) => state::BACKFILLED,
    })
}

/// Accepts a config file as it stands: its sha256 and snapshot become the
/// reference that drift is measured against.
fn adopt(ctx: &Ctx, file: &str, report: &mut Report) -> Result<()> {
    let path = crate::config::path::resolve(&ctx.settings.config_root, file)?;
    let cannot = |e: &dyn std::fmt::Display| {
        anyhow!("cannot read {file} ({}): {e}", path.full_path().display())
    };
    let bytes = path
        .read()
        .map_err(|e| cannot(&e))?
        .ok_or_else(|| cannot(&"it does not exist"))?;
    let text = String::from_utf8(bytes).map_err(|e| cannot(&e))?;
    let _lock = StateLock::acquire(&ctx.settings.state_dir, ctx.settings.lock_timeout)?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    let sha = Checksum::of_bytes(text.as_bytes()).to_string();
    let secrecy = state.files.get(file).map_or_else(
        || Secrecy::new(&[], &[], &ctx.settings.secret_names),
        |r| r.secrecy(&ctx.settings.secret_names),
    );
    if state
        .files
        .get(file)
        .is_some_and(|r| r.sha256 == sha && r.pending.is_none())
    {
        report.msg = format!("{file} already matches what lockstep recorded: nothing to adopt");
        return Ok(());
    }
    report.changed = true;
    report.msg = format!("adopted {file} as it stands ({sha})");
    if ctx.settings.check {
        report.msg = format!("would adopt {file} as it stands ({sha})");
        return Ok(());
    }
    let syntax = Syntax::for_path(std::path::Path::new(file));
    state
        .files
        .insert(file.to_owned(), FileRecord::of(&text, &secrecy, syntax));
    state.save(&ctx.settings.state_dir)
}

/// `db:V`, `config:V`, or a bare `V` when only one side has a migration V.
fn restamp_side(ctx: &Ctx, text: &str) -> Result<(Side, String)> {
    let (side, version) = match text.split_once(':') {
        Some(("db" | "database", v)) => (Some(Side::Database), v),
        Some(("config", v)) => (Some(Side::Config), v),
        Some((prefix, _)) => bail!(
            "--restamp {text}: unknown prefix `{prefix}:`; use db:VERSION for a database migration \
             or config:VERSION for a config migration"
        ),
        None => (None, text),
    };
    let wanted = Version::parse(version)
        .ok_or_else(|| anyhow!("--restamp {text}: `{version}` is not a migration version"))?;
    if let Some(side) = side {
        return Ok((side, version.to_owned()));
    }
    let config = ctx
        .load_config_migrations()?
        .iter()
        .any(|m| m.version == wanted);
    if !config {
        return Ok((Side::Database, version.to_owned()));
    }
    if ctx.load_migrations()?.iter().any(|m| m.version == wanted) {
        bail!(
            "--restamp {version} is ambiguous: both a database migration and a config migration \
             have version {version}; run `lockstep resolve --restamp {}` or `lockstep resolve \
             --restamp {}`",
            Side::Database.restamp_arg(version),
            Side::Config.restamp_arg(version)
        );
    }
    Ok((Side::Config, version.to_owned()))
}

/// Re-stamps an applied config migration.
fn restamp_config(ctx: &Ctx, version: &str, report: &mut Report) -> Result<()> {
    let wanted =
        Version::parse(version).ok_or_else(|| anyhow!("`{version}` is not a migration version"))?;
    let migrations = ctx.load_config_migrations()?;
    let m = migrations
        .iter()
        .find(|m| m.version == wanted)
        .ok_or_else(|| {
            anyhow!(
                "config migration {version} has no file in {}: nothing to re-stamp",
                ctx.settings.config_migrations.display()
            )
        })?;
    let _lock = StateLock::acquire(&ctx.settings.state_dir, ctx.settings.lock_timeout)?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    let Some(applied) = state.migrations.get_mut(m.version.as_str()) else {
        bail!("config migration {version} is not applied: nothing to re-stamp");
    };
    if applied.checksum == m.checksum.as_str() {
        report.msg =
            format!("config migration {version} already matches its file: nothing to re-stamp");
        return Ok(());
    }
    report.changed = true;
    report.msg = format!(
        "re-stamped config migration {version}: {} -> {}",
        applied.checksum, m.checksum
    );
    if !ctx.settings.check {
        applied.checksum = m.checksum.to_string();
        state.save(&ctx.settings.state_dir)?;
    }
    Ok(())
}
