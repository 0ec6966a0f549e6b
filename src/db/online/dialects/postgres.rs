//! PostgreSQL: plpgsql BEFORE row triggers, `CREATE INDEX CONCURRENTLY`
//! outside a transaction, `NOT VALID` constraints validated at contract,
//! NOT NULL through a validated CHECK, a short `lock_timeout` on DDL.

use super::{branches, column_list, updates, ConstraintSql, Ddl, OnlineSql, SyncTriggers};
use crate::db::dialect::Dialect;
use crate::db::online::introspect::{ColumnInfo, ConstraintInfo, ConstraintKind};
use crate::db::online::operation::AddConstraint;

pub struct Postgres;

impl OnlineSql for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn set_not_null(&self, table: &str, column: &str, _sql_type: &str) -> Vec<Ddl> {
        // A validated CHECK lets SET NOT NULL skip its full-table scan
        // under an exclusive lock (PostgreSQL 12+).
        let t = self.q(table);
        let c = self.q(column);
        let check = self.q(&format!("{table}_{column}_not_null"));
        vec![
            Ddl::tx(format!(
                "ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({c} IS NOT NULL) NOT VALID"
            )),
            Ddl::tx(format!("ALTER TABLE {t} VALIDATE CONSTRAINT {check}")),
            Ddl::tx(format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL")),
            Ddl::tx(format!("ALTER TABLE {t} DROP CONSTRAINT {check}")),
        ]
    }

    fn complete(
        &self,
        table: &str,
        _live: Option<&ColumnInfo>,
        target: &ColumnInfo,
        _old: &ColumnInfo,
    ) -> Vec<Ddl> {
        let mut out = Vec::new();
        if let Some(d) = &target.default {
            out.push(Ddl::tx(format!(
                "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d}",
                self.q(table),
                self.q(&target.name)
            )));
        }
        if !target.nullable {
            out.extend(self.set_not_null(table, &target.name, &target.sql_type));
        }
        out
    }

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let f = self.q(&s.name);
        let t = self.q(&s.table);
        let declare: String = s
            .columns
            .iter()
            .map(|c| {
                format!(
                    "    {} {t}.{}%TYPE := NEW.{};\n",
                    self.q(&c.name),
                    self.q(&c.name),
                    self.q(&c.name)
                )
            })
            .collect();
        let insert = branches(self, &s.insert, "ELSIF", |col, expr| {
            let c = self.q(col);
            format!("{c} := ({expr}); NEW.{c} := {c};")
        });
        let update = updates(self, &s.update, "ELSIF", |col, expr| {
            format!("NEW.{} := ({expr});", self.q(col))
        });
        let mut body = String::new();
        if !insert.is_empty() {
            body.push_str(&format!(
                "    IF TG_OP = 'INSERT' THEN\n{insert}    END IF;\n"
            ));
        }
        if !update.is_empty() {
            body.push_str(&format!(
                "    IF TG_OP = 'UPDATE' THEN\n{update}    END IF;\n"
            ));
        }
        let function = format!(
            "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $lockstep$\nDECLARE\n{declare}BEGIN\n    \
             IF current_setting('lockstep.backfill', true) = 'on' THEN\n        RETURN NEW;\n    END IF;\n{body}    RETURN NEW;\nEND\n$lockstep$"
        );
        let events = match (insert.is_empty(), update.is_empty()) {
            (false, true) => "INSERT",
            (true, false) => "UPDATE",
            _ => "INSERT OR UPDATE",
        };
        vec![
            Ddl::tx(function),
            Ddl::tx(format!("DROP TRIGGER IF EXISTS {f} ON {t}")),
            Ddl::tx(format!(
                "CREATE TRIGGER {f} BEFORE {events} ON {t} FOR EACH ROW EXECUTE FUNCTION {f}()"
            )),
        ]
    }

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let f = self.q(&s.name);
        vec![
            Ddl::tx(format!(
                "DROP TRIGGER IF EXISTS {f} ON {}",
                self.q(&s.table)
            )),
            Ddl::tx(format!("DROP FUNCTION IF EXISTS {f}()")),
        ]
    }

    fn create_index(&self, table: &str, name: &str, columns: &[String], unique: bool) -> Vec<Ddl> {
        let unique = if unique { "UNIQUE " } else { "" };
        // A failed CONCURRENTLY build leaves an invalid index behind: drop
        // it first so a retry builds a valid one.
        vec![
            Ddl::no_tx(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                self.q(name)
            )),
            Ddl::no_tx(format!(
                "CREATE {unique}INDEX CONCURRENTLY {} ON {} ({})",
                self.q(name),
                self.q(table),
                column_list(self, columns)
            )),
        ]
    }

    fn drop_index(&self, _table: &str, name: &str) -> Vec<Ddl> {
        vec![Ddl::no_tx(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            self.q(name)
        ))]
    }

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, String> {
        let t = self.q(&c.table);
        let n = self.q(&c.name);
        let drop = Ddl::tx(format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n}"));
        if let Some(columns) = &c.unique {
            let mut expand = self.create_index(&c.table, &c.name, columns, true);
            expand.truncate(2);
            return Ok(ConstraintSql {
                expand,
                contract: vec![Ddl::tx(format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE USING INDEX {n}"
                ))],
                undo: vec![Ddl::no_tx(format!("DROP INDEX CONCURRENTLY IF EXISTS {n}"))],
            });
        }
        let body = match (&c.check, &c.foreign_key) {
            (Some(check), _) => format!("CHECK ({check})"),
            (None, Some(fk)) => format!(
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                column_list(self, &fk.columns),
                self.q(&fk.references),
                column_list(self, &fk.referenced_columns)
            ),
            (None, None) => return Err("give check, unique or foreign_key".to_owned()),
        };
        Ok(ConstraintSql {
            expand: vec![Ddl::tx(format!(
                "ALTER TABLE {t} ADD CONSTRAINT {n} {body} NOT VALID"
            ))],
            contract: vec![Ddl::tx(format!("ALTER TABLE {t} VALIDATE CONSTRAINT {n}"))],
            undo: vec![drop],
        })
    }

    fn drop_constraint(
        &self,
        table: &str,
        name: &str,
        c: Option<&ConstraintInfo>,
    ) -> Result<Vec<Ddl>, String> {
        // An index without a constraint goes without locking the table;
        // a constraint needs its short exclusive lock.
        Ok(match c.map(|c| &c.kind) {
            Some(ConstraintKind::UniqueIndex) => self.drop_index(table, name),
            _ => vec![Ddl::tx(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                self.q(table),
                self.q(name)
            ))],
        })
    }

    fn differs(&self, a: &str, b: &str) -> String {
        format!("({a}) IS DISTINCT FROM ({b})")
    }

    fn batch_begin(&self) -> String {
        // Both settings end with the transaction. Not waiting for its
        // commit to reach the disk, a batch is not held up by a WAL flush;
        // a server crash can lose only the last batches together with their
        // progress row (the WAL is replayed in order), which the resumed
        // backfill then redoes.
        "BEGIN; SELECT set_config('lockstep.backfill', 'on', true), set_config('synchronous_commit', 'off', true)"
            .to_owned()
    }

    fn ddl_lock_timeout(&self) -> Option<String> {
        Some("SET lock_timeout = '500ms'".to_owned())
    }
}
