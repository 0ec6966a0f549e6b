//! Runs migration scripts against a connected database and records them in
//! the history, so that the history never says more than happened:
//!
//! - transactional DDL (PostgreSQL, SQLite) with `transaction` on: the
//!   statements and the history row commit together, or nothing does;
//! - otherwise (MySQL, or `transaction=false`): the row is written as
//!   `running` first, then `applied` or `failed` with the failing statement,
//!   and a later run refuses until `lockstep resolve`.

use crate::db::bookkeeping::Bookkeeping;
use crate::db::connection::{scrub, Database};
use crate::db::dialect::Dialect;
use crate::db::failure_point::{self, FailurePoint};
use crate::db::history::{self, HistoryRow, LogEntry};
use crate::db::migration::Migration;
use crate::db::statements::{self, Statement};
use crate::vocabulary::now;
use crate::vocabulary::state;
use anyhow::Result;
use std::time::Instant;

/// Who is running, recorded with every row.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub host: String,
}

/// Which way a step moves a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// The statements of one step and the bookkeeping around them, in the order
/// `apply` runs them: also what `lockstep sql` prints.
pub struct StepSql {
    pub transactional: bool,
    pub statements: Vec<Statement>,
    /// 1-based line of the script in its file, for messages.
    pub script_line: usize,
    direction: Direction,
    /// Recorded as skipped: the migration has no SQL for this dialect.
    skipped: bool,
    dialect: Dialect,
    row: HistoryRow,
}

impl StepSql {
    /// The SQL that moves `m` in `direction` on `dialect`; `None` when the
    /// migration has no script for it (no `down`, say).
    pub fn new(
        m: &Migration,
        direction: Direction,
        dialect: Dialect,
        ctx: &RunContext,
    ) -> Option<StepSql> {
        let scripts = match direction {
            Direction::Up => &m.up,
            Direction::Down => &m.down,
        };
        let script = scripts.for_dialect(dialect)?;
        Some(StepSql {
            transactional: script.transaction && dialect.sql().transactional_ddl(),
            statements: statements::split(&script.sql, dialect),
            script_line: script.line,
            direction,
            skipped: false,
            dialect,
            row: Self::running_row(m, dialect, ctx),
        })
    }

    /// A migration with no `up` SQL for `dialect` (only other dialects'):
    /// nothing runs, and the history records it `skipped` on this database,
    /// so it is neither pending nor in the way of later migrations.
    pub fn skipped(m: &Migration, dialect: Dialect, ctx: &RunContext) -> StepSql {
        StepSql {
            transactional: dialect.sql().transactional_ddl(),
            statements: Vec::new(),
            script_line: 1,
            direction: Direction::Up,
            skipped: true,
            dialect,
            row: Self::running_row(m, dialect, ctx),
        }
    }

    /// The history row of `m` on `dialect`, state `running`, stamped now.
    pub fn running_row(m: &Migration, dialect: Dialect, ctx: &RunContext) -> HistoryRow {
        let at = now();
        HistoryRow {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            kind: "sql".to_owned(),
            phase: m.phase.as_str().to_owned(),
            state: state::RUNNING.to_owned(),
            checksum: m.checksum.to_string(),
            dialect: dialect.as_str().to_owned(),
            applied_at: at.clone(),
            updated_at: at,
            duration_ms: 0,
            host: ctx.host.clone(),
            lockstep_version: crate::VERSION.to_owned(),
            failed_statement: None,
            error: None,
            failure_point: None,
        }
    }

    fn final_state(&self) -> &'static str {
        match self.direction {
            Direction::Up if self.skipped => state::SKIPPED,
            Direction::Up => state::APPLIED,
            Direction::Down => state::ROLLED_BACK,
        }
    }

    fn log(&self, st: &str, detail: Option<&str>) -> Bookkeeping {
        history::insert_log(
            self.dialect,
            &LogEntry {
                at: &self.row.updated_at,
                version: &self.row.version,
                action: match self.direction {
                    Direction::Up if self.skipped => "skip",
                    Direction::Up => "apply",
                    Direction::Down => "rollback",
                },
                state: st,
                checksum: &self.row.checksum,
                host: &self.row.host,
                detail,
            },
        )
    }

    /// Written before the statements: the `running` row, when the
    /// statements cannot share a transaction with the history.
    pub fn before(&self) -> Vec<Bookkeeping> {
        if self.transactional {
            return Vec::new();
        }
        match self.direction {
            Direction::Up => vec![
                history::delete_row(self.dialect, &self.row.version),
                history::insert_row(self.dialect, &self.row),
            ],
            Direction::Down => vec![history::update_state(
                self.dialect,
                &self.row.version,
                state::RUNNING,
                &self.row.updated_at,
                0,
                None,
            )],
        }
    }

    /// Written after the statements succeeded.
    pub fn after(&self, duration_ms: i64) -> Vec<Bookkeeping> {
        let final_state = self.final_state();
        let record = if self.transactional && self.direction == Direction::Up {
            let row = HistoryRow {
                state: final_state.to_owned(),
                duration_ms,
                ..self.row.clone()
            };
            vec![
                history::delete_row(self.dialect, &self.row.version),
                history::insert_row(self.dialect, &row),
            ]
        } else {
            vec![history::update_state(
                self.dialect,
                &self.row.version,
                final_state,
                &self.row.updated_at,
                duration_ms,
                None,
            )]
        };
        let mut out = record;
        out.push(self.log(final_state, None));
        out
    }

    /// Written when a statement failed outside a transaction.
    fn failed(
        &self,
        statement: &str,
        error: &str,
        duration_ms: i64,
        point: &FailurePoint,
    ) -> Vec<Bookkeeping> {
        let at = now();
        let mut out = vec![
            history::update_state(
                self.dialect,
                &self.row.version,
                state::FAILED,
                &at,
                duration_ms,
                Some((statement, error)),
            ),
            self.log(state::FAILED, Some(error)),
        ];
        out.extend(failure_point::record(
            self.dialect,
            &self.row.version,
            point,
            &at,
        ));
        out
    }
}

/// A migration that did not finish.
#[derive(Debug)]
pub struct StepFailure {
    pub entry: Failure,
    /// Whether the step ran in a transaction that was rolled back, so
    /// nothing of it is left in the database.
    pub rolled_back: bool,
    /// How far a step outside a transaction got; `None` when it was
    /// rolled back or lockstep could not tell.
    pub point: Option<FailurePoint>,
}

impl StepFailure {
    pub fn message(&self) -> String {
        failure_message(&self.entry, self.point.as_ref(), self.rolled_back)
    }
}

/// A migration that failed: which one, the statement and its line in the
/// file, and the database's error (secrets scrubbed). The report shows it
/// as `database.failed_migration`.
#[derive(Debug, Clone)]
pub struct Failure {
    pub version: String,
    pub slug: String,
    pub path: String,
    pub statement: String,
    pub line: usize,
    pub error: String,
}

/// The one wording of a failed migration, for the run that failed and for
/// every later run and `status`, which read it back from the history.
pub fn failure_message(e: &Failure, point: Option<&FailurePoint>, rolled_back: bool) -> String {
    let next = if rolled_back {
        "nothing of it was kept; fix it and run lockstep again".to_owned()
    } else if let Some(p) = point {
        format!(
            "{}; fix the file, then run `lockstep resolve {v} --resume` to run it from the failed \
             statement on, or repair the database by hand and run `lockstep resolve {v} --mark-applied` \
             or `lockstep resolve {v} --mark-rolled-back`",
            p.describe(),
            v = e.version
        )
    } else {
        format!(
            "it may be partly applied; repair the database by hand, then run \
             `lockstep resolve {v} --mark-applied` or `lockstep resolve {v} --mark-rolled-back`",
            v = e.version
        )
    };
    let at = if e.line > 0 {
        format!(" at line {}", e.line)
    } else {
        String::new()
    };
    format!(
        "migration {} ({}) failed{at}: {}; statement: {}; {next}",
        e.version, e.path, e.error, e.statement
    )
}

/// Runs one step. On failure the database is as before (transactional) or
/// the row says `failed` with the statement (non-transactional).
pub async fn run_step(
    db: &mut Database,
    m: &Migration,
    sql: &StepSql,
    migrations_dir: &str,
) -> Result<u64, StepFailure> {
    run_step_from(db, m, sql, migrations_dir, 0).await
}

/// Runs a step's statements from `from` (0-based) on: `resolve --resume`
/// skips the statements a failed run left in the database.
pub async fn run_step_from(
    db: &mut Database,
    m: &Migration,
    sql: &StepSql,
    migrations_dir: &str,
    from: usize,
) -> Result<u64, StepFailure> {
    let started = Instant::now();
    let fail =
        |statement: &str, line: usize, error: String, point: Option<FailurePoint>| StepFailure {
            rolled_back: sql.transactional,
            point,
            entry: Failure {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                path: format!("{migrations_dir}/{}", m.path.display()),
                statement: statement.to_owned(),
                line,
                error,
            },
        };
    let bookkeeping_error = |db: &Database, e: sqlx::Error| {
        fail(
            "(lockstep history)",
            0,
            format!(
                "cannot record the migration in the history: {}",
                scrub(&e.to_string(), &db.target)
            ),
            None,
        )
    };

    if sql.transactional {
        db.begin().await.map_err(|e| bookkeeping_error(db, e))?;
    }
    for b in sql.before() {
        if let Err(e) = db.run(&b).await {
            if sql.transactional {
                db.rollback().await;
            }
            return Err(bookkeeping_error(db, e));
        }
    }
    for (i, stmt) in sql.statements.iter().enumerate().skip(from) {
        if let Err(e) = db.execute(&stmt.sql).await {
            let (message, line) = failure_point::locate(
                &scrub(&e.to_string(), &db.target),
                sql.script_line + stmt.line - 1,
            );
            let mut point = None;
            if sql.transactional {
                db.rollback().await;
            } else {
                let p = FailurePoint {
                    statements_done: i,
                    statements_total: sql.statements.len(),
                    line,
                    done_checksum: failure_point::done_checksum(&sql.statements[..i]),
                };
                // Best effort: if even this fails, the row stays `running`,
                // which the next run refuses just the same.
                let ms = started.elapsed().as_millis() as i64;
                let mut recorded = true;
                for b in sql.failed(&stmt.sql, &message, ms, &p) {
                    if let Err(e) = db.run(&b).await {
                        tracing::warn!("cannot record the failure of migration {}: {e}", m.version);
                        recorded = false;
                    }
                }
                point = recorded.then_some(p);
            }
            return Err(fail(&stmt.sql, line, message, point));
        }
    }
    let ms = started.elapsed().as_millis() as u64;
    for b in sql.after(ms as i64) {
        if let Err(e) = db.run(&b).await {
            if sql.transactional {
                db.rollback().await;
            }
            return Err(bookkeeping_error(db, e));
        }
    }
    if sql.transactional {
        db.commit().await.map_err(|e| bookkeeping_error(db, e))?;
    }
    Ok(ms)
}
