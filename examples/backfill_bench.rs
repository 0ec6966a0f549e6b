//! Benchmark of lockstep's batched backfill against one plain UPDATE of the
//! same rows, on a real database, with a concurrent writer measuring its
//! latency. Run through `bench/backfill.sh`, which builds the release
//! binary this drives.
//!
//! For each table size: (1) one `UPDATE t SET copy = val` of every row,
//! timed, then what it left behind settled (VACUUM and CHECKPOINT on
//! PostgreSQL, a WAL checkpoint on SQLite); (2) a writer updating single
//! random rows for 4 s, its p99 latency alone; (3) expand with
//! `--no-backfill` and the writer alone again, now firing the sync trigger;
//! (4) the same writer while `lockstep backfill` fills the new column:
//! lockstep's rows/s, its longest batch, and the writer's p99 during it,
//! as a ratio to (3). SQLite runs in WAL mode unless
//! BACKFILL_BENCH_SQLITE_JOURNAL names another journal mode.

use sqlx::{AnyConnection, Connection, Executor, Row};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: backfill_bench URL LOCKSTEP ROWS...")
        .clone();
    let lockstep = args.get(2).expect("the lockstep binary").clone();
    let sizes: Vec<u64> = args[3..]
        .iter()
        .map(|s| s.parse().expect("row count"))
        .collect();
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| rows | plain UPDATE | lockstep backfill | throughput ratio | longest batch | writer p99 before expand | writer p99 after expand | writer p99 during backfill | p99 ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for rows in sizes {
        rt.block_on(one(&url, &lockstep, rows));
    }
}

fn dialect(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgres"
    } else if url.starts_with("mysql") {
        "mysql"
    } else {
        "sqlite"
    }
}

async fn exec(conn: &mut AnyConnection, sql: &str) {
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn one(url: &str, lockstep: &str, rows: u64) {
    let d = dialect(url);
    let mut conn = AnyConnection::connect(url).await.unwrap();
    if d == "sqlite" {
        exec(&mut conn, "PRAGMA busy_timeout = 60000").await;
        // WAL, as lockstep gives a database it creates and as an
        // application that writes while others read runs SQLite;
        // BACKFILL_BENCH_SQLITE_JOURNAL=delete measures a rollback journal.
        let mode =
            std::env::var("BACKFILL_BENCH_SQLITE_JOURNAL").unwrap_or_else(|_| "wal".to_owned());
        exec(&mut conn, &format!("PRAGMA journal_mode = {mode}")).await;
    }
    for t in [
        "bench",
        "lockstep_migrations",
        "lockstep_log",
        "lockstep_hosts",
        "lockstep_backfills",
        "lockstep_guard",
    ] {
        exec(&mut conn, &format!("DROP TABLE IF EXISTS {t}")).await;
    }
    let (create, seed) = match d {
        "postgres" => (
            "CREATE TABLE bench (id BIGINT PRIMARY KEY, val BIGINT NOT NULL, copy BIGINT)".to_owned(),
            format!("INSERT INTO bench (id, val) SELECT g, g FROM generate_series(1, {rows}) g"),
        ),
        "mysql" => (
            "CREATE TABLE bench (id BIGINT PRIMARY KEY, val BIGINT NOT NULL, copy BIGINT) ENGINE=InnoDB".to_owned(),
            format!(
                "INSERT INTO bench (id, val) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) SELECT n, n FROM s"
            ),
        ),
        _ => (
            "CREATE TABLE bench (id INTEGER PRIMARY KEY, val INTEGER NOT NULL, copy INTEGER)".to_owned(),
            format!(
                "INSERT INTO bench (id, val) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) SELECT n, n FROM s"
            ),
        ),
    };
    exec(&mut conn, &create).await;
    if d == "mysql" {
        exec(
            &mut conn,
            "SET SESSION max_recursive_iterations = 100000000",
        )
        .await;
    }
    exec(&mut conn, &seed).await;
    if d == "postgres" {
        exec(&mut conn, "VACUUM ANALYZE bench").await;
    }

    // (1) One plain UPDATE of every row: the ceiling a backfill is held to.
    let started = Instant::now();
    exec(&mut conn, "UPDATE bench SET copy = val").await;
    let plain = started.elapsed();
    // Settle what that UPDATE left behind (dead rows, dirty pages, a long
    // WAL) so that background cleanup does not land in one of the writer's
    // two measurements and not the other.
    match d {
        "postgres" => {
            exec(&mut conn, "VACUUM bench").await;
            exec(&mut conn, "CHECKPOINT").await;
        }
        "sqlite" => exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await,
        _ => {}
    }

    // (2) The writer alone, before expand: no sync trigger yet.
    let before_expand = writer(url, rows, None).await;

    // (4) The writer during lockstep's backfill of a new column.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("migrations/0001_doubled.yaml"),
        "operations:\n  - add_column:\n      table: bench\n      column: {name: doubled, type: BIGINT, nullable: false}\n      up: val * 2\n",
    )
    .unwrap();
    let (dir_path, url_owned, lockstep_owned) = (
        dir.path().to_path_buf(),
        url.to_owned(),
        lockstep.to_owned(),
    );
    let run = move |extra: &[&str]| {
        let out = Command::new(&lockstep_owned)
            .args(["-C"])
            .arg(&dir_path)
            .args([
                "--database",
                &url_owned,
                "--format",
                "json",
                "--host-id",
                "bench",
            ])
            .args(extra)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(
            json["failed"],
            false,
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        json
    };
    run(&["apply", "--phase", "expand", "--no-backfill"]);
    // (3) The writer alone after expand: its updates of `val` now fire the
    // sync trigger, as they will for the whole rolling deploy whether or not
    // a backfill runs. The backfill's own cost to the writer is measured
    // against this.
    let alone = writer(url, rows, None).await;
    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn({
        let (url, stop) = (url.to_owned(), stop.clone());
        async move { writer(&url, rows, Some(stop)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    // The backfill runs on its own thread; the writer keeps this one.
    // BACKFILL_BENCH_ARGS: extra `lockstep backfill` options to measure,
    // e.g. "--batch-size 10000" or "--batch-sleep 2".
    let extra = std::env::var("BACKFILL_BENCH_ARGS").unwrap_or_default();
    let backfill = std::thread::spawn(move || {
        let mut args = vec!["backfill"];
        args.extend(extra.split_whitespace());
        run(&args)
    });
    while !backfill.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let json = backfill.join().unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = during.await.unwrap();
    let done = json["backfills"][0]["rows"].as_i64().unwrap_or(0);
    let longest = json["backfills"][0]["longest_batch_ms"]
        .as_u64()
        .unwrap_or(0);
    let remaining: i64 = conn
        .fetch_one("SELECT COUNT(*) FROM bench WHERE doubled IS NULL")
        .await
        .unwrap()
        .get(0);
    assert_eq!(remaining, 0, "the backfill left rows behind");
    let plain_rate = rows as f64 / plain.as_secs_f64();
    let rate = done as f64 / took.as_secs_f64();
    println!(
        "| {rows} | {:.0} rows/s | {:.0} rows/s | {:.2} | {longest} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} |",
        plain_rate,
        rate,
        rate / plain_rate,
        before_expand.as_secs_f64() * 1000.0,
        alone.as_secs_f64() * 1000.0,
        during.as_secs_f64() * 1000.0,
        during.as_secs_f64() / alone.as_secs_f64()
    );
    let _ = conn.close().await;
}

/// Updates random single rows (for 4 s, or until `stop`), returns the p99.
async fn writer(url: &str, rows: u64, stop: Option<Arc<AtomicBool>>) -> Duration {
    let mut conn = AnyConnection::connect(url).await.unwrap();
    if dialect(url) == "sqlite" {
        exec(&mut conn, "PRAGMA busy_timeout = 60000").await;
    }
    let mut latencies = Vec::new();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let started = Instant::now();
    loop {
        match &stop {
            Some(s) if s.load(Ordering::Relaxed) => break,
            None if started.elapsed() > Duration::from_secs(4) => break,
            _ => {}
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = 1 + seed % rows;
        let t = Instant::now();
        exec(
            &mut conn,
            &format!("UPDATE bench SET val = val + 1 WHERE id = {id}"),
        )
        .await;
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = conn.close().await;
    latencies.sort();
    latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]
}
