//! The human rendering of a [`Report`]: a short summary an operator reads at
//! a glance, tables for `status`, the SQL for `sql`, diffs for `plan`.
//! Colour only on a terminal and never with `NO_COLOR`.

use super::Report;
use std::fmt::Write;
use std::io::IsTerminal;

pub fn use_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
}

pub fn render(report: &Report, colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    let db = &report.database;
    if !db.url.is_empty() {
        let _ = writeln!(out, "{} {} ({})", p.bold("database"), db.url, db.dialect);
    }
    if let Some(sql) = report.extra.get("sql").and_then(|v| v.as_str()) {
        out.push_str(sql);
    }
    if let Some(rows) = &db.migrations {
        let _ = writeln!(
            out,
            "  {:<16} {:<24} {:<9} {:<22} {:<24} checksum",
            "version", "slug", "phase", "state", "applied at"
        );
        for r in rows {
            let checksum = match r.checksum_ok {
                Some(true) => p.green("ok"),
                Some(false) => p.red("EDITED"),
                None => "-".to_owned(),
            };
            let state = match r.state.as_str() {
                "applied" => p.green(&r.state),
                "failed" | "running" | "missing" => p.red(&r.state),
                _ => p.yellow(&r.state),
            };
            let pad = 22usize.saturating_sub(r.state.chars().count());
            let _ = writeln!(
                out,
                "  {:<16} {:<24} {:<9} {state}{:pad$} {:<24} {checksum}",
                r.version,
                r.slug,
                r.phase,
                "",
                r.applied_at.as_deref().unwrap_or("-"),
            );
        }
    }
    if let Some(hosts) = report.extra.get("hosts").and_then(|v| v.as_array()) {
        for h in hosts {
            let _ = writeln!(
                out,
                "  {:<24} at {:<16} checked in {}{}",
                h["host_id"].as_str().unwrap_or(""),
                h["version"].as_str().unwrap_or(""),
                h["checked_in_at"].as_str().unwrap_or(""),
                if h["retired"] == true {
                    " (retired)"
                } else {
                    ""
                }
            );
        }
    }
    for a in &db.applied {
        let _ = writeln!(
            out,
            "  {} {}_{} ({}) in {} ms",
            p.green("applied"),
            a.version,
            a.slug,
            a.part,
            a.duration_ms
        );
    }
    for a in &db.rolled_back {
        let _ = writeln!(
            out,
            "  {} {}_{} in {} ms",
            p.yellow("rolled back"),
            a.version,
            a.slug,
            a.duration_ms
        );
    }
    if db.migrations.is_none() {
        for pending in &db.pending {
            let _ = writeln!(
                out,
                "  {} {}_{} ({})",
                p.yellow("pending"),
                pending.version,
                pending.slug,
                pending.part
            );
        }
    }
    for file in &report.config.files {
        let path = file["path"].as_str().unwrap_or("");
        let state = if file["changed"] == true {
            p.yellow("changed")
        } else {
            p.green("ok")
        };
        let _ = writeln!(out, "{} {path}: {state}", p.bold("config"));
    }
    for d in &report.diff {
        if let Some(prepared) = &d.prepared {
            let _ = writeln!(out, "--- {}", d.before_header);
            out.push_str(prepared);
        }
        if let (Some(before), Some(after)) = (&d.before, &d.after) {
            let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str());
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(&d.before_header, &d.after_header)
                .to_string();
            for line in text.lines() {
                let coloured = if line.starts_with('+') && !line.starts_with("+++") {
                    p.green(line)
                } else if line.starts_with('-') && !line.starts_with("---") {
                    p.red(line)
                } else {
                    line.to_owned()
                };
                let _ = writeln!(out, "{coloured}");
            }
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{} {w}", p.yellow("warning:"));
    }
    if report.failed {
        let _ = writeln!(out, "{} {}", p.red("error:"), report.msg);
    } else {
        let prefix = if report.changed {
            p.yellow(if report.check_mode {
                "would change:"
            } else {
                "changed:"
            })
        } else {
            p.green("ok:")
        };
        let _ = writeln!(out, "{prefix} {}", report.msg);
    }
    out
}
