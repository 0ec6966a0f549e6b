//! What a rollback undoes, named: each database migration with the `down`
//! SQL it runs (for a YAML migration, the undo of its expand), and each
//! config migration with the values it puts back. In the result as
//! `rollback[]`, and with `--diff` as the SQL and each file's diff, so that
//! `rollback --check --diff` is a review of exactly what will happen.

use super::part_sql::ShowError;
use super::Ctx;
use crate::config::edit;
use crate::config::ini::Document;
use crate::config::state::AppliedConfigMigration;
use crate::db::connection::Database;
use crate::db::migration::Migration;
use crate::db::online;
use crate::report::payload::RollbackEntry;
use crate::report::{DiffEntry, Report};

/// One config file's restore, as the preview shows it.
pub struct FileRollback<'a> {
    pub file: &'a str,
    pub before: &'a str,
    pub after: &'a str,
    pub secrecy: &'a crate::config::secrecy::Secrecy,
    pub migrations: Vec<&'a AppliedConfigMigration>,
}

pub async fn describe(
    ctx: &Ctx,
    mut db: Option<&mut Database>,
    steps: &[&Migration],
    files: &[FileRollback<'_>],
    report: &mut Report,
) {
    let mut entries = Vec::new();
    let mut sql = String::new();
    for m in steps {
        let down = down_sql(ctx, db.as_deref_mut(), m).await;
        sql.push_str(&format!("-- {}_{} (down)\n", m.version, m.slug));
        match &down {
            Ok(statements) => {
                for s in statements {
                    sql.push_str(s);
                    sql.push_str(";\n");
                }
            }
            Err(e) => sql.push_str(&format!("-- cannot show it: {}\n", crate::error::chain(e))),
        }
        entries.push(RollbackEntry::Database {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            path: format!("{}/{}", ctx.migrations_display(), m.path.display()),
            down: down.unwrap_or_default(),
        });
    }
    for f in files {
        for a in &f.migrations {
            entries.push(RollbackEntry::Config {
                version: a.version.clone(),
                slug: a.slug.clone(),
                file: f.file.to_owned(),
                restores: restored_values(a),
            });
        }
    }
    report.payload.rollback().rollback = Some(entries);
    if !ctx.settings.diff {
        return;
    }
    if !steps.is_empty() {
        report.diff.push(DiffEntry {
            before_header: "database".to_owned(),
            after_header: format!("database ({})", ctx.target.display),
            before: None,
            after: None,
            prepared: Some(sql),
        });
    }
    for f in files.iter().filter(|f| f.before != f.after) {
        let mask = |text: &str| {
            edit::masked(&Document::parse(text), f.secrecy, |_| "********".to_owned()).to_string()
        };
        report.diff.push(DiffEntry {
            before_header: f.file.to_owned(),
            after_header: f.file.to_owned(),
            before: Some(mask(f.before)),
            after: Some(mask(f.after)),
            prepared: None,
        });
    }
}

/// The statements that undo `m`: its `down` SQL, or for a YAML migration
/// the undo of its expand, compiled as rollback compiles it.
async fn down_sql(
    ctx: &Ctx,
    db: Option<&mut Database>,
    m: &Migration,
) -> Result<Vec<String>, ShowError> {
    let dialect = ctx.target.dialect;
    if let Some(yaml) = &m.online {
        let compiled = match db {
            Some(db) => crate::db::online::live::compile_live(db, m, crate::db::online::Read::Now)
                .await
                .map_err(ShowError::live)?,
            None => online::compile(yaml, m.version.as_str(), dialect, &Default::default())?,
        };
        return Ok(compiled.undo.iter().map(|d| d.sql.clone()).collect());
    }
    let script = m
        .down
        .for_dialect(dialect)
        .ok_or(ShowError::NoDown { dialect })?;
    Ok(crate::db::statements::split(&script.sql, dialect)
        .into_iter()
        .map(|s| s.sql)
        .collect())
}

/// What a config migration's rollback puts back, one line per key:
/// `server.workers = 4`, `cache.backend removed (it was not there)`.
fn restored_values(a: &AppliedConfigMigration) -> Vec<String> {
    a.prior
        .iter()
        .map(|p| {
            let name = crate::config::secrecy::key_name(p.section.as_deref(), &p.key);
            match p.values.first() {
                None => format!("{name} removed (it was not there)"),
                Some(_) if p.secret => format!("{name} = ******** (secret)"),
                Some(Some(v)) => format!("{name} = {v}"),
                Some(None) => format!("{name} (a key without a value)"),
            }
        })
        .collect()
}
