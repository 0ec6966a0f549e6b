#!/usr/bin/env bash
# Builds the Debian package and smoke-tests it unpacked:
#   1. cargo build --release (reused when up to date);
#   2. scripts/gen-assets target/assets (man page, completions), a copy of
#      the Ansible collection without caches or tests into
#      target/assets/ansible (its module's interpreter line made python3),
#      and packaging/gen-debian-docs target/assets (the DEP-5 copyright of
#      every linked crate, the Debian changelog);
#   3. cargo deb --no-build (cargo-deb is installed into target/tools when
#      missing; set CARGO_DEB to use another);
#   4. dpkg -x into a temporary directory, then: the installed
#      `lockstep --version`, `man -l` on the installed page, bash completion
#      of `lockstep ap` to `apply`, the conffile, the copyright and changelog;
#   5. lintian, which must report no error and no warning (installed with
#      apt-get when missing).
# Prints the path of the .deb on success. Usage: packaging/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

cargo build --release --locked
read -r version maintainer < <(cargo metadata --no-deps --format-version 1 --locked \
    | python3 -c 'import json,sys; p = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "lockstep"); print(p["version"], p["metadata"]["deb"]["maintainer"])')
deb_version="$version-$(sed -n 's/^revision = "\(.*\)"/\1/p' Cargo.toml)"

assets="$root/target/assets"
rm -rf "$assets"
scripts/gen-assets "$assets" "$root/target/release/lockstep"
mkdir -p "$assets/ansible"
if [ -d ansible ]; then
    # tests/ (sanity ignore files, unit tests) is for developing the
    # collection, not for using it.
    (cd ansible && find . -type f ! -path '*/__pycache__/*' ! -path './tests/*' ! -name '*.pyc' ! -name '.*' -print0 \
        | xargs -0 -I{} cp --parents {} "$assets/ansible/")
    # Ansible runs a module with its own interpreter whatever the first line
    # says; `#!/usr/bin/python` (what ansible-test asks of the source) names
    # an interpreter Debian does not ship.
    find "$assets/ansible" -name '*.py' -exec sed -i '1s|^#!/usr/bin/python$|#!/usr/bin/python3|' {} +
else
    echo "warning: no ansible/ in the source tree: the package gets no Ansible collection" >&2
    echo "The lockstep Ansible collection was not in the source tree this package was built from." \
        > "$assets/ansible/README.md"
fi

packaging/gen-debian-docs "$assets" "$deb_version" "$maintainer"
# The upstream changelog under the name Debian policy gives it.
gzip -9n < CHANGELOG.md > "$assets/changelog.gz"

cargo_deb="${CARGO_DEB:-}"
if [ -z "$cargo_deb" ]; then
    if command -v cargo-deb >/dev/null; then
        cargo_deb=$(command -v cargo-deb)
    else
        cargo_deb="$root/target/tools/bin/cargo-deb"
        [ -x "$cargo_deb" ] || cargo install cargo-deb --locked --root "$root/target/tools"
    fi
fi
deb=$("$cargo_deb" deb --no-build --output target/debian | tail -1)
[ -f "$deb" ] || { echo "error: cargo deb printed no .deb path; see its output above" >&2; exit 1; }

# Smoke test of the unpacked package.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb --info "$deb" >/dev/null
dpkg -x "$deb" "$unpacked"
fail() { echo "error: package smoke test: $*" >&2; exit 1; }

got=$("$unpacked/usr/bin/lockstep" --version)
[ "$got" = "lockstep $version" ] || fail "usr/bin/lockstep --version printed '$got', expected 'lockstep $version'"

page="$unpacked/usr/share/man/man1/lockstep.1.gz"
[ -f "$page" ] || fail "no man page at usr/share/man/man1/lockstep.1.gz"
if ! command -v man >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq man-db >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq man-db >/dev/null; }
fi
man_text=$(MANPAGER=cat MANWIDTH=80 man -l "$page" 2>&1)
echo "$man_text" | head -5 >&2
echo "$man_text" | grep -q '^SETTINGS' || fail "the man page has no SETTINGS section"
echo "$man_text" | grep -q '/etc/lockstep/lockstep.ini' || fail "the man page does not name /etc/lockstep/lockstep.ini"

completion="$unpacked/usr/share/bash-completion/completions/lockstep"
[ -f "$completion" ] || fail "no bash completion at usr/share/bash-completion/completions/lockstep"
completed=$(bash -c 'source "$1"; COMP_WORDS=(lockstep ap); COMP_CWORD=1; COMP_LINE="lockstep ap"; COMP_POINT=${#COMP_LINE}; _lockstep lockstep ap lockstep; echo "${COMPREPLY[*]}"' _ "$completion")
[ "$completed" = "apply" ] || fail "bash completion of 'lockstep ap' gave '$completed', expected 'apply'"
[ -f "$unpacked/usr/share/zsh/vendor-completions/_lockstep" ] || fail "no zsh completion"
[ -f "$unpacked/usr/share/fish/vendor_completions.d/lockstep.fish" ] || fail "no fish completion"

for doc in README.md LICENSE LICENSE-MIT LICENSE-APACHE changelog.gz copyright docs/output.schema.json; do
    [ -f "$unpacked/usr/share/doc/lockstep/$doc" ] || fail "no usr/share/doc/lockstep/$doc"
done
[ -f "$unpacked/usr/share/lockstep/ansible/plugins/modules/migrate.py" ] || [ ! -f ansible/plugins/modules/migrate.py ] \
    || fail "the Ansible collection is not under usr/share/lockstep/ansible/"
[ -f "$unpacked/etc/lockstep/lockstep.ini" ] || fail "no etc/lockstep/lockstep.ini"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/lockstep/lockstep.ini \
    || fail "/etc/lockstep/lockstep.ini is not a conffile"

[ -f "$unpacked/usr/share/doc/lockstep/changelog.Debian.gz" ] || fail "no Debian changelog"
head -1 "$unpacked/usr/share/doc/lockstep/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
    || fail "usr/share/doc/lockstep/copyright is not machine-readable (DEP-5)"
grep -qx 'Files: vendor/serde/\*' "$unpacked/usr/share/doc/lockstep/copyright" \
    || fail "the copyright file has no Files: paragraph for the serde crate"
[ ! -e "$unpacked/usr/share/lockstep/ansible/tests" ] || fail "the package ships the collection's tests"

# The unpacked binary in system mode reads the packaged example settings.
status=$(cd "$unpacked" && LOCKSTEP_SYSTEM_CONFIG="$unpacked/etc/lockstep/lockstep.ini" \
    "$unpacked/usr/bin/lockstep" --format json --database sqlite::memory: status)
echo "$status" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["system_mode"] is True and r["state_dir"] == "/var/lib/lockstep", r'

echo "package smoke test passed: $deb" >&2

# lintian: no error and no warning.
if ! command -v lintian >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian >/dev/null; }
fi
lintian --fail-on error,warning --info "$deb" >&2 || fail "lintian reported errors or warnings (above)"
echo "lintian passed: $deb" >&2
echo "$deb"
