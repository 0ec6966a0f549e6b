//! Flags SQL migrations that are unsafe while old and new application
//! versions share the database: each finding names the file, line, rule and
//! the safe alternative. Pure text analysis of each statement, per dialect
//! (a portable script is checked as every dialect would run it).
//! `-- lockstep:lint-ignore RULE reason` before a statement silences that
//! rule for it.

use crate::db::dialect::Dialect;
use crate::db::migration::Migration;
use crate::db::statements;
use crate::vocabulary::Phase;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub rule: &'static str,
    pub dialect: &'static str,
    pub message: String,
}

impl Finding {
    pub fn describe(&self) -> String {
        format!(
            "{}:{}: [{}] {}",
            self.path, self.line, self.rule, self.message
        )
    }
}

/// Every rule, with the safe alternative it suggests.
pub const RULES: &[(&str, &str)] = &[
    ("add_not_null_without_default", "adding a NOT NULL column without a default fails for old code's inserts (and rewrites the table on some databases); add it nullable, backfill, then constrain it in a contract migration, or give it a DEFAULT"),
    ("volatile_default", "a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp()) rewrites the whole table under an exclusive lock; add the column without a default and backfill it in batches"),
    ("set_not_null", "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock; add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL"),
    ("index_not_concurrent", "CREATE INDEX on an existing table blocks writes until it is built; use CREATE INDEX CONCURRENTLY with `-- lockstep:up transaction=false`"),
    ("concurrently_in_transaction", "CONCURRENTLY cannot run inside a transaction; mark the section `-- lockstep:up transaction=false`"),
    ("constraint_not_valid", "adding a FOREIGN KEY or CHECK validates every row under a lock; add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"),
    ("unique_constraint", "ADD UNIQUE builds its index under a lock; CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX"),
    ("column_type_change", "changing a column's type rewrites the table and breaks old code reading it; use a YAML alter_column (new column, sync triggers, backfill, contract)"),
    ("rename", "renaming breaks old code that still uses the old name; use a YAML rename_column (both names kept in sync until contract)"),
    ("rename_table", "renaming a table breaks old code that still uses the old name; use a YAML rename_table (the old name stays a view old code can read and write until contract)"),
    ("drop_in_expand", "an expand migration runs while old code is live: dropping breaks it; move the DROP to a `-- lockstep:phase contract` migration"),
    ("create_in_contract", "a contract migration runs after the rollout: new code already needed this; move it to an expand migration"),
    ("dialect_coverage", "a migration with `up` SQL for fewer dialects than the migrations around it is recorded as skipped on the others and never runs there; add the missing `-- lockstep:up dialect=…` sections (or a portable `-- lockstep:up`), or say why with `-- lockstep:lint-ignore dialect_coverage REASON`"),
    ("mysql_copy_algorithm", "ALGORITHM=COPY or LOCK=SHARED/EXCLUSIVE blocks writes for the whole copy; use ALGORITHM=INPLACE (or INSTANT), LOCK=NONE"),
];

fn advice(rule: &str) -> &'static str {
    RULES
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or("", |(_, a)| a)
}

/// Findings for every SQL migration (YAML ones are safe by construction),
/// as every dialect would run it, or only `only`. Linting every dialect
/// also compares each migration's dialects with its neighbours'.
pub fn lint(migrations: &[Migration], dir: &str, only: Option<Dialect>) -> Vec<Finding> {
    let mut out: BTreeSet<Finding> = if only.is_none() {
        dialect_coverage(migrations, dir).into_iter().collect()
    } else {
        BTreeSet::new()
    };
    for m in migrations.iter().filter(|m| m.online.is_none()) {
        let path = format!("{dir}/{}", m.path.display());
        let mut created_tables: BTreeSet<String> = BTreeSet::new();
        for dialect in Dialect::ALL {
            if only.is_some_and(|d| d != dialect) {
                continue;
            }
            let Some(script) = m.up.for_dialect(dialect) else {
                continue;
            };
            let stmts = statements::split(&script.sql, dialect);
            for (i, stmt) in stmts.iter().enumerate() {
                let line = script.line + stmt.line - 1;
                let previous = if i == 0 {
                    0
                } else {
                    script.line + stmts[i - 1].line - 1
                };
                let text = normalise(&stmt.sql);
                if let Some(t) = word_after(&text, "CREATE TABLE ") {
                    created_tables.insert(t);
                }
                for rule in rules_for(&text, dialect, m.phase, script.transaction, &created_tables)
                {
                    let ignored = m.lint_ignores.iter().any(|(l, r)| {
                        r == rule && *l > previous && *l < line.max(previous + 1) + 1
                    });
                    if !ignored {
                        out.insert(Finding {
                            path: path.clone(),
                            line,
                            rule,
                            dialect: dialect.as_str(),
                            message: advice(rule).to_owned(),
                        });
                    }
                }
            }
        }
    }
    // One finding per place and rule, whichever dialect found it first.
    let mut seen = BTreeSet::new();
    out.into_iter()
        .filter(|f| seen.insert((f.path.clone(), f.line, f.rule)))
        .collect()
}

const DIALECTS: [Dialect; 3] = Dialect::ALL;

/// The dialects a migration has `up` SQL for (a YAML migration compiles
/// for all of them).
fn coverage(m: &Migration) -> BTreeSet<Dialect> {
    DIALECTS
        .into_iter()
        .filter(|d| m.online.is_some() || m.up.for_dialect(*d).is_some())
        .collect()
}

fn names(dialects: &BTreeSet<Dialect>) -> String {
    let names: Vec<&str> = DIALECTS
        .iter()
        .filter(|d| dialects.contains(d))
        .map(|d| d.as_str())
        .collect();
    names.join(", ")
}

/// A migration whose dialects differ from those of the migrations before
/// and after it (which agree with each other), or of its only neighbour:
/// likely a section forgotten when a folder serves several databases.
fn dialect_coverage(migrations: &[Migration], dir: &str) -> Vec<Finding> {
    let covered: Vec<BTreeSet<Dialect>> = migrations.iter().map(coverage).collect();
    let mut out = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        let before = i.checked_sub(1).map(|b| (b, &covered[b]));
        let after = covered.get(i + 1).map(|a| (i + 1, a));
        let neighbours: Vec<(usize, &BTreeSet<Dialect>)> =
            before.into_iter().chain(after).collect();
        let Some((_, expected)) = neighbours.first() else {
            continue;
        };
        let agree = neighbours.iter().all(|(_, c)| c == expected);
        if !agree || covered[i] == **expected || covered[i].is_superset(expected) {
            continue;
        }
        if m.lint_ignores.iter().any(|(_, r)| r == "dialect_coverage") {
            continue;
        }
        let missing = DIALECTS
            .into_iter()
            .find(|d| expected.contains(d) && !covered[i].contains(d));
        let versions: Vec<String> = neighbours
            .iter()
            .map(|(n, _)| migrations[*n].version.to_string())
            .collect();
        out.push(Finding {
            path: format!("{dir}/{}", m.path.display()),
            line: 1,
            rule: "dialect_coverage",
            dialect: missing.map_or("", Dialect::as_str),
            message: format!(
                "up SQL for {} only, while {} {} it for {}: {}",
                if covered[i].is_empty() {
                    "no dialect".to_owned()
                } else {
                    names(&covered[i])
                },
                versions.join(" and "),
                if versions.len() == 1 { "has" } else { "have" },
                names(expected),
                advice("dialect_coverage")
            ),
        });
    }
    out
}

/// Upper case, comments removed, whitespace folded, quotes of identifiers dropped.
fn normalise(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for line in sql.lines() {
        let line = match line.find("--") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(line);
        out.push(' ');
    }
    let upper = out.to_ascii_uppercase().replace(['"', '`'], "");
    upper.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn word_after(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    rest.split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .map(str::to_owned)
}

fn rules_for(
    t: &str,
    d: Dialect,
    phase: Phase,
    in_transaction: bool,
    created: &BTreeSet<String>,
) -> Vec<&'static str> {
    let mut rules = Vec::new();
    let pg = d.sql().concurrent_ddl();
    let altered = word_after(t, "ALTER TABLE ");
    let existing = |table: Option<String>| table.is_some_and(|n| !created.contains(&n));
    if let Some(def) = after(t, "ADD COLUMN ").or_else(|| {
        after(t, " ADD ").filter(|r| {
            !starts_with_any(
                r,
                &[
                    "CONSTRAINT",
                    "UNIQUE",
                    "INDEX",
                    "KEY",
                    "PRIMARY",
                    "FOREIGN",
                    "CHECK",
                ],
            )
        })
    }) {
        if def.contains("NOT NULL") && !def.contains("DEFAULT") {
            rules.push("add_not_null_without_default");
        }
        if pg
            && [
                "RANDOM(",
                "GEN_RANDOM_UUID(",
                "UUID_GENERATE",
                "CLOCK_TIMESTAMP(",
                "TIMEOFDAY(",
            ]
            .iter()
            .any(|f| def.contains(&format!("DEFAULT {f}")))
        {
            rules.push("volatile_default");
        }
        if phase == Phase::Contract {
            rules.push("create_in_contract");
        }
    }
    if pg && t.contains("ALTER COLUMN") && t.contains("SET NOT NULL") {
        rules.push("set_not_null");
    }
    if t.starts_with("CREATE INDEX") || t.starts_with("CREATE UNIQUE INDEX") {
        let table = word_after(t, " ON ").map(|n| n.trim_start_matches("ONLY ").to_owned());
        if pg && !t.contains("CONCURRENTLY") && existing(table) {
            rules.push("index_not_concurrent");
        }
        if phase == Phase::Contract {
            rules.push("create_in_contract");
        }
    }
    if pg && t.contains("CONCURRENTLY") && in_transaction {
        rules.push("concurrently_in_transaction");
    }
    if t.contains("ADD CONSTRAINT") || t.contains(" ADD FOREIGN KEY") || t.contains(" ADD CHECK") {
        let fk_or_check = t.contains("FOREIGN KEY") || t.contains("CHECK");
        if pg && fk_or_check && !t.contains("NOT VALID") && existing(altered.clone()) {
            rules.push("constraint_not_valid");
        }
        if t.contains(" UNIQUE") && !t.contains("USING INDEX") && existing(altered.clone()) {
            rules.push("unique_constraint");
        }
    } else if t.contains(" ADD UNIQUE") && existing(altered.clone()) {
        rules.push("unique_constraint");
    }
    if (t.contains("ALTER COLUMN") && (t.contains(" TYPE ") || t.contains("SET DATA TYPE")))
        || (d.sql().alter_algorithms()
            && altered.is_some()
            && (t.contains(" MODIFY ") || t.contains(" CHANGE ")))
    {
        rules.push("column_type_change");
    }
    if t.starts_with("RENAME TABLE")
        || (altered.is_some() && (t.contains(" RENAME TO ") || t.contains(" RENAME AS ")))
    {
        rules.push("rename_table");
    } else if t.contains("RENAME COLUMN") || (altered.is_some() && t.contains(" RENAME ")) {
        rules.push("rename");
    }
    if phase == Phase::Expand
        && (t.starts_with("DROP ")
            || (altered.is_some()
                && (t.contains(" DROP COLUMN")
                    || t.contains(" DROP CONSTRAINT")
                    || t.contains(" DROP INDEX")
                    || t.contains(" DROP FOREIGN KEY"))))
    {
        rules.push("drop_in_expand");
    }
    if phase == Phase::Contract && t.starts_with("CREATE TABLE") {
        rules.push("create_in_contract");
    }
    if d.sql().alter_algorithms()
        && (t.contains("ALGORITHM=COPY")
            || t.contains("ALGORITHM = COPY")
            || t.contains("LOCK=EXCLUSIVE")
            || t.contains("LOCK = EXCLUSIVE")
            || t.contains("LOCK=SHARED")
            || t.contains("LOCK = SHARED"))
    {
        rules.push("mysql_copy_algorithm");
    }
    rules.dedup();
    rules
}

fn after<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.find(needle).map(|i| &text[i + needle.len()..])
}

fn starts_with_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.starts_with(w))
}
