//! `sql`: the exact SQL `apply` would run, lockstep's own bookkeeping
//! included, for review or for a DBA to run by hand. With `--dialect` it
//! needs no database and shows every migration, as for an empty one.

use super::{connect_read_only, read_history, Ctx};
use crate::db::dialect::Dialect;
use crate::db::history;
use crate::db::online;
use crate::db::runner::{Direction, StepSql};
use crate::plan::database::{self as db_plan, PlanOptions};
use crate::report::payload::{Payload, SqlMigration, SqlPayload};
use crate::report::Report;
use anyhow::{anyhow, Result};

pub async fn run(ctx: &Ctx, dialect: Option<&str>) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    // Connected, YAML migrations compile against the live schema, exactly
    // as apply compiles them; offline, against what the YAML says.
    let mut connection = None;
    let (dialect, history) = match dialect {
        Some(name) => (
            Dialect::parse(name).ok_or_else(|| {
                anyhow!("unknown dialect `{name}`: expected postgres, mysql or sqlite")
            })?,
            Vec::new(),
        ),
        None => {
            let history = match connect_read_only(ctx).await? {
                Some(mut db) => {
                    let h = read_history(&mut db).await?;
                    connection = Some(db);
                    h
                }
                None => Vec::new(),
            };
            (ctx.target.dialect, history)
        }
    };
    let opts = PlanOptions {
        phase: ctx.settings.phase,
        target: None,
        allow_out_of_order: false,
    };
    let plan = db_plan::plan(&migrations, &history, &ctx.migrations_display(), &opts);
    let mut report = ctx.new_report();
    report.database.dialect = dialect.as_str().to_owned();
    report.drift = plan.drift.clone();
    report.warnings = plan.warnings.clone();
    report.problems = plan.problems.clone();
    if !report.problems.is_empty() {
        report.fail_with_problems();
        return Ok(report);
    }

    let run_ctx = ctx.run_context();
    let mut text = format!("-- lockstep {} for {dialect}\n", crate::VERSION);
    if !plan.steps.is_empty() {
        text.push_str("\n-- lockstep's history tables\n");
        for ddl in history::create_tables(dialect) {
            text.push_str(&ddl);
            text.push_str(";\n");
        }
    }
    let mut per_migration = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let m = step.migration;
        text.push_str(&format!(
            "\n-- {}_{} ({}) {}\n",
            m.version,
            m.slug,
            step.part,
            m.path.display()
        ));
        if m.online.is_some() {
            // After a step that has not run, the schema is read ahead of it.
            let read = match i {
                0 => online::Read::Now,
                _ => online::Read::Ahead,
            };
            let parts = super::part_sql::part_sql(connection.as_mut(), m, dialect, read)
                .await
                .map_err(|e| {
                    anyhow!(
                        "migration {} ({}): {}",
                        m.version,
                        m.path.display(),
                        crate::error::chain(&e)
                    )
                })?;
            let statements = parts.part(step.part);
            for s in statements {
                text.push_str(s);
                text.push_str(";\n");
            }
            per_migration.push(SqlMigration {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                part: step.part.as_str().to_owned(),
                transaction: false,
                statements: statements.to_vec(),
            });
            continue;
        }
        let Some(sql) = StepSql::new(m, Direction::Up, dialect, &run_ctx) else {
            text.push_str(&format!("-- no up SQL for {dialect}: skipped\n"));
            continue;
        };
        let mut statements = Vec::new();
        if sql.transactional {
            statements.push(dialect.sql().begin().to_owned());
        }
        statements.extend(sql.before().iter().map(|b| b.render(dialect)));
        statements.extend(sql.statements.iter().map(|s| s.sql.clone()));
        statements.extend(sql.after(0).iter().map(|b| b.render(dialect)));
        if sql.transactional {
            statements.push("COMMIT".to_owned());
        }
        for s in &statements {
            text.push_str(s);
            text.push_str(";\n");
        }
        per_migration.push(SqlMigration {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            part: step.part.as_str().to_owned(),
            transaction: sql.transactional,
            statements,
        });
    }
    report.msg = format!(
        "{} migration{} to apply on {dialect}",
        plan.steps.len(),
        crate::report::plural(plan.steps.len())
    );
    if let Some(db) = connection {
        db.close().await;
    }
    report.payload = Payload::Sql(SqlPayload {
        sql: text,
        migrations: per_migration,
    });
    Ok(report)
}
