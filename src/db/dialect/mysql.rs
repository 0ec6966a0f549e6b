//! MySQL/MariaDB: backquoted names, backslash escapes, `#` comments and
//! the client's `DELIMITER`, non-transactional DDL, a `GET_LOCK` named
//! lock, catalog reads through `information_schema`; online, BEFORE INSERT
//! and BEFORE UPDATE triggers with a local variable per column, in-place
//! DDL (`ALGORITHM=INPLACE, LOCK=NONE`), a session variable that sets the
//! triggers aside for backfill batches, and a short `lock_wait_timeout` on
//! DDL.

use super::online::{
    column_list, select_list, BackfillSession, ConstraintError, ConstraintSql, Ddl, OnlineSql,
    SyncTriggers,
};
use super::trigger::RowTrigger;
use super::{Dialect, Lexicon, LockKind, SessionLock, SqlDialect};
use crate::db::online::introspect::{ColumnInfo, ConstraintInfo, ConstraintKind};
use crate::db::online::operation::AddConstraint;
use sha2::{Digest, Sha256};
use sqlx::Row;

pub struct Mysql;

const COMPOUND: RowTrigger = RowTrigger {
    elsif: "ELSEIF",
    set: "SET ",
    assign: "=",
};

impl SqlDialect for Mysql {
    fn ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn as_bigint(&self, expr: &str) -> String {
        format!("CAST({expr} AS SIGNED)")
    }

    fn as_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }

    fn hex(&self, column: &str) -> String {
        // A bounded length keeps the type VARCHAR: an unbounded one is a
        // TEXT, which the driver hands over as bytes.
        format!("CAST(HEX({column}) AS CHAR(1024))")
    }

    fn key_text(&self) -> &'static str {
        "VARCHAR(255)"
    }

    fn long_text(&self) -> &'static str {
        "LONGTEXT"
    }

    fn text_expr(&self, column: &str) -> String {
        // MySQL reports TEXT columns as BLOBs.
        format!("CAST({column} AS CHAR(16000))")
    }

    fn identity_key(&self) -> &'static str {
        "BIGINT AUTO_INCREMENT PRIMARY KEY"
    }

    fn transactional_ddl(&self) -> bool {
        // MySQL commits implicitly on DDL.
        false
    }

    fn lexicon(&self) -> Lexicon {
        // A backslash escapes unless `NO_BACKSLASH_ESCAPES` is set.
        Lexicon {
            hash_comments: true,
            executable_comments: true,
            backslash_escapes: true,
            dollar_quotes: false,
            delimiter_command: true,
        }
    }

    fn lock_kind(&self) -> LockKind {
        LockKind::Session {
            database_query: "SELECT CAST(COALESCE(DATABASE(), '') AS CHAR)",
            named: |database| {
                // GET_LOCK names are server-wide and at most 64 characters.
                let digest = hex::encode(Sha256::digest(database.as_bytes()));
                let name = Mysql.string_literal(&format!("lockstep:{}", &digest[..40]));
                SessionLock {
                    take: format!("SELECT GET_LOCK({name}, 0)"),
                    release: format!("SELECT RELEASE_LOCK({name})"),
                    taken: |row| Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0) == 1),
                }
            },
        }
    }

    fn existing_tables_query(&self, prefix: &str) -> String {
        format!(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name LIKE {}",
            self.string_literal(&format!("{prefix}%"))
        )
    }

    fn columns_query(&self, lit: &str) -> String {
        format!(
            "SELECT CAST(column_name AS CHAR(255)), CAST(column_type AS CHAR(255)), \
             CAST(CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS SIGNED), \
             CAST(column_default AS CHAR(4000)), CAST(collation_name AS CHAR(255)), \
             CAST(NULLIF(extra, '') AS CHAR(255)) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = {lit} ORDER BY ordinal_position"
        )
    }

    fn primary_key_query(&self, lit: &str) -> String {
        format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = {lit} AND constraint_name = 'PRIMARY' \
             ORDER BY ordinal_position"
        )
    }

    fn column_checks_probe(&self) -> Option<&'static str> {
        // MariaDB says whether a CHECK belongs to a column; MySQL has no
        // column CHECKs (nor the column that says so).
        Some(
            "SELECT CAST(column_name AS CHAR(64)) FROM information_schema.columns \
             WHERE table_schema = 'information_schema' AND table_name = 'CHECK_CONSTRAINTS' AND column_name = 'LEVEL'",
        )
    }

    fn constraint_query(&self, t: &str, n: &str, column_checks: bool) -> String {
        let level = if column_checks { "cc.level" } else { "NULL" };
        format!(
            "SELECT CAST(tc.constraint_type AS CHAR(64)), CAST(COALESCE(cc.check_clause, tc.constraint_type) AS CHAR(4000)), \
             CAST({level} AS CHAR(16)) FROM information_schema.table_constraints tc \
             LEFT JOIN information_schema.check_constraints cc ON cc.constraint_schema = tc.constraint_schema \
             AND cc.table_name = tc.table_name AND cc.constraint_name = tc.constraint_name \
             WHERE tc.table_schema = DATABASE() AND tc.table_name = {t} AND tc.constraint_name = {n} \
             UNION ALL SELECT 'INDEX', 'INDEX', NULL FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = {t} AND index_name = {n} AND non_unique = 1 AND seq_in_index = 1"
        )
    }

    fn referencing_query(&self, t: &str, n: &str) -> String {
        format!(
            "SELECT CAST(table_name AS CHAR(255)), CAST(constraint_name AS CHAR(255)) \
             FROM information_schema.referential_constraints WHERE unique_constraint_schema = DATABASE() \
             AND referenced_table_name = {t} AND unique_constraint_name = {n} ORDER BY 1, 2"
        )
    }

    fn column_extra(&self, extra: &str) -> Option<String> {
        // `on update …` and `auto_increment`, not generated columns.
        let lower = extra.to_ascii_lowercase();
        let mut kept = Vec::new();
        if let Some(at) = lower.find("on update ") {
            kept.push(extra[at..].trim().to_owned());
        }
        if lower.contains("auto_increment") {
            kept.push("AUTO_INCREMENT".to_owned());
        }
        (!kept.is_empty()).then(|| kept.join(" "))
    }

    fn column_comment_query(&self, t: &str, c: &str) -> Option<String> {
        Some(format!(
            "SELECT CAST(column_comment AS CHAR(2048)) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = {t} AND column_name = {c}"
        ))
    }

    fn alter_algorithms(&self) -> bool {
        true
    }
}

impl Mysql {
    /// A column definition as MODIFY COLUMN takes it.
    fn definition(&self, c: &ColumnInfo) -> String {
        let mut def = format!("{} {}", self.q(&c.name), c.sql_type);
        if let Some(collation) = &c.collation {
            def.push_str(&format!(" COLLATE {collation}"));
        }
        def.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
        if let Some(d) = &c.default {
            def.push_str(&format!(" DEFAULT {d}"));
        }
        if let Some(e) = &c.extra {
            def.push_str(&format!(" {e}"));
        }
        def
    }

    /// `old` nullable and without a default: what a statement that leaves
    /// it out needs once no trigger fills it.
    fn released(&self, old: &ColumnInfo) -> String {
        self.definition(&ColumnInfo {
            nullable: true,
            default: None,
            extra: None,
            ..old.clone()
        })
    }
}

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

    fn complete(
        &self,
        table: &str,
        _live: Option<&ColumnInfo>,
        target: &ColumnInfo,
        old: &ColumnInfo,
    ) -> Vec<Ddl> {
        // One MODIFY states the whole definition; MariaDB keeps only what
        // it says, so every part the old column had is spelled out. The
        // old column is released in the same statement: one table rebuild.
        let mut def = self.definition(target);
        if !old.nullable {
            def.push_str(&format!(", MODIFY COLUMN {}", self.released(old)));
        }
        vec![Ddl::tx(format!(
            "ALTER TABLE {} MODIFY COLUMN {def}, LOCK=NONE",
            self.q(table)
        ))]
    }

    fn release(&self, table: &str, old: &ColumnInfo) -> Vec<Ddl> {
        if old.nullable {
            return Vec::new();
        }
        vec![Ddl::tx(format!(
            "ALTER TABLE {} MODIFY COLUMN {}, LOCK=NONE",
            self.q(table),
            self.released(old)
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
        let insert = COMPOUND.inserts(self, &s.insert);
        let update = COMPOUND.updates(self, &s.update);
        let body = |name: &str, event: &str, logic: &str| {
            format!(
                "CREATE TRIGGER {} BEFORE {event} ON {t} FOR EACH ROW\nBEGIN\n  IF @lockstep_backfill IS NULL THEN\n    BEGIN\n{declare}{logic}    END;\n  END IF;\nEND",
                self.q(name)
            )
        };
        let mut out = Vec::new();
        for (suffix, event, logic) in [("ins", "INSERT", &insert), ("upd", "UPDATE", &update)] {
            let name = format!("{}_{suffix}", s.name);
            out.push(Ddl::tx(format!("DROP TRIGGER IF EXISTS {}", self.q(&name))));
            if !logic.is_empty() {
                out.push(Ddl::tx(body(&name, event, logic)));
            }
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

    fn in_place(&self) -> &'static str {
        ", ALGORITHM=INPLACE, LOCK=NONE"
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
            "ALTER TABLE {} DROP INDEX {}{}",
            self.q(table),
            self.q(name),
            self.in_place()
        ))]
    }

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, ConstraintError> {
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
            (None, None) => return Err(ConstraintError::NoKind),
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

    fn drop_constraint(
        &self,
        table: &str,
        name: &str,
        c: Option<&ConstraintInfo>,
    ) -> Result<Vec<Ddl>, ConstraintError> {
        let t = self.q(table);
        let online = self.in_place();
        Ok(match c {
            Some(ConstraintInfo {
                kind: ConstraintKind::Unique | ConstraintKind::UniqueIndex,
                ..
            }) => self.drop_index(table, name),
            Some(ConstraintInfo {
                kind: ConstraintKind::ForeignKey,
                ..
            }) => vec![Ddl::tx(format!(
                "ALTER TABLE {t} DROP FOREIGN KEY {}{online}",
                self.q(name)
            ))],
            // A CHECK written after a column is part of its definition:
            // restating the definition without it drops it.
            Some(ConstraintInfo {
                column: Some(column),
                ..
            }) => vec![Ddl::tx(format!(
                "ALTER TABLE {t} MODIFY COLUMN {}{online}",
                self.definition(column)
            ))],
            Some(_) => vec![Ddl::tx(format!(
                "ALTER TABLE {t} DROP CONSTRAINT {}{online}",
                self.q(name)
            ))],
            None => vec![Ddl::tx(format!(
                "ALTER TABLE {t} DROP CONSTRAINT {}",
                self.q(name)
            ))],
        })
    }

    fn as_column(&self, expr: &str, column: &ColumnInfo) -> String {
        // A string expression carries the connection's collation, which
        // MariaDB refuses to compare with a column's different one.
        match &column.collation {
            Some(c) => {
                let charset = c.split('_').next().unwrap_or(c);
                format!("CONVERT(({expr}) USING {charset}) COLLATE {c}")
            }
            None => expr.to_owned(),
        }
    }

    fn rename_table(
        &self,
        from: &str,
        to: &str,
        columns: &[ColumnInfo],
        _key: Option<&str>,
    ) -> ConstraintSql {
        // DDL is not transactional here, so the table and the view change
        // places in one atomic RENAME TABLE: the view that will carry the
        // old name is made first, over a view with the new name, which the
        // table then replaces (RENAME TABLE renames views too).
        let (f, t) = (self.q(from), self.q(to));
        let staged = self.q(&format!("lockstep_view_{from}"));
        let gone = self.q(&format!("lockstep_gone_{from}"));
        let list = select_list(self, columns);
        ConstraintSql {
            expand: vec![
                Ddl::tx(format!(
                    "CREATE OR REPLACE VIEW {t} AS SELECT {list} FROM {f}"
                )),
                Ddl::tx(format!(
                    "CREATE OR REPLACE VIEW {staged} AS SELECT {list} FROM {t}"
                )),
                Ddl::tx(format!(
                    "RENAME TABLE {t} TO {gone}, {f} TO {t}, {staged} TO {f}"
                )),
                Ddl::tx(format!("DROP VIEW IF EXISTS {gone}")),
            ],
            contract: vec![Ddl::tx(format!("DROP VIEW IF EXISTS {f}"))],
            undo: vec![
                Ddl::tx(format!("RENAME TABLE {f} TO {gone}, {t} TO {f}")),
                Ddl::tx(format!("DROP VIEW IF EXISTS {gone}")),
            ],
        }
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
