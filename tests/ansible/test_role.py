"""The role leaves every setting it is not given to lockstep.ini: a project
whose lockstep.ini says phase = expand and on_drift = merge, run through
the role with only migrate_project set, runs expand only and merges a hand
edit."""

import textwrap

CONTRACT = "-- lockstep:phase contract\n-- lockstep:up\nALTER TABLE users DROP COLUMN mail;\n"
CONFIG_0002 = "file: app.ini\noperations:\n  - set: {section: cache, key: ttl, value: 300}\n"


def test_lockstep_ini_decides_what_the_play_leaves_unset(make_project):
    p = make_project("sqlite")
    p.write(
        "project/lockstep.ini",
        textwrap.dedent(
            f"""\
            [lockstep]
            database = {p.db.url}
            config_root = {p.root / 'etc'}
            state_dir = {p.root / 'state'}
            host_id = app1
            phase = expand
            on_drift = merge
            [vars]
            cache_backend = redis
            """
        ),
    )
    p.write("project/migrations/0003_drop_mail.sql", CONTRACT)
    p.write(
        "role.yml",
        textwrap.dedent(
            f"""\
            - name: Migrate with the role
              hosts: app
              gather_facts: false
              roles:
                - role: lockstep.lockstep.migrate
                  migrate_project: {p.root / 'project'}
            """
        ),
    )
    task = "lockstep.lockstep.migrate : Migrate the database and config files with lockstep"

    first = p.play(playbook="role.yml", check=True)
    result = first.task(task)
    assert result["phase"] == "expand", result
    assert [(a["version"], a["part"]) for a in result["database"]["applied"]] == [("0001", "expand"), ("0002", "expand")]
    assert [(m["version"], m["part"]) for m in result["database"]["pending"]] == [("0003", "contract")]
    assert p.db.columns("users") == ["id", "name", "mail"]

    # A hand edit, then a pending config migration for the same file: merged.
    p.ini_path.write_bytes(p.ini().replace(b"listen = 127.0.0.1:8080", b"listen = 0.0.0.0:8080"))
    p.write("project/config-migrations/0002_ttl.yaml", CONFIG_0002)
    second = p.play(playbook="role.yml", check=True)
    assert second.task(task)["changed"] is True
    assert p.ini() == (
        b"; the app's settings\n[server]\nlisten = 0.0.0.0:8080\nworkers = 8\n\n[cache]\nbackend = redis\nttl = 300\n"
    )
    assert p.db.columns("users") == ["id", "name", "mail"]


def test_the_role_requires_its_project(make_project):
    p = make_project("sqlite")
    p.write(
        "role.yml",
        "- name: No project\n  hosts: app\n  gather_facts: false\n  roles:\n    - role: lockstep.lockstep.migrate\n",
    )
    run = p.play(playbook="role.yml")
    assert run.rc != 0
    assert "migrate_project" in run.output() and "required" in run.output(), run
