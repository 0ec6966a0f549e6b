//! The statements of each part of a YAML migration, as `sql` prints them and
//! `plan` shows them: expand, the backfill with the rows it will rewrite,
//! then the sanity check and contract. One function for both, so the review
//! command and the SQL listing never disagree. Compiled against the live
//! schema when there is a database, offline (as for an empty one) when not.

use crate::db::connection::Database;
use crate::db::dialect::Dialect;
use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::db::online::compile::{CompileError, Read};
use crate::db::online::{self, Compiled};
use crate::vocabulary::state;
use crate::vocabulary::Phase;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why the SQL of a migration cannot be shown (a YAML migration's parts,
/// or the statements that undo a migration). Print it with
/// [`crate::error::chain`]: the causes are its `source()`. Cloned to every
/// pending migration when the connection fails, so the cause is shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ShowError {
    #[error("migration {version} is not a YAML migration")]
    NotYaml { version: String },
    /// No read-only connection to compile against.
    #[error(transparent)]
    Connect(Arc<dyn std::error::Error + Send + Sync>),
    /// Compiled against the live schema.
    #[error(transparent)]
    Live(Arc<dyn std::error::Error + Send + Sync>),
    /// Compiled offline.
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("no `-- lockstep:down` section for {dialect}")]
    NoDown { dialect: Dialect },
}

/// `e` with its chain of causes, shareable.
fn shared(e: anyhow::Error) -> Arc<dyn std::error::Error + Send + Sync> {
    Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(e))
}

impl ShowError {
    /// A compile against the live schema that failed.
    pub fn live(e: anyhow::Error) -> ShowError {
        ShowError::Live(shared(e))
    }
}

/// A YAML migration's statements, per part.
#[derive(Debug, Clone, Default)]
pub struct PartSql {
    pub expand: Vec<String>,
    pub contract: Vec<String>,
    /// For a backfilled migration: what its sanity check finds wrong now,
    /// which refuses its contract (empty when it passes or was not run).
    pub sanity_wrong: Vec<String>,
}

impl PartSql {
    pub fn part(&self, part: Phase) -> &[String] {
        match part {
            Phase::Expand => &self.expand,
            Phase::Contract => &self.contract,
        }
    }
}

/// Compiles `m` (a YAML migration) and lays out its parts' statements.
/// `read` says when the schema is read: `Now` for the next migration to
/// run, `Ahead` for one after others that have not run.
pub async fn part_sql(
    db: Option<&mut Database>,
    m: &Migration,
    dialect: Dialect,
    read: Read,
) -> Result<PartSql, ShowError> {
    let online = m.online.as_ref().ok_or_else(|| ShowError::NotYaml {
        version: m.version.to_string(),
    })?;
    let (compiled, rows) = match db {
        Some(db) => {
            let compiled = crate::db::online::live::compile_live(db, m, read)
                .await
                .map_err(ShowError::live)?;
            let mut rows = BTreeMap::new();
            for b in &compiled.backfills {
                if let Some(n) = row_count(db, &b.table).await {
                    rows.insert(b.table.clone(), n);
                }
            }
            (compiled, rows)
        }
        None => (
            online::compile(online, m.version.as_str(), dialect, &Default::default())?,
            BTreeMap::new(),
        ),
    };
    Ok(PartSql {
        expand: statements(&compiled, Phase::Expand, dialect, &rows),
        contract: statements(&compiled, Phase::Contract, dialect, &rows),
        sanity_wrong: Vec::new(),
    })
}

/// The rows a backfill of `table` walks: all of them, counted now.
async fn row_count(db: &mut Database, table: &str) -> Option<i64> {
    let d = db.dialect();
    let sql = format!(
        "SELECT {} FROM {}",
        d.sql().as_bigint("COUNT(*)"),
        d.sql().ident(table)
    );
    let rows = db.fetch_all(&sql).await.ok()?;
    rows.first()?.try_get::<i64, _>(0).ok()
}

/// The SQL of one part, with its backfill and sanity check shown as the
/// statements they run.
fn statements(
    c: &Compiled,
    part: Phase,
    dialect: Dialect,
    rows: &BTreeMap<String, i64>,
) -> Vec<String> {
    let mut out = Vec::new();
    match part {
        Phase::Expand => {
            out.extend(c.expand.iter().map(|d| d.sql.clone()));
            let g = dialect.sql();
            for b in &c.backfills {
                let key = b
                    .key
                    .as_deref()
                    .map_or("<integer primary key>".to_owned(), |k| g.q(k));
                let estimate = rows.get(&b.table).map_or(String::new(), |n| {
                    format!(
                        " of about {n} row{} (the table's rows now)",
                        crate::report::plural(*n as usize)
                    )
                });
                out.push(format!(
                    "-- backfill{estimate}, batch after batch, each in its own transaction:\n\
                     UPDATE {} SET {} = ({}) WHERE {k} > :last_key AND {k} <= :batch_upper_key AND {}",
                    g.q(&b.table),
                    g.q(&b.column),
                    b.expr,
                    b.pending,
                    k = key
                ));
            }
        }
        Phase::Contract => {
            out.extend(
                c.checks
                    .iter()
                    .map(|s| format!("-- sanity check (must be 0):\n{}", s.count_sql)),
            );
            out.extend(c.contract.iter().map(|d| d.sql.clone()));
        }
    }
    out
}

/// The parts of the YAML migrations that still have a part to run, by
/// version, for `plan` to show and for refusing one that cannot compile
/// before anything runs: compiled on a read-only connection, or offline when
/// there is no database yet. Nothing to compile (the usual no-op run) opens
/// no connection.
pub async fn for_review(
    ctx: &super::Ctx,
    migrations: &[Migration],
    history: &[HistoryRow],
    force: bool,
) -> BTreeMap<String, Result<PartSql, ShowError>> {
    let mut out = BTreeMap::new();
    // The usual no-op run has many migrations, all in the history: one
    // lookup each, never a scan of the history per migration.
    let states: HashMap<&str, &str> = history
        .iter()
        .map(|r| (r.version.as_str(), r.state.as_str()))
        .collect();
    let state_of = |m: &Migration| states.get(m.version.as_str()).copied();
    let pending: Vec<(usize, &Migration)> = migrations
        .iter()
        .enumerate()
        .filter(|(_, m)| m.online.is_some())
        .filter(|(_, m)| state_of(m) != Some(state::CONTRACTED))
        .collect();
    if pending.is_empty() {
        return out;
    }
    // A migration after one that has not run reads the schema ahead of it.
    let first_to_run = migrations
        .iter()
        .position(|m| state_of(m).is_none_or(|s| !state::is_applied(s) && s != state::SKIPPED))
        .unwrap_or(migrations.len());
    let mut db = match super::connect_read_only(ctx).await {
        Ok(db) => db,
        Err(e) => {
            let e = ShowError::Connect(shared(e));
            for (_, m) in pending {
                out.insert(m.version.to_string(), Err(e.clone()));
            }
            return out;
        }
    };
    for (i, m) in pending {
        let read = match i <= first_to_run {
            true => Read::Now,
            false => Read::Ahead,
        };
        let mut parts = part_sql(db.as_mut(), m, ctx.target.dialect, read).await;
        // A backfilled migration's contract runs the sanity check first:
        // run it now (it only counts rows) so plan refuses as apply will.
        let backfilled = history
            .iter()
            .any(|r| r.version == m.version.as_str() && r.state == state::BACKFILLED);
        if let (Ok(p), Some(db), true) = (&mut parts, db.as_mut(), backfilled && !force) {
            if let Ok(compiled) = crate::db::online::live::compile_live(db, m, Read::Now).await {
                p.sanity_wrong = online::runner::sanity(db, &compiled)
                    .await
                    .unwrap_or_default();
            }
        }
        out.insert(m.version.to_string(), parts);
    }
    if let Some(db) = db {
        db.close().await;
    }
    out
}

/// A YAML step that cannot compile is refused before anything runs, as
/// apply would refuse it when it got there; unless a step before it
/// changes the schema it compiles against, in which case apply decides.
pub fn refusals(
    ctx: &super::Ctx,
    steps: &[crate::plan::database::Step<'_>],
    parts: &BTreeMap<String, Result<PartSql, ShowError>>,
) -> Vec<crate::report::Problem> {
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let m = step.migration;
        if let (Phase::Contract, Some(Ok(p))) = (step.part, parts.get(m.version.as_str())) {
            if !p.sanity_wrong.is_empty() {
                out.push(crate::report::Problem::new(
                    "sanity_check",
                    sanity_refusal(m.version.as_str(), &p.sanity_wrong),
                ));
            }
        }
        if i > 0 || m.online.is_none() {
            continue;
        }
        if let Some(Err(e)) = parts.get(m.version.as_str()) {
            out.push(crate::report::Problem::new(
                "migration_invalid",
                format!(
                    "migration {} ({}/{}): {}",
                    m.version,
                    ctx.migrations_display(),
                    m.path.display(),
                    crate::error::chain(e)
                ),
            ));
        }
    }
    out
}

/// The refusal of a contract whose sanity check found rows that differ.
pub fn sanity_refusal(version: &str, wrong: &[String]) -> String {
    // Each finding names its rows and the command that resolves it.
    format!(
        "contract of migration {version} refused by its sanity check: {}",
        wrong.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_shared_cause_prints_as_anyhow_alternate() {
        let make = || {
            Err::<(), _>(std::io::Error::other("refused"))
                .context("cannot connect")
                .context("read-only connection")
                .unwrap_err()
        };
        let expected = format!("{:#}", make());
        assert_eq!(expected, "read-only connection: cannot connect: refused");
        assert_eq!(crate::error::chain(&ShowError::live(make())), expected);
        assert_eq!(
            crate::error::chain(&ShowError::Connect(shared(anyhow::anyhow!("plain")))),
            "plain"
        );
    }
}
