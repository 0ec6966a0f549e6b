#!/usr/bin/env bash
# Benchmark: 100 INI files of about 300 lines, 10 key edits per file, applied
# and then re-applied as a no-op, side by side in one run:
#   lockstep   one `lockstep apply` with 100 config migrations of 10 `set`s
#   ini_file   Ansible's community.general.ini_file, one task run per key
#              (a loop of 1000 items, connection: local)
#   crudini    one `crudini --merge` per file (its 10 keys at once)
# Ansible and crudini come from PyPI into a git-ignored virtualenv.
# Usage: bench/config-100.sh [runs] [ansible-runs]   (writes bench/out/config-100.md)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
ansible_runs="${2:-1}"
out=bench/out
work="$PWD/$out/config-100"
venv="$PWD/target/bench-venv"
mkdir -p "$out"
rm -rf "$work" && mkdir -p "$work"

cargo build --release --locked --quiet
lockstep="$PWD/target/release/lockstep"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -x "$venv/bin/crudini" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet ansible crudini
fi
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
os.makedirs(f"{work}/pristine", exist_ok=True)
os.makedirs(f"{work}/project/config-migrations", exist_ok=True)
items = []
for f in range(100):
    lines = [f"; service {f}: generated for the benchmark", ""]
    for s in range(20):
        lines.append(f"[section{s}]")
        lines.append(f"; keys of section {s}")
        for k in range(13):
            lines.append(f"key{k} = value {f}.{s}.{k}")
        lines.append("")
    open(f"{work}/pristine/app{f:03}.ini", "w").write("\n".join(lines) + "\n")
    ops = []
    for i in range(10):
        section, key = (f"section{i * 2}", f"key{i}") if i < 5 else (f"section{i}", f"newkey{i}")
        value = f"changed {f}.{i}"
        ops.append({"set": {"section": section, "key": key, "value": value}})
        items.append({"file": f"app{f:03}.ini", "section": section, "key": key, "value": value})
    doc = {"file": f"app{f:03}.ini", "operations": ops}
    open(f"{work}/project/config-migrations/{f + 1:04}_app{f:03}.yaml", "w").write(json.dumps(doc))
json.dump(items, open(f"{work}/items.json", "w"))
# crudini at its fastest: one `--merge` of a file's 10 keys per file.
by_file = {}
for it in items:
    by_file.setdefault(it["file"], []).append(it)
with open(f"{work}/crudini.sh", "w") as sh:
    for name, its in by_file.items():
        sections = {}
        for it in its:
            sections.setdefault(it["section"], []).append(f"{it['key']} = {it['value']}")
        fragment = "\n".join(f"[{sec}]\n" + "\n".join(kv) for sec, kv in sections.items())
        sh.write(f"printf '%s\\n' '{fragment}' | \"$CRUDINI\" --merge \"$ROOT/{name}\"\n")
with open(f"{work}/playbook.yml", "w") as pb:
    pb.write(f"""- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    items: "{{{{ lookup('file', '{work}/items.json') | from_json }}}}"
  tasks:
    - name: one ini_file task run per key
      community.general.ini_file:
        path: "{{{{ root }}}}/{{{{ item.file }}}}"
        section: "{{{{ item.section }}}}"
        option: "{{{{ item.key }}}}"
        value: "{{{{ item.value }}}}"
      loop: "{{{{ items }}}}"
""")
PY

fresh() { rm -rf "$work/$1" && cp -r "$work/pristine" "$work/$1"; }
lk_root="$work/lk-root"
lk="$lockstep -C $work/project --config-root $lk_root --state-dir $work/lk-state --host-id bench apply"
cr="ROOT=$work/cr-root CRUDINI=$venv/bin/crudini bash $work/crudini.sh"
an="ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false $venv/bin/ansible-playbook -i localhost, -e ansible_python_interpreter=$venv/bin/python -e root=$work/an-root $work/playbook.yml"

hyperfine --runs "$runs" --export-json "$out/config-100-lockstep-crudini.json" \
    --command-name lockstep-apply --prepare "rm -rf $lk_root $work/lk-state; cp -r $work/pristine $lk_root" "$lk" \
    --command-name crudini-apply --prepare "rm -rf $work/cr-root; cp -r $work/pristine $work/cr-root" "$cr"
fresh lk-root; rm -rf "$work/lk-state"; eval "$lk" >/dev/null
fresh cr-root; eval "$cr"
hyperfine --runs "$runs" --export-json "$out/config-100-noop.json" \
    --command-name lockstep-noop "$lk" --command-name crudini-noop "$cr"
hyperfine --runs "$ansible_runs" --export-json "$out/config-100-ansible.json" \
    --command-name ini_file-apply --prepare "rm -rf $work/an-root; cp -r $work/pristine $work/an-root" "$an"
hyperfine --runs "$ansible_runs" --export-json "$out/config-100-ansible-noop.json" \
    --command-name ini_file-noop "$an"
# Same edits, same bytes? (lockstep keeps the file's ` = ` style, so does ini_file)
diff -r "$work/lk-root" "$work/an-root" >/dev/null && echo "lockstep and ini_file produced identical files" || echo "note: lockstep and ini_file files differ (see diff -r $work/lk-root $work/an-root)"

python3 - "$out" <<'PY'
import json, sys, statistics
out = sys.argv[1]
med = {}
for name in ("lockstep-crudini", "noop", "ansible", "ansible-noop"):
    for r in json.load(open(f"{out}/config-100-{name}.json"))["results"]:
        med[r["command"]] = (statistics.median(r["times"]), len(r["times"]))
lines = ["| case | lockstep | crudini | ini_file | ini_file / lockstep | crudini / lockstep |", "|---|---|---|---|---|---|"]
for kind, label in (("apply", "apply 1000 edits"), ("noop", "re-apply (no-op)")):
    l, c, a = med[f"lockstep-{kind}"], med[f"crudini-{kind}"], med[f"ini_file-{kind}"]
    lines.append(f"| {label} | {l[0]*1000:.0f} ms (n={l[1]}) | {c[0]*1000:.0f} ms (n={c[1]}) | {a[0]*1000:.0f} ms (n={a[1]}) | {a[0]/l[0]:.0f}x | {c[0]/l[0]:.0f}x |")
text = "\n".join(lines)
open(f"{out}/config-100.md", "w").write(text + "\n")
print(text)
PY
