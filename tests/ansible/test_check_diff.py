"""--check --diff with pending work: the task says changed, the diff shows
the INI change line by line and the SQL, and nothing is written."""

import pytest

# Release 2 of the project: one more migration and one more config migration.
MIGRATION_0003 = "-- lockstep:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL);\n"
CONFIG_0002 = """\
file: app.ini
operations:
  - set: {section: server, key: listen, value: "0.0.0.0:9090"}
  - default: {section: cache, key: ttl, value: 300}
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
def test_check_diff_shows_the_change_and_writes_nothing(make_project, kind):
    p = make_project(kind)
    p.playbook()
    p.play(check=True)
    p.write("project/migrations/0003_create_items.sql", MIGRATION_0003)
    p.write("project/config-migrations/0002_listen.yaml", CONFIG_0002)
    ini_before, schema_before = p.ini(), p.db.schema()

    run = p.play("--check", "--diff", check=True)

    assert run.recap()["changed"] == 1, run
    result = run.task()
    assert result["changed"] is True
    assert result["check_mode"] is True
    assert result["msg"] == "would apply 1 database migration, would change 1 config file"
    assert [m["version"] for m in result["database"]["pending"]] == ["0003"]
    assert result["database"]["applied"] == []
    # Ansible renders the INI change line by line, and the SQL as it would run.
    out = run.stdout
    assert "-listen = 127.0.0.1:8080\n+listen = 0.0.0.0:9090\n" in out, run
    assert "+ttl = 300\n" in out, run
    assert "--- before: app.ini\n+++ after: app.ini\n" in out, run
    assert "-- 0003_create_items (expand)\nCREATE TABLE items (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL);" in out, run
    # Nothing changed: the file's bytes, the schema and the history.
    assert p.ini() == ini_before
    assert p.db.schema() == schema_before

    # The same run without --check does what the diff said.
    done = p.play(check=True)
    assert done.task()["msg"] == "applied 1 database migration, changed 1 config file"
    assert b"listen = 0.0.0.0:9090\n" in p.ini()
    assert p.db.schema() != schema_before
