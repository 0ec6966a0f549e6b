//! The human rendering of a [`Report`]: a short summary an operator reads at
//! a glance, tables for `status`, the SQL for `sql`, diffs for `plan`.
//! Colour only on a terminal and never with `NO_COLOR`.

use super::Report;
use std::fmt::Write;
use std::io::IsTerminal;

/// Whether text written to `stream` may carry colour codes: only when it is
/// a terminal and `NO_COLOR` is unset (<https://no-color.org>), so a
/// redirected stream or a log file never gets escape codes.
pub fn use_colour(stream: &impl IsTerminal) -> bool {
    std::env::var_os("NO_COLOR").is_none() && stream.is_terminal()
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

/// A table: columns as wide as their widest cell, two spaces apart,
/// indented by two; `paint` colours a cell after it is padded, so colour
/// codes never shift the columns.
fn table(
    out: &mut String,
    header: &[&str],
    rows: &[Vec<String>],
    paint: impl Fn(usize, &str) -> String,
) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::from(" ");
        for (i, cell) in cells.into_iter().enumerate() {
            text.push(' ');
            text.push_str(&cell);
            if i < last {
                let pad = widths[i].saturating_sub(plain_width(&cell)) + 1;
                text.push_str(&" ".repeat(pad));
            }
        }
        text.trim_end().to_owned()
    };
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect())
    );
    for row in rows {
        let cells = row.iter().enumerate().map(|(i, c)| paint(i, c)).collect();
        let _ = writeln!(out, "{}", line(cells));
    }
}

/// Display width of a cell, ignoring colour codes.
fn plain_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

fn str_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::Array(items) if items.is_empty() => "-".to_owned(),
        serde_json::Value::Array(items) => items.iter().map(str_of).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn state_colour(p: &Paint, state: &str) -> String {
    match state {
        "applied" => p.green(state),
        "failed" | "running" | "missing" => p.red(state),
        _ => p.yellow(state),
    }
}

fn checksum_cell(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "ok".to_owned(),
        Some(false) => "EDITED".to_owned(),
        None => "-".to_owned(),
    }
}

/// What `--quiet` prints: the error alone, nothing on success.
pub fn render_quiet(report: &Report, colour: bool) -> String {
    if !report.failed {
        return String::new();
    }
    format!("{} {}\n", Paint(colour).red("error:"), report.msg)
}

pub fn render(report: &Report, colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    let db = &report.database;
    // status: which settings file and state dir were used.
    if report.extra.contains_key("state_dir") {
        let settings = match report.extra.get("settings_file").and_then(|v| v.as_str()) {
            Some(file) if report.extra.get("system_mode") == Some(&true.into()) => {
                format!("{file} (system mode)")
            }
            Some(file) => file.to_owned(),
            None => "none (defaults)".to_owned(),
        };
        let _ = writeln!(out, "{} {settings}", p.bold("settings"));
        for (key, label) in [
            ("state_dir", "state dir"),
            ("migrations_dir", "migrations"),
            ("config_migrations_dir", "config migrations"),
            ("config_root", "config root"),
        ] {
            if let Some(dir) = report.extra.get(key).and_then(|v| v.as_str()) {
                let _ = writeln!(out, "{} {dir}", p.bold(label));
            }
        }
    }
    if !db.url.is_empty() {
        let _ = writeln!(out, "{} {} ({})", p.bold("database"), db.url, db.dialect);
    }
    if let Some(sql) = report.extra.get("sql").and_then(|v| v.as_str()) {
        out.push_str(sql);
    }
    if let Some(rows) = &db.migrations {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.version.clone(),
                    r.slug.clone(),
                    r.phase.clone(),
                    r.state.clone(),
                    r.applied_at.clone().unwrap_or_else(|| "-".to_owned()),
                    checksum_cell(r.checksum_ok),
                ]
            })
            .collect();
        if cells.is_empty() {
            let _ = writeln!(out, "  no migrations");
        } else {
            table(
                &mut out,
                &[
                    "version",
                    "slug",
                    "phase",
                    "state",
                    "applied at",
                    "checksum",
                ],
                &cells,
                |col, cell| match (col, cell) {
                    (3, state) => state_colour(&p, state),
                    (5, "ok") => p.green(cell),
                    (5, "EDITED") => p.red(cell),
                    _ => cell.to_owned(),
                },
            );
        }
        for (r, failure) in rows.iter().filter_map(|r| Some((r, r.failure.as_ref()?))) {
            let _ = writeln!(out, "  {} {}: {}", p.red(&r.state), r.version, failure.msg);
        }
    }
    status_backfills(&mut out, report, &p);
    // status: the config side as two tables, files and config migrations.
    let status = report.extra.contains_key("state_dir");
    if let Some(migrations) = report
        .extra
        .get("config_migrations")
        .and_then(|v| v.as_array())
        .filter(|_| status)
    {
        let _ = writeln!(out, "{}", p.bold("config files"));
        let files: Vec<Vec<String>> = report
            .config
            .files
            .iter()
            .map(|f| {
                vec![
                    str_of(&f["path"]),
                    str_of(&f["pending"]),
                    if f["drifted"] == true { "EDITED" } else { "ok" }.to_owned(),
                    str_of(&f["sha256"]),
                ]
            })
            .collect();
        if files.is_empty() {
            let _ = writeln!(out, "  no config files");
        } else {
            table(
                &mut out,
                &["file", "pending", "by hand", "sha256"],
                &files,
                |col, cell| match (col, cell) {
                    (1, "-") => cell.to_owned(),
                    (1, _) => p.yellow(cell),
                    (2, "ok") => p.green(cell),
                    (2, _) => p.red(cell),
                    _ => cell.to_owned(),
                },
            );
        }
        let _ = writeln!(out, "{}", p.bold("config migrations"));
        let rows: Vec<Vec<String>> = migrations
            .iter()
            .map(|m| {
                vec![
                    str_of(&m["version"]),
                    str_of(&m["slug"]),
                    str_of(&m["file"]),
                    str_of(&m["phase"]),
                    str_of(&m["state"]),
                    str_of(&m["applied_at"]),
                    checksum_cell(m["checksum_ok"].as_bool()),
                ]
            })
            .collect();
        if rows.is_empty() {
            let _ = writeln!(out, "  no config migrations");
        } else {
            table(
                &mut out,
                &[
                    "version",
                    "slug",
                    "file",
                    "phase",
                    "state",
                    "applied at",
                    "checksum",
                ],
                &rows,
                |col, cell| match (col, cell) {
                    (4, state) => state_colour(&p, state),
                    (6, "ok") => p.green(cell),
                    (6, "EDITED") => p.red(cell),
                    _ => cell.to_owned(),
                },
            );
        }
    }
    if let Some(hosts) = report.extra.get("hosts").and_then(|v| v.as_array()) {
        if status {
            let _ = writeln!(out, "{}", p.bold("hosts"));
            if hosts.is_empty() {
                let _ = writeln!(out, "  no host has checked in");
            }
        }
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
    for b in report
        .extra
        .get("backfills")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let batches = b["batches"].as_i64().unwrap_or(0);
        let _ = writeln!(
            out,
            "  {} {} {}.{}: {} rows in {batches} batch{}{} in {} ms",
            p.green("backfilled"),
            str_of(&b["version"]),
            str_of(&b["table"]),
            str_of(&b["column"]),
            b["rows"].as_i64().unwrap_or(0),
            if batches == 1 { "" } else { "es" },
            match b["resumed_after"].as_i64() {
                Some(key) => format!(" (resumed after key {key})"),
                None => String::new(),
            },
            b["duration_ms"].as_u64().unwrap_or(0)
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
    for file in report.config.files.iter().filter(|_| !status) {
        let path = file["path"].as_str().unwrap_or("");
        let state = match (file["changed"] == true, file["drifted"] == true) {
            (true, _) if report.check_mode => p.yellow("would change"),
            (true, _) => p.yellow("changed"),
            (false, true) => p.red("edited by hand"),
            (false, false) => p.green("ok"),
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
    } else if report.extra.get("healthy") == Some(&false.into()) {
        // status: something needs a look, though reading it did not fail.
        let _ = writeln!(out, "{} {}", p.red("attention:"), report.msg);
    } else {
        let prefix = if report.changed {
            // The message says "would …" itself in check mode.
            p.yellow(if report.check_mode {
                "check:"
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

/// status: the backfills that have not finished, with how far they got.
fn status_backfills(out: &mut String, report: &Report, p: &Paint) {
    let Some(backfills) = report
        .extra
        .get("backfills_in_progress")
        .and_then(|v| v.as_array())
        .filter(|_| report.extra.contains_key("healthy"))
    else {
        return;
    };
    if backfills.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", p.bold("backfills in progress"));
    for b in backfills {
        let along = match (&b["last_key"], &b["max_key"], &b["percent"]) {
            (last, max, pct) if pct.is_i64() && max.is_i64() => {
                format!(
                    ", key {} of {} ({}%)",
                    str_of(last),
                    str_of(max),
                    str_of(pct)
                )
            }
            _ => String::new(),
        };
        let _ =
            writeln!(
            out,
            "  {} {}.{}: {} rows in {} {}{along}, last batch {}; `lockstep backfill` resumes it",
            str_of(&b["version"]),
            str_of(&b["table"]),
            str_of(&b["column"]),
            str_of(&b["rows"]),
            str_of(&b["batches"]),
            if b["batches"] == 1 { "batch" } else { "batches" },
            str_of(&b["updated_at"]),
        );
    }
}
