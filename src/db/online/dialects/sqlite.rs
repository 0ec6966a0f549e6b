//! SQLite: AFTER triggers that update the row (SQLite has no BEFORE
//! assignment to NEW), a guard table that sets them aside inside a backfill
//! batch (SQLite has one writer at a time, so only the batch sees it), and
//! plain DDL: SQLite locks the whole database for a write anyway.

use super::{column_list, BackfillSession, ConstraintSql, Ddl, OnlineSql, SyncTriggers};
use crate::db::dialect::Dialect;
use crate::db::online::operation::AddConstraint;
use std::time::Duration;

pub struct Sqlite;

const GUARD: &str = "lockstep_guard";

impl OnlineSql for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn set_not_null(&self, _table: &str, _column: &str, _sql_type: &str) -> Vec<Ddl> {
        // SQLite cannot add NOT NULL to an existing column without
        // rebuilding the table; the sanity check has proven no NULL is left.
        Vec::new()
    }

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let t = self.q(&s.table);
        let key = s.key.as_deref().map_or("rowid".to_owned(), |k| self.q(k));
        let not_guarded = format!("NOT EXISTS (SELECT 1 FROM {GUARD} WHERE active = 1)");
        let mut out = vec![Ddl::tx(format!(
            "CREATE TABLE IF NOT EXISTS {GUARD} (active INTEGER NOT NULL)"
        ))];
        let mut inserts = String::new();
        for r in &s.rules {
            let target = self.q(&r.target);
            let source_set = r.source.as_ref().map_or(String::new(), |src| {
                format!(" AND {} IS NOT NULL", self.q(src))
            });
            inserts.push_str(&format!(
                "    UPDATE {t} SET {target} = ({}) WHERE {key} = NEW.{key} AND {target} IS NULL{source_set};\n",
                r.expr
            ));
        }
        let ins = self.q(&format!("{}_ins", s.name));
        out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {ins}")));
        out.push(Ddl::tx(format!(
            "CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN {not_guarded}\nBEGIN\n{inserts}END"
        )));
        for (i, r) in s.rules.iter().enumerate() {
            let Some(src) = &r.source else { continue };
            let (src, target) = (self.q(src), self.q(&r.target));
            let name = self.q(&format!("{}_upd{i}", s.name));
            out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {name}")));
            // The last condition stops two rules from feeding each other.
            out.push(Ddl::tx(format!(
                "CREATE TRIGGER {name} AFTER UPDATE OF {src} ON {t}\n\
                 WHEN {not_guarded} AND NEW.{src} IS NOT OLD.{src} AND NEW.{target} IS OLD.{target}\n\
                 BEGIN\n    UPDATE {t} SET {target} = ({expr}) WHERE {key} = NEW.{key} AND {target} IS NOT ({expr});\nEND",
                expr = r.expr
            )));
        }
        out
    }

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let mut out = vec![Ddl::tx(format!(
            "DROP TRIGGER IF EXISTS {}",
            self.q(&format!("{}_ins", s.name))
        ))];
        for i in 0..s.rules.len() {
            out.push(Ddl::tx(format!(
                "DROP TRIGGER IF EXISTS {}",
                self.q(&format!("{}_upd{i}", s.name))
            )));
        }
        out
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

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, String> {
        match &c.unique {
            Some(columns) => Ok(ConstraintSql {
                expand: self.create_index(&c.table, &c.name, columns, true),
                contract: Vec::new(),
                undo: self.drop_index(&c.table, &c.name),
            }),
            None => Err(format!(
                "SQLite cannot add a CHECK or FOREIGN KEY constraint to the existing table {}; \
                 use an `sql` operation that rebuilds the table",
                c.table
            )),
        }
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
