"""A single host on SQLite, PostgreSQL and MariaDB: the first run changes
the database and the config file, the second changes nothing."""

import pytest

from conftest import COLLECTION

EXPECTED_INI = (
    b"; the app's settings\n[server]\nlisten = 127.0.0.1:8080\nworkers = 8\n\n[cache]\nbackend = redis\n"
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
def test_first_run_changes_second_run_is_ok(make_project, kind):
    p = make_project(kind)
    p.playbook()

    first = p.play(check=True)
    result = first.task()
    assert result["changed"] is True, result
    assert first.recap()["changed"] == 1
    assert result["msg"] == "applied 2 database migrations, changed 1 config file"
    assert result["database"]["dialect"] == kind
    assert [m["version"] for m in result["database"]["applied"]] == ["0001", "0002"]
    assert result["database"]["current"] == "0002"
    [ini] = result["config"]["files"]
    assert (ini["path"], ini["changed"], ini["applied"], ini["drifted"]) == ("app.ini", True, ["0001"], False)
    assert p.ini() == EXPECTED_INI
    assert p.db.columns("users") == ["id", "name", "mail"]

    second = p.play(check=True)
    assert second.recap()["changed"] == 0, second
    assert second.recap()["failed"] == 0
    result = second.task()
    assert result["changed"] is False
    assert result["msg"].startswith("nothing to do")
    assert p.ini() == EXPECTED_INI


def test_example_single_host_playbook(make_project):
    """ansible/playbooks/deploy_single_host.yml, pointed at a temporary project, run by its FQCN."""
    p = make_project("sqlite")
    extra = [
        "-e", f"app_release_dir={p.root / 'project'}",
        "-e", f"app_database_url={p.db.url}",
        "-e", f"app_config_dir={p.root / 'etc'}",
        "-e", f"app_state_dir={p.root / 'state'}",
    ]
    playbook = "lockstep.lockstep.deploy_single_host"

    first = p.ansible(playbook, *extra, check=True)
    assert first.recap()["changed"] == 1, first
    migrate = first.task("Migrate the database and the config files")
    assert migrate["changed"] is True
    assert migrate["database"]["current"] == "0002"
    assert p.ini() == EXPECTED_INI

    second = p.ansible(playbook, *extra, check=True)
    assert second.recap()["changed"] == 0, second
    assert "RUNNING HANDLER [Restart the app]" in first.stdout
    assert "RUNNING HANDLER" not in second.stdout, second


def test_playbooks_pass_syntax_check(make_project):
    p = make_project("sqlite")
    for name in ("deploy_single_host.yml", "rolling_deploy.yml"):
        p.ansible("--syntax-check", str(COLLECTION / "playbooks" / name), check=True)
