"""The modules' documentation: ansible-doc renders it; the collection passes
ansible-test sanity (every test that applies) and ansible-lint's production
profile."""

import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLECTION, REPO, clean_env

OPTIONS = {
    "command", "project", "database", "migrations", "config_migrations", "config_root", "state_dir", "phase",
    "target", "vars", "vars_file", "on_drift", "lock_timeout", "host_id", "backup", "allow_out_of_order", "force",
    "no_backfill", "batch_size", "batch_sleep", "executable", "password", "secret_vars", "secret_vars_file",
}
RETURNS = {"changed", "failed", "msg", "check_mode", "phase", "database", "config", "drift", "diff", "problems"}


def ansible_doc(args, collections_path, tmp_path):
    env = clean_env(collections_path, tmp_path)
    proc = subprocess.run(["ansible-doc", *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    return proc.stdout


def test_ansible_doc_renders_from_the_folder_and_the_collection(collections_path, tmp_path):
    text = ansible_doc(["-M", str(COLLECTION / "plugins" / "modules"), "migrate"], collections_path, tmp_path)
    assert "> MODULE migrate" in text and "Runs the `lockstep' binary on the managed host" in text
    for name in OPTIONS:
        assert re.search(rf"^[\s-]*{name}\b", text, re.M), f"option {name} not rendered"

    doc = json.loads(ansible_doc(["--json", "lockstep.lockstep.migrate"], collections_path, tmp_path))
    entry = doc["lockstep.lockstep.migrate"]
    assert set(entry["doc"]["options"]) == OPTIONS
    assert RETURNS <= set(entry["return"])
    assert set(entry["return"]["database"]["contains"]) >= {"url", "dialect", "applied", "pending", "current"}
    assert set(entry["return"]["config"]["contains"]["files"]["contains"]) >= {
        "path", "changed", "applied", "sha256_before", "sha256_after", "drifted",
    }
    assert set(entry["return"]["drift"]["contains"]) >= {"kind", "path", "keys", "version"}
    assert entry["doc"]["options"]["database"].get("no_log") is None  # no_log is in the argspec, not the docs

    info = json.loads(ansible_doc(["--json", "lockstep.lockstep.info"], collections_path, tmp_path))
    info = info["lockstep.lockstep.info"]
    assert set(info["doc"]["options"]) == OPTIONS - {"backup", "batch_size", "batch_sleep"}
    assert {"changed", "would_change", "would_fail", "contract", "database", "drift", "problems"} <= set(info["return"])
    assert set(info["return"]["contract"]["contains"]) == {"refused", "lagging_hosts", "msg"}
    assert [s["module"] for s in info["doc"]["seealso"] if "module" in s] == ["lockstep.lockstep.migrate"]


def test_ansible_python_compiles(tmp_path):
    files = list(COLLECTION.rglob("*.py")) + list(Path(__file__).parent.rglob("*.py"))
    assert files
    for path in files:
        py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


def sanity_home():
    """A HOME for ansible-test kept in the git-ignored .venv, so its test
    virtualenv is built once. ansible-test bootstraps pip in it with a
    get-pip.py it downloads from a host other than PyPI; the cached stand-in
    below uses Python's own ensurepip and PyPI instead."""
    home = REPO / ".venv" / "ansible-test-home" if (REPO / ".venv").is_dir() else Path.home()
    import ansible_test

    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    m = re.search(r"pip='([0-9.]+)'", source)
    if not m:
        pytest.skip("cannot tell which pip ansible-test bootstraps; validate-modules not run")
    cache = home / ".ansible" / "test" / "cache" / f"get_pip_{m.group(1).replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(
            "# Stand-in for get-pip.py (written by lockstep's tests/ansible/test_docs.py).\n"
            "import subprocess, sys\n"
            "subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])\n"
            "args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]\n"
            "subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)\n"
        )
    return home


def collection_copy(tmp_path):
    """The collection at ansible_collections/NS/NAME, as ansible-test and ansible-lint want it; a copy, because
    both write into it (tests/output, .ansible)."""
    root = tmp_path / "ansible_collections" / "lockstep" / "lockstep"
    shutil.copytree(COLLECTION, root, ignore=shutil.ignore_patterns("tests/output", "__pycache__", ".ansible"))
    return root


def venv_tool(name):
    path = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert path, f"{name} is not installed; tests/ansible/run.sh installs tests/ansible/requirements.txt"
    return path


def test_ansible_test_sanity(tmp_path):
    """Every sanity test that applies to the collection (pep8, pylint, validate-modules, yamllint, ...).
    ansible-test builds a virtualenv per test under HOME once (kept in the git-ignored .venv)."""
    root = collection_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["HOME"] = str(sanity_home())
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    proc = subprocess.run(
        [venv_tool("ansible-test"), "sanity", "--python", python, "--color", "no"],
        cwd=root, env=env, capture_output=True, text=True, timeout=1800,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    for test in ("validate-modules", "pep8", "pylint", "yamllint", "ansible-doc", "import", "compile"):
        assert f'Running sanity test "{test}"' in output, output


def test_ansible_lint_production_profile(tmp_path):
    root = collection_copy(tmp_path)
    env = clean_env(str(tmp_path), tmp_path / "home")
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [venv_tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Profile 'production' was required, and it passed." in " ".join(output.split()), output
