//! The human rendering of a [`Report`]: a short summary an operator reads at
//! a glance, tables for `status`, the SQL for `sql`, diffs for `plan`.
//! Colour only on a terminal and never with `NO_COLOR`.

use super::payload::{ApplyPayload, Payload, StatusPayload};
use super::{ConfigFile, Report};
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

/// A cell: the value, or `-` for none.
fn or_dash(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A cell of a list: its items separated by spaces, or `-` for none.
fn list_cell(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(" ")
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
    let status = match &report.payload {
        Payload::Status(s) => Some(s),
        _ => None,
    };
    if let Some(s) = status {
        let settings = match &s.settings_file {
            Some(file) if s.system_mode => format!("{file} (system mode)"),
            Some(file) => file.clone(),
            None => "none (defaults)".to_owned(),
        };
        let _ = writeln!(out, "{} {settings}", p.bold("settings"));
        for (dir, label) in [
            (&s.state_dir, "state dir"),
            (&s.migrations_dir, "migrations"),
            (&s.config_migrations_dir, "config migrations"),
            (&s.config_root, "config root"),
        ] {
            let _ = writeln!(out, "{} {dir}", p.bold(label));
        }
    }
    if !db.url.is_empty() {
        let _ = writeln!(out, "{} {} ({})", p.bold("database"), db.url, db.dialect);
    }
    if let Payload::Sql(s) = &report.payload {
        out.push_str(&s.sql);
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
    if let Some(s) = status {
        status_backfills(&mut out, s, &p);
    }
    // status: the config side as two tables, files and config migrations.
    if let Some(migrations) = status.map(|s| &s.config_migrations) {
        let _ = writeln!(out, "{}", p.bold("config files"));
        let files: Vec<Vec<String>> = report
            .config
            .files
            .iter()
            .map(|f| {
                let (pending, sha256) = match f {
                    ConfigFile::Status(f) => (list_cell(&f.pending), or_dash(f.sha256.as_ref())),
                    ConfigFile::Applied(_) => ("-".to_owned(), "-".to_owned()),
                };
                vec![
                    f.path().to_owned(),
                    pending,
                    if f.drifted() { "EDITED" } else { "ok" }.to_owned(),
                    sha256,
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
                    m.version.clone(),
                    m.slug.clone(),
                    m.file.clone(),
                    m.phase.clone(),
                    m.state.as_str().to_owned(),
                    or_dash(m.applied_at.as_ref()),
                    checksum_cell(m.checksum_ok),
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
    if let Some(hosts) = report.payload.hosts() {
        if status.is_some() {
            let _ = writeln!(out, "{}", p.bold("hosts"));
            if hosts.is_empty() {
                let _ = writeln!(out, "  no host has checked in");
            }
        }
        for h in hosts {
            let _ = writeln!(
                out,
                "  {:<24} at {:<16} checked in {}{}",
                h.host_id,
                h.version,
                h.checked_in_at,
                if h.retired { " (retired)" } else { "" }
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
    let backfills = match &report.payload {
        Payload::Apply(ApplyPayload {
            backfills: Some(b), ..
        }) => b.as_slice(),
        _ => &[],
    };
    for b in backfills {
        let batches = b.batches;
        let _ = writeln!(
            out,
            "  {} {} {}.{}: {} rows in {batches} batch{}{} in {} ms",
            p.green("backfilled"),
            b.version,
            b.table,
            b.column,
            b.rows,
            if batches == 1 { "" } else { "es" },
            match b.resumed_after {
                Some(key) => format!(" (resumed after key {key})"),
                None => String::new(),
            },
            b.duration_ms
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
    for file in report.config.files.iter().filter(|_| status.is_none()) {
        let path = file.path();
        let state = match (file.changed(), file.drifted()) {
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
    } else if status.is_some_and(|s| !s.healthy) {
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
fn status_backfills(out: &mut String, status: &StatusPayload, p: &Paint) {
    let backfills = &status.backfills_in_progress;
    if backfills.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", p.bold("backfills in progress"));
    for b in backfills {
        let along = match (b.last_key, b.max_key, b.percent) {
            (last, Some(max), Some(pct)) => {
                format!(", key {} of {max} ({pct}%)", or_dash(last))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {}.{}: {} rows in {} {}{along}, last batch {}; `lockstep backfill` resumes it",
            b.version,
            b.table,
            b.column,
            b.rows,
            b.batches,
            if b.batches == 1 { "batch" } else { "batches" },
            b.updated_at,
        );
    }
}
