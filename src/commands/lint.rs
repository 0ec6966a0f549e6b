//! `lint`: report SQL migrations that are unsafe for a rolling deploy; exit
//! 1 on any finding. (`apply` reports the findings of pending migrations as
//! warnings.)

use super::Ctx;
use crate::plan::lint;
use crate::report::payload::{LintFinding, LintPayload, Payload};
use crate::report::Report;
use anyhow::Result;

pub fn run(ctx: &Ctx) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    let findings = lint::lint(&migrations, &ctx.migrations_display(), None);
    let mut report = ctx.new_report();
    report.payload = Payload::Lint(LintPayload {
        findings: findings
            .iter()
            .map(|f| LintFinding {
                path: f.path.clone(),
                line: f.line,
                rule: f.rule.to_owned(),
                dialect: f.dialect.to_owned(),
                message: f.message.clone(),
            })
            .collect(),
    });
    if findings.is_empty() {
        report.msg = format!("no findings in {} migrations", migrations.len());
    } else {
        report.fail(format!(
            "{} finding{}:\n{}",
            findings.len(),
            crate::report::plural(findings.len()),
            findings
                .iter()
                .map(|f| f.describe())
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(report)
}
