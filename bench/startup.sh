#!/usr/bin/env bash
# Startup and size of the release binary with all backends:
#   size      the release binary, and a copy stripped with `strip`
#   startup   `lockstep --version` side by side with peers under hyperfine
#             (`sqlx --version` from target/bench-tools when present,
#             `git --version` always)
# Usage: bench/startup.sh [runs]   (writes bench/out/startup.md)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"
out=bench/out
mkdir -p "$out" target/bench
command -v hyperfine >/dev/null || { echo "error: hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }

cargo build --release --locked --quiet
lockstep="$PWD/target/release/lockstep"
stripped="$PWD/target/bench/lockstep-stripped"
cp "$lockstep" "$stripped"
strip "$stripped"
size_of() { stat -c %s "$1"; }
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }

commands=("$stripped --version" "git --version")
names=("lockstep --version" "git --version")
sqlx="$PWD/target/bench-tools/bin/sqlx"
if [ -x "$sqlx" ]; then
    commands+=("$sqlx --version")
    names+=("sqlx --version (sqlx-cli)")
fi
args=()
for i in "${!commands[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]}"); done
hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$out/startup-hyperfine.md" "${args[@]}" >&2

{
    echo "Machine: $(nproc) cores, $(uname -sr); $(rustc --version)"
    echo
    echo "| binary | bytes | MiB |"
    echo "|---|---|---|"
    echo "| target/release/lockstep | $(size_of "$lockstep") | $(mib "$(size_of "$lockstep")") |"
    echo "| stripped | $(size_of "$stripped") | $(mib "$(size_of "$stripped")") |"
    [ -x "$sqlx" ] && echo "| sqlx-cli (for comparison) | $(size_of "$sqlx") | $(mib "$(size_of "$sqlx")") |"
    echo
    cat "$out/startup-hyperfine.md"
} > "$out/startup.md"
cat "$out/startup.md"
