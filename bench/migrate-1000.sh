#!/usr/bin/env bash
# Benchmark: 1000 small SQL migrations on SQLite, lockstep vs sqlx-cli's
# `sqlx migrate run`, side by side in one hyperfine run:
#   (a) applying all 1000 to an empty database,
#   (b) a no-op run with all 1000 applied.
# Usage: bench/migrate-1000.sh [runs]   (writes bench/out/migrate-1000.{json,md})
# With BEFORE=<path to another lockstep binary> (for example a release
# build of the commit before a refactor), that binary runs in the same
# hyperfine runs too, on its own database, and the table gains its ratios;
# then bench/paired.py runs the two binaries in turn, pair by pair.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
out=bench/out
work="$out/migrate-1000"
tools="$PWD/target/bench-tools"
mkdir -p "$out"
rm -rf "$work" && mkdir -p "$work/migrations"

command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
cargo build --release --locked --quiet
lockstep="$PWD/target/release/lockstep"
sqlx="${SQLX:-$tools/bin/sqlx}"
if [ ! -x "$sqlx" ]; then
    cargo install sqlx-cli --locked --no-default-features --features sqlite,rustls --root "$tools"
fi

# The same files serve both tools: plain SQL, `<version>_<name>.sql`.
for i in $(seq 1 1000); do
    v=$(printf '%04d' "$i")
    printf 'CREATE TABLE t%s (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO t%s (name) VALUES (%s);\n' "$i" "$i" "'row $i'" \
        > "$work/migrations/${v}_create_t$i.sql"
done

lk="$lockstep -C $work --database sqlite:$work/lockstep.db --host-id bench apply"
sx="$sqlx migrate run --source $work/migrations --database-url sqlite:$work/sqlx.db"
full=(--command-name lockstep-full --prepare "rm -rf $work/lockstep.db* $work/.lockstep" "$lk"
      --command-name sqlx-full --prepare "rm -f $work/sqlx.db* && $sqlx database create --database-url sqlite:$work/sqlx.db" "$sx")
noop=(--command-name lockstep-noop "$lk" --command-name sqlx-noop "$sx")
if [ -n "${BEFORE:-}" ]; then
    # The other binary keeps its state in its own directory and database.
    mkdir -p "$work/before" && cp -r "$work/migrations" "$work/before/"
    bf="$BEFORE -C $work/before --database sqlite:$work/before/lockstep.db --host-id bench apply"
    full+=(--command-name before-full --prepare "rm -rf $work/before/lockstep.db* $work/before/.lockstep" "$bf")
    noop+=(--command-name before-noop "$bf")
fi
hyperfine --runs "$runs" --warmup 1 --export-json "$out/migrate-1000-full.json" "${full[@]}"
# All applied now: measure the no-op.
hyperfine --runs "$((runs * 3))" --warmup 2 --export-json "$out/migrate-1000-noop.json" "${noop[@]}"

python3 - "$out" <<'PY'
import json, sys, statistics
out = sys.argv[1]
rows = {}
for kind in ("full", "noop"):
    for r in json.load(open(f"{out}/migrate-1000-{kind}.json"))["results"]:
        rows[r["command"]] = statistics.median(r["times"])
before = "before-full" in rows
head = "| case | lockstep median | sqlx-cli median | ratio lockstep/sqlx |"
rule = "|---|---|---|---|"
if before:
    head += " before median | ratio before/sqlx | ratio lockstep/before |"
    rule += "---|---|---|"
lines = [head, rule]
for kind, label in (("full", "apply 1000 from empty"), ("noop", "no-op, 1000 applied")):
    a, b = rows[f"lockstep-{kind}"], rows[f"sqlx-{kind}"]
    line = f"| {label} | {a*1000:.1f} ms | {b*1000:.1f} ms | {a/b:.2f} |"
    if before:
        c = rows[f"before-{kind}"]
        line += f" {c*1000:.1f} ms | {c/b:.2f} | {a/c:.2f} |"
    lines.append(line)
text = "\n".join(lines)
open(f"{out}/migrate-1000.md", "w").write(text + "\n")
print(text)
PY

if [ -n "${BEFORE:-}" ]; then
    # The same two binaries in turn, pair by pair (see bench/paired.py).
    python3 bench/paired.py "$work" "$runs" full "$lockstep" "$BEFORE"
    python3 bench/paired.py "$work" "$((runs * 10))" noop "$lockstep" "$BEFORE"
fi
