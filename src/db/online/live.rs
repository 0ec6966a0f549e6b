//! An online migration compiled against the live database: the tables it
//! touches, read from the catalog, with what its expand recorded of the
//! columns it relaxed.

use super::capture;
use super::compile::{compile, Compiled, Read, Schema};
use super::introspect;
use super::operation::{OnlineMigration, Operation};
use crate::db::connection::Database;
use crate::db::migration::Migration;
use anyhow::{anyhow, Result};

/// Introspects the tables a YAML migration touches and compiles it; `read`
/// says whether it runs next ([`Read::Now`]: a table it names that is not
/// there does not exist) or after other pending migrations.
pub async fn compile_live(db: &mut Database, m: &Migration, read: Read) -> Result<Compiled> {
    let Some(online) = &m.online else {
        return Err(anyhow!("migration {} is not a YAML migration", m.version));
    };
    let schema = schema(db, online, m.version.as_str(), read).await?;
    let compiled = compile(online, m.version.as_str(), db.dialect(), &schema)?;
    for b in &compiled.backfills {
        if b.key.is_none() {
            let why = schema
                .tables
                .get(&b.table)
                .map_or("it does not exist".to_owned(), |t| {
                    t.integer_key()
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                });
            return Err(anyhow!(
                "cannot backfill {}.{} in batches: {why}; online changes need a single-column integer primary key",
                b.table,
                b.column
            ));
        }
    }
    Ok(compiled)
}

/// The live tables an online migration touches, with what its expand
/// recorded of the columns it relaxed.
pub async fn schema(
    db: &mut Database,
    m: &OnlineMigration,
    version: &str,
    read: Read,
) -> Result<Schema> {
    let mut schema = Schema::read(Default::default(), read);
    for op in &m.operations {
        for name in op.tables() {
            if !schema.tables.contains_key(name) {
                if let Some(info) = introspect::table(db, name).await? {
                    schema.tables.insert(name.to_owned(), info);
                }
            }
        }
    }
    for ((name, column), info) in capture::load(db, version).await? {
        if let Some(t) = schema.tables.get_mut(&name) {
            t.captured.insert(column, info);
        }
    }
    for (i, op) in m.operations.iter().enumerate() {
        if let Operation::DropConstraint(c) = op {
            // Before expand, a table an earlier `rename_table` renames
            // still has its old name.
            let renamed = m.operations[..i].iter().rev().find_map(|op| match op {
                Operation::RenameTable(r) if r.to == c.table => Some(r.from.as_str()),
                _ => None,
            });
            let live = match renamed {
                Some(from) if !schema.tables.contains_key(&c.table) => from,
                _ => c.table.as_str(),
            };
            // A table that does not exist is compile's to report.
            let Some(t) = schema.tables.get_mut(live) else {
                continue;
            };
            if let Some(info) = introspect::constraint(db, live, &c.name).await? {
                t.constraints.insert(c.name.clone(), info);
            }
        }
    }
    Ok(schema)
}
