//! The rules of a row trigger on PostgreSQL (plpgsql) and MySQL/MariaDB
//! (compound statements), which differ only in keywords and operators:
//! one builder, given the dialect's [`RowTrigger`] syntax. A rule compares
//! through [`OnlineSql::differs`] (`IS DISTINCT FROM`, `<=>`).

use super::online::{InsertBranch, OnlineSql, SyncRule};

/// A dialect's syntax for the IF chains of a BEFORE row trigger.
pub(super) struct RowTrigger {
    /// The keyword of a chain's later branches: `ELSIF`, `ELSEIF`.
    pub elsif: &'static str,
    /// What starts an assignment: nothing, `SET `.
    pub set: &'static str,
    /// The assignment operator: `:=`, `=`.
    pub assign: &'static str,
}

impl RowTrigger {
    /// `target` gets `value`, as one statement.
    fn assign(&self, target: &str, value: &str) -> String {
        format!("{}{target} {} {value};", self.set, self.assign)
    }

    /// The IF/ELSIF chain of the INSERT branches: each assigns its columns
    /// to the local variable of that name, which the expressions after it
    /// see, and to the new row.
    pub fn inserts(&self, g: &dyn OnlineSql, list: &[InsertBranch]) -> String {
        self.chain(list.iter().map(|b| {
            let body: Vec<String> = b
                .assign
                .iter()
                .map(|(col, expr)| {
                    let c = g.q(col);
                    format!(
                        "{} {}",
                        self.assign(&c, &format!("({expr})")),
                        self.assign(&format!("NEW.{c}"), &c)
                    )
                })
                .collect();
            (arrived(g, b).join(" AND "), body.join("\n        "))
        }))
    }

    /// The IF/ELSIF chain of the UPDATE rules: a rule applies when its
    /// source changed and its target did not.
    pub fn updates(&self, g: &dyn OnlineSql, rules: &[SyncRule]) -> String {
        self.chain(rules.iter().map(|r| {
            let (src, target) = (g.q(&r.source), g.q(&r.target));
            let changed = g.differs(&format!("NEW.{src}"), &format!("OLD.{src}"));
            let kept = g.differs(&format!("NEW.{target}"), &format!("OLD.{target}"));
            (
                format!("{changed} AND NOT ({kept})"),
                self.assign(&format!("NEW.{target}"), &format!("({})", r.expr)),
            )
        }))
    }

    /// `IF cond THEN body ELSIF … END IF;`, or nothing without arms.
    fn chain(&self, arms: impl Iterator<Item = (String, String)>) -> String {
        let mut out = String::new();
        for (i, (cond, body)) in arms.enumerate() {
            let kw = if i == 0 { "IF" } else { self.elsif };
            out.push_str(&format!("      {kw} {cond} THEN\n        {body}\n"));
        }
        if !out.is_empty() {
            out.push_str("      END IF;\n");
        }
        out
    }
}

/// The conditions under which an INSERT branch applies: its `null`
/// columns arrived NULL and its `set` columns did not (all dialects).
pub(super) fn arrived(g: &dyn OnlineSql, b: &InsertBranch) -> Vec<String> {
    b.null
        .iter()
        .map(|c| format!("NEW.{} IS NULL", g.q(c)))
        .chain(b.set.iter().map(|c| format!("NEW.{} IS NOT NULL", g.q(c))))
        .collect()
}
