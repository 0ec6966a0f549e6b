//! MySQL/MariaDB: BEFORE INSERT and BEFORE UPDATE triggers with a local
//! variable per column, in-place DDL (`ALGORITHM=INPLACE, LOCK=NONE`), a
//! session variable that sets the triggers aside for backfill batches, and
//! a short `lock_wait_timeout` on DDL.

use super::{column_list, BackfillSession, ConstraintSql, Ddl, OnlineSql, SyncTriggers};
use crate::db::dialect::Dialect;
use crate::db::online::operation::AddConstraint;

pub struct Mysql;

impl OnlineSql for Mysql {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn table_options(&self) -> &'static str {
        " ENGINE=InnoDB"
    }

    fn set_not_null(&self, table: &str, column: &str, sql_type: &str) -> Vec<Ddl> {
        vec![Ddl::tx(format!(
            "ALTER TABLE {} MODIFY COLUMN {} {sql_type} NOT NULL",
            self.q(table),
            self.q(column)
        ))]
    }

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        let t = self.q(&s.table);
        let declare: String = s
            .columns
            .iter()
            .map(|c| {
                format!(
                    "      DECLARE {} {} DEFAULT NEW.{};\n",
                    self.q(&c.name),
                    c.sql_type,
                    self.q(&c.name)
                )
            })
            .collect();
        let mut insert = String::new();
        let mut update = String::new();
        for (i, r) in s.rules.iter().enumerate() {
            let kw = if i == 0 { "IF" } else { "ELSEIF" };
            let target = self.q(&r.target);
            let source_set = r.source.as_ref().map_or(String::new(), |src| {
                format!(" AND NEW.{} IS NOT NULL", self.q(src))
            });
            insert.push_str(&format!(
                "      {kw} NEW.{target} IS NULL{source_set} THEN SET NEW.{target} = ({});\n",
                r.expr
            ));
            if let Some(src) = &r.source {
                let src = self.q(src);
                let ukw = if update.is_empty() { "IF" } else { "ELSEIF" };
                update.push_str(&format!(
                    "      {ukw} NOT (NEW.{src} <=> OLD.{src}) AND (NEW.{target} <=> OLD.{target}) THEN SET NEW.{target} = ({});\n",
                    r.expr
                ));
            }
        }
        let body = |name: &str, event: &str, logic: &str| {
            format!(
                "CREATE TRIGGER {} BEFORE {event} ON {t} FOR EACH ROW\nBEGIN\n  IF @lockstep_backfill IS NULL THEN\n    BEGIN\n{declare}{logic}      END IF;\n    END;\n  END IF;\nEND",
                self.q(name)
            )
        };
        let ins = format!("{}_ins", s.name);
        let upd = format!("{}_upd", s.name);
        let mut out = vec![
            Ddl::tx(format!("DROP TRIGGER IF EXISTS {}", self.q(&ins))),
            Ddl::tx(body(&ins, "INSERT", &insert)),
        ];
        if !update.is_empty() {
            out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {}", self.q(&upd))));
            out.push(Ddl::tx(body(&upd, "UPDATE", &update)));
        }
        out
    }

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl> {
        vec![
            Ddl::tx(format!(
                "DROP TRIGGER IF EXISTS {}",
                self.q(&format!("{}_ins", s.name))
            )),
            Ddl::tx(format!(
                "DROP TRIGGER IF EXISTS {}",
                self.q(&format!("{}_upd", s.name))
            )),
        ]
    }

    fn add_column(&self, table: &str, column: &str, sql_type: &str, default: Option<&str>) -> Ddl {
        let default = default.map_or(String::new(), |d| format!(" DEFAULT {d}"));
        Ddl::tx(format!(
            "ALTER TABLE {} ADD COLUMN {} {sql_type} NULL{default}, ALGORITHM=INPLACE, LOCK=NONE",
            self.q(table),
            self.q(column)
        ))
    }

    fn drop_column(&self, table: &str, column: &str) -> Ddl {
        Ddl::tx(format!(
            "ALTER TABLE {} DROP COLUMN {}, ALGORITHM=INPLACE, LOCK=NONE",
            self.q(table),
            self.q(column)
        ))
    }

    fn create_index(&self, table: &str, name: &str, columns: &[String], unique: bool) -> Vec<Ddl> {
        let unique = if unique { "UNIQUE " } else { "" };
        vec![Ddl::tx(format!(
            "CREATE {unique}INDEX {} ON {} ({}) ALGORITHM=INPLACE LOCK=NONE",
            self.q(name),
            self.q(table),
            column_list(self, columns)
        ))]
    }

    fn drop_index(&self, table: &str, name: &str) -> Vec<Ddl> {
        // `DROP INDEX … ON` takes no ALGORITHM on MariaDB; ALTER TABLE does.
        vec![Ddl::tx(format!(
            "ALTER TABLE {} DROP INDEX {}, ALGORITHM=INPLACE, LOCK=NONE",
            self.q(table),
            self.q(name)
        ))]
    }

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, String> {
        let t = self.q(&c.table);
        let n = self.q(&c.name);
        if let Some(columns) = &c.unique {
            return Ok(ConstraintSql {
                expand: self.create_index(&c.table, &c.name, columns, true),
                contract: Vec::new(),
                undo: self.drop_index(&c.table, &c.name),
            });
        }
        let (body, undo) = match (&c.check, &c.foreign_key) {
            (Some(check), _) => (
                format!("CHECK ({check})"),
                format!("ALTER TABLE {t} DROP CONSTRAINT {n}"),
            ),
            (None, Some(fk)) => (
                format!(
                    "FOREIGN KEY ({}) REFERENCES {} ({})",
                    column_list(self, &fk.columns),
                    self.q(&fk.references),
                    column_list(self, &fk.referenced_columns)
                ),
                format!("ALTER TABLE {t} DROP FOREIGN KEY {n}"),
            ),
            (None, None) => return Err("give check, unique or foreign_key".to_owned()),
        };
        // MySQL has no NOT VALID: the constraint is checked when added.
        Ok(ConstraintSql {
            expand: vec![Ddl::tx(format!(
                "ALTER TABLE {t} ADD CONSTRAINT {n} {body}"
            ))],
            contract: Vec::new(),
            undo: vec![Ddl::tx(undo)],
        })
    }

    fn differs(&self, a: &str, b: &str) -> String {
        format!("NOT (({a}) <=> ({b}))")
    }

    fn backfill_session(&self, _probe: Option<&str>) -> BackfillSession {
        // A session variable, set once: between batches the connection
        // runs nothing but the batches and their progress rows.
        BackfillSession {
            on: vec!["SET @lockstep_backfill = 1".to_owned()],
            off: vec!["SET @lockstep_backfill = NULL".to_owned()],
            between: Vec::new(),
        }
    }

    fn batch_begin(&self) -> String {
        "BEGIN".to_owned()
    }

    fn ddl_lock_timeout(&self) -> Option<String> {
        Some("SET SESSION lock_wait_timeout = 2".to_owned())
    }
}
