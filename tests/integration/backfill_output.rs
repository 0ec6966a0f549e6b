//! What an operator sees of a backfill: the finished run's summary (rows,
//! batches, duration, in human and JSON output), and an interrupted one
//! (SIGINT, SIGTERM) saying how to resume.

use crate::databases::Kind;
use crate::load::{seed_users, users_table};
use crate::test::Test;
use std::time::{Duration, Instant};

/// users with `rows` rows, applied; 0002 renames users.mail (a backfill).
fn project(rows: u64) -> Option<Test> {
    let t = Test::with_db(Kind::Sqlite)?;
    t.migration(
        "0001_users.sql",
        &format!(
            "-- lockstep:up\n{};\n{};\n",
            users_table(Kind::Sqlite),
            seed_users(Kind::Sqlite, rows)
        ),
    );
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    Some(t)
}

#[test]
fn the_summary_reports_rows_batches_and_duration() {
    let Some(t) = project(2500) else { return };
    let (code, stdout, stderr) = t.run_raw(&[
        "--database",
        &t.db().url,
        "apply",
        "--phase",
        "expand",
        "--batch-size",
        "1000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("  backfilled "))
        .unwrap_or_else(|| panic!("no backfill summary: {stdout}"));
    // Batches shrink when they run over their time budget: at least 3.
    let rest = line
        .strip_prefix("  backfilled 0002 users.email: 2500 rows in ")
        .unwrap_or_else(|| panic!("{line}"));
    let (batches, rest) = rest.split_once(" batches in ").expect(line);
    assert!(batches.parse::<u32>().unwrap() >= 3, "{line}");
    assert!(
        rest.ends_with(" ms") && rest.trim_end_matches(" ms").parse::<u64>().is_ok(),
        "{line}"
    );

    t.run(&["rollback", "--to", "0001"]).assert_ok();
    let out = t.run(&["apply", "--phase", "expand", "--batch-size", "1000"]);
    out.assert_ok();
    let b = &out.json["backfills"][0];
    assert_eq!(b["rows"], 2500, "{b}");
    assert_eq!(
        (b["min_key"].as_i64(), b["max_key"].as_i64()),
        (Some(1), Some(2500)),
        "{b}"
    );
    assert!(b["batches"].as_i64().unwrap() >= 3, "{b}");
    assert!(b["duration_ms"].is_u64(), "{b}");
}

/// Starts a slow backfill, waits for a few committed batches, sends
/// `signal`, and returns the run's output and the key it stopped after.
fn interrupt(t: &Test, signal: &str) -> (crate::test::Output, i64) {
    let slow: Vec<&str> = "apply --phase expand --batch-size 100 --batch-sleep 20"
        .split(' ')
        .collect();
    let child = t
        .command(&slow)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(t.db().tables().contains(&"lockstep_backfills".to_owned())
        && t.db()
            .count("SELECT COUNT(*) FROM lockstep_backfills WHERE batches >= 3")
            > 0)
    {
        assert!(Instant::now() < deadline, "the backfill never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = crate::test::output(child.wait_with_output().unwrap());
    let last_key = t.db().count("SELECT last_key FROM lockstep_backfills");
    (out, last_key)
}

#[test]
fn an_interrupted_backfill_says_how_to_resume() {
    let Some(t) = project(20_000) else { return };
    let (out, last_key) = interrupt(&t, "-INT");
    out.assert_failed();
    let batches = t.db().count("SELECT batches FROM lockstep_backfills");
    let rows = t.db().count("SELECT rows_done FROM lockstep_backfills");
    assert_eq!(
        out.msg(),
        format!(
            "backfill of migration 0002 interrupted by SIGINT (Ctrl-C) after key {last_key} \
             (users.email: {rows} rows in {batches} batches committed, kept); run `lockstep backfill` to resume \
             it after its last committed batch (`lockstep apply` resumes it too)"
        )
    );
    assert_eq!(out.json["problems"][0]["kind"], "interrupted");
    assert!(last_key < 20_000, "{last_key}");
    assert_eq!(t.db().history(), ["0001:applied", "0002:expanded"]);

    // As it says: backfill resumes after the last committed batch.
    let resumed = t.run(&["backfill"]);
    resumed.assert_ok();
    assert_eq!(resumed.json["backfills"][0]["resumed_after"], last_key);
    assert_eq!(resumed.json["backfills"][0]["rows"], 20_000);
}

#[test]
fn sigterm_stops_a_backfill_the_same_way() {
    let Some(t) = project(20_000) else { return };
    let (out, last_key) = interrupt(&t, "-TERM");
    out.assert_failed();
    assert!(
        out.msg().starts_with(&format!(
            "backfill of migration 0002 interrupted by SIGTERM after key {last_key} ("
        )),
        "{}",
        out.msg()
    );
    assert!(
        out.msg().contains("run `lockstep backfill` to resume"),
        "{}",
        out.msg()
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), the bar
/// shows the share of the key range done, rows, the rate and time left.
#[test]
fn on_a_terminal_the_bar_shows_percent_rate_and_time_left() {
    let Some(t) = project(3000) else { return };
    let command = format!(
        "{} --host-id test-host --database '{}' apply --phase expand --batch-size 100 --batch-sleep 30",
        env!("CARGO_BIN_EXE_lockstep"),
        t.db().url
    );
    let out = std::process::Command::new("script")
        .current_dir(t.path())
        .env(
            "LOCKSTEP_SYSTEM_CONFIG",
            t.path().join("no-system-settings.ini"),
        )
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("this test needs `script` (util-linux, Debian package bsdutils)");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    let drawn = screen
        .split(['\r', '\n'])
        .find(|l| {
            l.contains("backfill 0002: [") && l.contains(" left, ") && l.contains(" rows/s, ")
        })
        .unwrap_or_else(|| panic!("no progress bar drawn: {screen:?}"));
    assert!(
        drawn.contains("%, ") && drawn.contains("users.email: "),
        "{drawn:?}"
    );
    assert!(
        screen.contains(" 0002 users.email: 3000 rows in "),
        "{screen:?}"
    );
}
