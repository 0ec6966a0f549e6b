//! SQLite: AFTER triggers that update the row (SQLite has no BEFORE
//! assignment to NEW), a guard table that sets them aside inside a backfill
//! batch (SQLite has one writer at a time, so only the batch sees it), and
//! plain DDL: SQLite locks the whole database for a write anyway.

use super::{column_list, ConstraintSql, Ddl, OnlineSql, SyncTriggers};
use crate::db::dialect::Dialect;
use crate::db::online::operation::AddConstraint;

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

    fn guard_on(&self) -> Vec<String> {
        vec![format!("INSERT INTO {GUARD} (active) VALUES (1)")]
    }

    fn guard_off(&self) -> Vec<String> {
        vec![format!("DELETE FROM {GUARD}")]
    }
}
