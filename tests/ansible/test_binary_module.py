"""The same playbook with the lockstep binary itself as an Ansible binary
module: copied to the playbook's library/ and called as `lockstep:`."""

import shutil

from conftest import BINARY
from test_single_host import EXPECTED_INI


def test_binary_module_applies_then_is_idempotent_and_warns(make_project):
    p = make_project("sqlite")
    (p.root / "library").mkdir()
    shutil.copy2(BINARY, p.root / "library" / "lockstep")
    p.playbook(module="lockstep")

    check = p.play("--check", "--diff", check=True)
    assert check.recap()["changed"] == 1, check
    assert check.task()["check_mode"] is True
    assert "+workers = 8\n" in check.stdout, check
    assert "+backend = redis\n" in check.stdout, check  # no no_log masking here: no Python wrapper
    assert "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL);" in check.stdout
    assert not (p.root / "state").exists()
    assert p.ini().endswith(b"workers = 4\n")

    first = p.play(check=True)
    assert first.recap()["changed"] == 1, first
    result = first.task()
    assert result["msg"] == "applied 2 database migrations, changed 1 config file"
    assert result["database"]["current"] == "0002"
    assert p.ini() == EXPECTED_INI

    second = p.play(check=True)
    assert second.recap()["changed"] == 0, second

    p.ini_path.write_bytes(p.ini().replace(b"workers = 8", b"workers = 12"))
    warned = p.play(check=True)
    assert warned.recap()["changed"] == 0
    assert "[WARNING]: app.ini was edited by hand since lockstep last wrote it (changed: server.workers)" in warned.output()


def test_binary_module_reports_a_failure(make_project):
    p = make_project("sqlite")
    (p.root / "library").mkdir()
    shutil.copy2(BINARY, p.root / "library" / "lockstep")
    p.write("project/migrations/0003_broken.sql", "INSERT INTO nowhere VALUES (1);\n")
    p.playbook(module="lockstep")

    run = p.play()

    assert run.rc == 2, run
    assert run.status() == "failed"
    result = run.task()
    assert result["msg"].startswith("migration 0003 ("), result
    assert "failed at line 1" in result["msg"]
    assert result["database"]["failed_migration"]["statement"] == "INSERT INTO nowhere VALUES (1)"
    assert result["database"]["current"] == "0002"
