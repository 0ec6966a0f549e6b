#!/usr/bin/env bash
# The Ansible tests: the real ansible-playbook (ansible-core from PyPI) runs
# the lockstep.lockstep collection and the lockstep binary against localhost,
# on SQLite, PostgreSQL and MariaDB. Servers as for scripts/test: skipped
# loudly when down, unless LOCKSTEP_TEST_REQUIRE_SERVERS=1.
#
#   tests/ansible/run.sh                 # everything
#   tests/ansible/run.sh -k binary       # extra arguments go to pytest
#
# The virtualenv is /.venv (git-ignored), made on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv
requirements=tests/ansible/requirements.txt
if [ ! -x "$venv/bin/python" ]; then
    python=$(command -v python3.11 || command -v python3)
    "$python" -m venv "$venv"
fi
# Install only when requirements.txt changed since the last install.
if ! cmp -s "$requirements" "$venv/.lockstep-ansible-requirements"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.lockstep-ansible-requirements"
fi

cargo build --locked
export PATH="$PWD/target/debug:$PWD/$venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1

# The collection as Ansible finds an installed one: <path>/ansible_collections/lockstep/lockstep.
collections=$(mktemp -d)
trap 'rm -rf "$collections"' EXIT
mkdir -p "$collections/ansible_collections/lockstep"
ln -s "$PWD/ansible" "$collections/ansible_collections/lockstep/lockstep"
export ANSIBLE_COLLECTIONS_PATH="$collections"

"$venv/bin/python" -m pytest tests/ansible -q -rs -p no:cacheprovider --numprocesses=auto "$@"
