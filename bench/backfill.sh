#!/usr/bin/env bash
# Benchmark: lockstep's batched backfill vs one plain UPDATE of the same
# rows, with a concurrent single-row writer, on PostgreSQL, MariaDB and
# SQLite, at growing table sizes (throughput must not fall as the table
# grows). Needs the local servers (see README).
# Usage: bench/backfill.sh [sizes...]   (default 10000 100000 1000000)
# SQLite runs in WAL mode; BACKFILL_BENCH_SQLITE_JOURNAL=delete for a
# rollback journal.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10000 100000 1000000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
mkdir -p bench/out
cargo build --release --locked --quiet --bin lockstep --example backfill_bench
pg="${LOCKSTEP_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/lockstep_bench}"
my="${LOCKSTEP_BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/lockstep_bench}"
psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS lockstep_bench' -c 'CREATE DATABASE lockstep_bench'
mariadb -h 127.0.0.1 -u root -e 'DROP DATABASE IF EXISTS lockstep_bench; CREATE DATABASE lockstep_bench'
sq="sqlite:$PWD/bench/out/backfill.db?mode=rwc"
rm -f bench/out/backfill.db*
{
    for db in "$pg" "$my" "$sq"; do
        echo
        echo "${db%%:*}:"
        echo
        target/release/examples/backfill_bench "$db" "$PWD/target/release/lockstep" "${sizes[@]}"
    done
} | tee bench/out/backfill.md
