//! SQLite: a database file with a lock file beside it, `BEGIN IMMEDIATE`,
//! the history read as one JSON row, catalog reads through `pragma_*` and
//! the stored `CREATE TABLE` text; online, AFTER triggers that update the
//! row (SQLite has no BEFORE assignment to NEW), a guard table that sets
//! them aside inside a backfill batch (SQLite has one writer at a time, so
//! only the batch sees it), and plain DDL: SQLite locks the whole database
//! for a write anyway.

use super::online::{
    column_list, rename_with_view, BackfillSession, ConstraintError, ConstraintSql, Ddl, OnlineSql,
    SyncTriggers,
};
use super::sqlite_columns::{self, ColumnText, ConstraintText};
use super::trigger::arrived;
use super::{Dialect, LockKind, SqlDialect};
use crate::db::online::introspect::{ColumnInfo, ConstraintInfo, ConstraintKind};
use crate::db::online::operation::AddConstraint;
use std::path::PathBuf;
use std::time::Duration;

pub struct Sqlite;

const GUARD: &str = "lockstep_guard";

impl SqlDialect for Sqlite {
    fn hex(&self, column: &str) -> String {
        format!("hex({column})")
    }

    fn identity_key(&self) -> &'static str {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    }

    fn begin(&self) -> &'static str {
        // `IMMEDIATE` takes the write lock at once, so a concurrent writer
        // waits at the start instead of failing at its first write.
        "BEGIN IMMEDIATE"
    }

    fn database_file(&self, url: &str) -> anyhow::Result<Option<PathBuf>> {
        database_file(url)
    }

    fn on_connect(&self) -> &'static [&'static str] {
        // Wait for a writer instead of failing with SQLITE_BUSY.
        &["PRAGMA busy_timeout = 30000"]
    }

    fn on_create(&self) -> Option<&'static str> {
        // A database lockstep creates gets write-ahead logging, as `sqlx
        // database create` does: readers never block the migration, and a
        // commit costs one fsync, not three.
        Some("PRAGMA journal_mode = WAL")
    }

    fn lock_kind(&self) -> LockKind {
        LockKind::File
    }

    fn existing_tables_query(&self, prefix: &str) -> String {
        format!(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE {}",
            self.string_literal(&format!("{prefix}%"))
        )
    }

    fn json_rows_query(&self, columns: &str, table: &str) -> Option<String> {
        // The driver hands rows one at a time from its worker thread, and
        // for a thousand migrations that hand-over was most of a no-op
        // run's database time.
        Some(format!(
            "SELECT json_group_array(json_array({columns})) FROM {table}"
        ))
    }

    fn columns_query(&self, lit: &str) -> String {
        format!("SELECT name, type, CASE WHEN \"notnull\" = 1 THEN 0 ELSE 1 END, dflt_value, NULL, NULL FROM pragma_table_info({lit}) ORDER BY cid")
    }

    fn primary_key_query(&self, lit: &str) -> String {
        format!("SELECT name FROM pragma_table_info({lit}) WHERE pk > 0 ORDER BY pk")
    }

    fn table_definition_query(&self, lit: &str) -> Option<String> {
        Some(format!(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {lit}"
        ))
    }

    fn column_text(&self, definition: &str, column: &str) -> Option<ColumnText> {
        sqlite_columns::find(definition, column)
    }

    fn constraint_text(&self, definition: &str, name: &str) -> Option<ConstraintText> {
        sqlite_columns::find_constraint(definition, name)
    }

    fn constraint_query(&self, t: &str, n: &str, _column_checks: bool) -> String {
        format!(
            "SELECT CASE WHEN \"unique\" THEN 'unique index' ELSE 'index' END, \
             COALESCE((SELECT sql FROM sqlite_master WHERE type = 'index' AND name = {n}), ''), origin \
             FROM pragma_index_list({t}) WHERE name = {n}"
        )
    }

    fn referencing_query(&self, t: &str, n: &str) -> String {
        // A foreign key names the parent's columns, not the index.
        format!(
            "SELECT m.name, '' FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.\"table\" = {t} GROUP BY m.name, f.id \
             HAVING group_concat(f.\"to\") = (SELECT group_concat(name) FROM pragma_index_info({n})) ORDER BY 1"
        )
    }
}

/// The database file a `sqlite:` URL names; `None` for `:memory:`.
#[cfg(feature = "sqlite")]
fn database_file(url: &str) -> anyhow::Result<Option<PathBuf>> {
    use anyhow::Context;
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid SQLite URL `{}`", crate::redact::redact_url(url)))?;
    let file = opts.get_filename();
    if file.as_os_str().is_empty()
        || file.to_string_lossy().contains(":memory:")
        || url.contains(":memory:")
    {
        Ok(None)
    } else {
        Ok(Some(file.to_path_buf()))
    }
}

#[cfg(not(feature = "sqlite"))]
fn database_file(_url: &str) -> anyhow::Result<Option<PathBuf>> {
    anyhow::bail!("this lockstep was built without SQLite support (cargo feature `sqlite`)")
}

impl OnlineSql for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn set_not_null(&self, _table: &str, _column: &str, _sql_type: &str) -> Vec<Ddl> {
        // SQLite cannot add NOT NULL to an existing column without
        // rebuilding the table; the sanity check has proven no NULL is left.
        Vec::new()
    }

    fn relax(&self, table: &str, column: &ColumnInfo) -> (Vec<Ddl>, bool) {
        match &column.text {
            Some(text) if text.written != text.relaxed => (
                edit_table(self, table, &text.written, &text.relaxed),
                !column.nullable,
            ),
            _ => (Vec::new(), false),
        }
    }

    fn set_default(&self, table: &str, column: &ColumnInfo, default: Option<&str>) -> Vec<Ddl> {
        match &column.text {
            Some(text) => edit_table(self, table, &text.written, &text.with_default(default)),
            None => Vec::new(),
        }
    }

    fn unrelax(&self, table: &str, column: &ColumnInfo) -> Vec<Ddl> {
        match &column.text {
            Some(text) if text.written != text.relaxed => {
                edit_table(self, table, &text.relaxed, &text.written)
            }
            _ => Vec::new(),
        }
    }

    fn complete(
        &self,
        table: &str,
        live: Option<&ColumnInfo>,
        target: &ColumnInfo,
        _old: &ColumnInfo,
    ) -> Vec<Ddl> {
        let mut def = format!("{} {}", self.q(&target.name), target.sql_type);
        if let Some(c) = &target.collation {
            def.push_str(&format!(" COLLATE {c}"));
        }
        if !target.nullable {
            def.push_str(" NOT NULL");
        }
        if let Some(d) = &target.default {
            def.push_str(&format!(" DEFAULT {d}"));
        }
        let (prefix, added) = match live.and_then(|c| c.text.as_ref()) {
            Some(text) => {
                let name_at = text.written.find(&self.q(&target.name)).unwrap_or(0);
                (
                    text.written[..name_at].to_owned(),
                    text.written[name_at..].to_owned(),
                )
            }
            // Offline: the column as `add_replacement` adds it.
            None => (
                String::new(),
                format!("{} {} NULL", self.q(&target.name), target.sql_type),
            ),
        };
        let mut out = Vec::new();
        if !target.nullable {
            // The text edit does not check the rows: a NULL left there
            // would break the table, so a NULL stops the contract here.
            let check = self.q(&format!("lockstep_nulls_{table}_{}", target.name));
            let what = format!(
                "{table}.{} has NULL values and cannot become NOT NULL",
                target.name
            );
            out.push(Ddl::tx(format!(
                "CREATE TEMP TABLE {check} (nulls INTEGER CONSTRAINT {} CHECK (nulls = 0))",
                self.q(&what)
            )));
            out.push(Ddl::tx(format!(
                "INSERT INTO {check} SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE {} IS NULL LIMIT 1)",
                self.q(table),
                self.q(&target.name)
            )));
            out.push(Ddl::tx(format!("DROP TABLE temp.{check}")));
        }
        out.extend(edit_table(
            self,
            table,
            &format!("{prefix}{added}"),
            &format!("{prefix}{def}"),
        ));
        out
    }

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let t = self.q(&s.table);
        let key = s.key.as_deref().map_or("rowid".to_owned(), |k| self.q(k));
        let not_guarded = format!("NOT EXISTS (SELECT 1 FROM {GUARD} WHERE active = 1)");
        let mut out = vec![Ddl::tx(format!(
            "CREATE TABLE IF NOT EXISTS {GUARD} (active INTEGER NOT NULL)"
        ))];
        // AFTER triggers see the row as the statement wrote it in NEW, and
        // fix the stored row; each branch's condition is on NEW, so an
        // earlier fix does not change which branch applies.
        let mut inserts = String::new();
        for b in &s.insert {
            let cond = arrived(self, b);
            for (col, expr) in &b.assign {
                inserts.push_str(&format!(
                    "    UPDATE {t} SET {} = ({expr}) WHERE {key} = NEW.{key} AND {};\n",
                    self.q(col),
                    cond.join(" AND ")
                ));
            }
        }
        for col in &s.not_null {
            inserts.push_str(&format!(
                "    SELECT RAISE(ABORT, {}) FROM {t} WHERE {key} = NEW.{key} AND {} IS NULL;\n",
                not_null_message(&s.table, col),
                self.q(col)
            ));
        }
        let ins = self.q(&format!("{}_ins", s.name));
        out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {ins}")));
        if !inserts.is_empty() {
            out.push(Ddl::tx(format!(
                "CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN {not_guarded}\nBEGIN\n{inserts}END"
            )));
        }
        for (i, r) in s.update.iter().enumerate() {
            let (src, target) = (self.q(&r.source), self.q(&r.target));
            let name = self.q(&format!("{}_upd{i}", s.name));
            out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {name}")));
            // The row is only rewritten where the target does not already
            // follow from the source, nor the source from the target: the
            // fix another sync trigger just made does not bounce back (with
            // a lossy pair, up(down(x)) is not x).
            out.push(Ddl::tx(format!(
                "CREATE TRIGGER {name} AFTER UPDATE OF {src} ON {t}\n\
                 WHEN {not_guarded} AND NEW.{src} IS NOT OLD.{src} AND NEW.{target} IS OLD.{target}\n\
                 BEGIN\n    UPDATE {t} SET {target} = ({expr}) WHERE {key} = NEW.{key} AND {target} IS NOT ({expr}) AND {src} IS NOT ({reverse});\nEND",
                expr = r.expr,
                reverse = r.reverse
            )));
        }
        for (i, col) in s.not_null.iter().enumerate() {
            let name = self.q(&format!("{}_nn{i}", s.name));
            out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {name}")));
            out.push(Ddl::tx(format!(
                "CREATE TRIGGER {name} AFTER UPDATE OF {c} ON {t} WHEN NEW.{c} IS NULL\n\
                 BEGIN\n    SELECT RAISE(ABORT, {});\nEND",
                not_null_message(&s.table, col),
                c = self.q(col)
            )));
        }
        out
    }

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let mut names = vec![format!("{}_ins", s.name)];
        names.extend((0..s.update.len()).map(|i| format!("{}_upd{i}", s.name)));
        names.extend((0..s.not_null.len()).map(|i| format!("{}_nn{i}", s.name)));
        names
            .iter()
            .map(|n| Ddl::tx(format!("DROP TRIGGER IF EXISTS {}", self.q(n))))
            .collect()
    }

    fn create_index(&self, table: &str, name: &str, columns: &[String], unique: bool) -> Vec<Ddl> {
        let unique = if unique { "UNIQUE " } else { "" };
        vec![Ddl::tx(format!(
            "CREATE {unique}INDEX IF NOT EXISTS {} ON {} ({})",
            self.q(name),
            self.q(table),
            column_list(self, columns)
        ))]
    }

    fn drop_index(&self, _table: &str, name: &str) -> Vec<Ddl> {
        vec![Ddl::tx(format!("DROP INDEX IF EXISTS {}", self.q(name)))]
    }

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, ConstraintError> {
        match &c.unique {
            Some(columns) => Ok(ConstraintSql {
                expand: self.create_index(&c.table, &c.name, columns, true),
                contract: Vec::new(),
                undo: self.drop_index(&c.table, &c.name),
            }),
            None => Err(ConstraintError::CannotAdd {
                table: c.table.clone(),
            }),
        }
    }

    fn drop_constraint(
        &self,
        table: &str,
        name: &str,
        c: Option<&ConstraintInfo>,
    ) -> Result<Vec<Ddl>, ConstraintError> {
        let rebuild = |what: String| ConstraintError::InDefinition {
            name: name.to_owned(),
            what,
            table: table.to_owned(),
        };
        match c {
            Some(ConstraintInfo {
                kind: ConstraintKind::UniqueIndex,
                ..
            }) => Ok(self.drop_index(table, name)),
            // SQLite documents editing the stored definition for removing
            // a CHECK or a FOREIGN KEY: no row needs checking or moving.
            Some(ConstraintInfo {
                kind: ConstraintKind::Check | ConstraintKind::ForeignKey,
                written: Some(written),
                ..
            }) => Ok(edit_table(self, table, written, "")),
            Some(ConstraintInfo {
                kind: ConstraintKind::Unique,
                ..
            }) => Err(rebuild(
                "a UNIQUE constraint (its index belongs to the table)".to_owned(),
            )),
            Some(c) => Err(rebuild(format!("a constraint ({})", c.definition))),
            None => Err(ConstraintError::NeedsCatalog {
                name: name.to_owned(),
            }),
        }
    }

    fn rename_table(
        &self,
        from: &str,
        to: &str,
        columns: &[ColumnInfo],
        key: Option<&str>,
    ) -> ConstraintSql {
        // SQLite views are read-only: INSTEAD OF triggers write through.
        // A column an INSERT leaves out arrives NULL in NEW (a view has no
        // defaults), so it takes the table's default; rows are found again
        // by key (or rowid).
        let (f, t) = (self.q(from), self.q(to));
        let key = key.map_or("rowid".to_owned(), |k| self.q(k));
        let names: Vec<String> = columns.iter().map(|c| self.q(&c.name)).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| match &c.default {
                Some(d) => format!("COALESCE(NEW.{}, {d})", self.q(&c.name)),
                None => format!("NEW.{}", self.q(&c.name)),
            })
            .collect();
        let sets: Vec<String> = names.iter().map(|n| format!("{n} = NEW.{n}")).collect();
        let trigger = |suffix: &str, event: &str, body: String| {
            Ddl::tx(format!(
                "CREATE TRIGGER {} INSTEAD OF {event} ON {f}\nBEGIN\n    {body};\nEND",
                self.q(&format!("lockstep_{from}_{suffix}"))
            ))
        };
        let mut sql = rename_with_view(self, from, to, columns);
        sql.expand.extend([
            trigger(
                "ins",
                "INSERT",
                format!(
                    "INSERT INTO {t} ({}) VALUES ({})",
                    names.join(", "),
                    values.join(", ")
                ),
            ),
            trigger(
                "upd",
                "UPDATE",
                format!("UPDATE {t} SET {} WHERE {key} = OLD.{key}", sets.join(", ")),
            ),
            trigger(
                "del",
                "DELETE",
                format!("DELETE FROM {t} WHERE {key} = OLD.{key}"),
            ),
        ]);
        sql
    }

    fn differs(&self, a: &str, b: &str) -> String {
        format!("({a}) IS NOT ({b})")
    }

    fn backfill_setup(&self) -> Vec<Ddl> {
        vec![Ddl::tx(format!(
            "CREATE TABLE IF NOT EXISTS {GUARD} (active INTEGER NOT NULL)"
        ))]
    }

    fn backfill_probe(&self) -> Option<&'static str> {
        Some("SELECT journal_mode || ' ' || synchronous FROM pragma_journal_mode, pragma_synchronous")
    }

    fn backfill_session(&self, probe: Option<&str>) -> BackfillSession {
        // In WAL mode a commit at synchronous = NORMAL writes the WAL but
        // does not sync it: the database stays consistent on power loss and
        // loses at most the last batches, each with its progress row, which
        // the resumed backfill redoes. In the other journal modes NORMAL
        // could corrupt the database, so they keep their setting.
        let mut words = probe.unwrap_or_default().split_whitespace();
        match (
            words.next(),
            words.next().and_then(|s| s.parse::<u8>().ok()),
        ) {
            (Some(mode), Some(level)) if mode.eq_ignore_ascii_case("wal") && level > 1 => {
                BackfillSession {
                    on: vec!["PRAGMA synchronous = NORMAL".to_owned()],
                    off: vec![format!("PRAGMA synchronous = {level}")],
                    // Copy the batch back from the WAL while the lock is
                    // left to the application: otherwise the commit that
                    // crosses the auto-checkpoint size, often the
                    // application's, pays for all the batches' pages.
                    between: vec!["PRAGMA wal_checkpoint(PASSIVE)".to_owned()],
                }
            }
            _ => BackfillSession::default(),
        }
    }

    fn batch_yield(&self, batch: Duration) -> Duration {
        // One writer at a time: a writer that found a batch holding the
        // lock sleeps in SQLite's busy handler (1, 2, 5, 10, ... ms) and
        // would find the next batch holding it again. Leaving the lock
        // free for at least its first retry lets it in after one batch.
        batch.max(Duration::from_millis(1))
    }

    fn statement_rows(&self) -> Option<i64> {
        // The write lock is held from BEGIN IMMEDIATE to COMMIT: shorter
        // statements would only add round trips.
        None
    }

    fn batch_begin(&self) -> String {
        // IMMEDIATE: take the write lock now rather than fail to upgrade a
        // read lock halfway through the batch.
        format!("BEGIN IMMEDIATE; INSERT INTO {GUARD} (active) VALUES (1)")
    }

    fn batch_commit(&self) -> String {
        format!("DELETE FROM {GUARD}; COMMIT")
    }
}

/// SQLite's own words for a NOT NULL violation, as a string literal.
fn not_null_message(table: &str, column: &str) -> String {
    Sqlite.string_literal(&format!("NOT NULL constraint failed: {table}.{column}"))
}

/// Replaces `from` by `to` in the table's stored `CREATE TABLE` text, the
/// documented way to drop or add a DEFAULT or a NOT NULL in place, then
/// reloads the schema. The throwaway table after it bumps the schema
/// version, so every other connection reloads it too.
fn edit_table(g: &Sqlite, table: &str, from: &str, to: &str) -> Vec<Ddl> {
    let lit = |s: &str| g.string_literal(s);
    let bump = g.q("lockstep_schema_bump");
    vec![
        Ddl::tx("PRAGMA writable_schema = ON".to_owned()),
        Ddl::tx(format!(
            "UPDATE sqlite_master SET sql = replace(sql, {}, {}) WHERE type = 'table' AND name = {}",
            lit(from),
            lit(to),
            lit(table)
        )),
        Ddl::tx("PRAGMA writable_schema = RESET".to_owned()),
        Ddl::tx(format!("CREATE TABLE {bump} (x INTEGER)")),
        Ddl::tx(format!("DROP TABLE {bump}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_skips_the_sync_only_in_wal_mode_and_restores_it() {
        let wal = Sqlite.backfill_session(Some("wal 2"));
        assert_eq!(wal.on, ["PRAGMA synchronous = NORMAL"]);
        assert_eq!(wal.off, ["PRAGMA synchronous = 2"]);
        let extra = Sqlite.backfill_session(Some("WAL 3"));
        assert_eq!(extra.off, ["PRAGMA synchronous = 3"]);
        for kept in ["delete 2", "truncate 2", "wal 1", "wal 0", "memory 2", ""] {
            let s = Sqlite.backfill_session(Some(kept));
            assert!(s.on.is_empty() && s.off.is_empty(), "{kept}");
        }
        assert!(Sqlite.backfill_session(None).on.is_empty());
    }
}
