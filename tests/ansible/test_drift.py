"""Drift: an edited applied migration and a hand-edited config file with
pending operations fail the task with lockstep's message; a hand edit with
nothing pending is an Ansible warning."""

CONFIG_0002 = "file: app.ini\noperations:\n  - default: {section: cache, key: ttl, value: 300}\n"


def applied_project(make_project):
    p = make_project("sqlite")
    p.playbook()
    p.play(check=True)
    return p


def hand_edit(p):
    edited = p.ini().replace(b"listen = 127.0.0.1:8080", b"listen = 0.0.0.0:8080")
    p.ini_path.write_bytes(edited)
    return edited


def test_edited_applied_migration_fails_the_task(make_project):
    p = applied_project(make_project)
    path = p.root / "project" / "migrations" / "0001_create_users.sql"
    path.write_text(path.read_text() + "-- an afterthought\n")

    run = p.play()

    assert run.rc == 2, run
    assert run.recap()["failed"] == 1
    result = run.task()
    assert run.status() == "failed"
    assert result["msg"].startswith(f"migration 0001 ({path}) was edited after it was applied"), result["msg"]
    assert "lockstep resolve --restamp db:0001" in result["msg"]
    assert [(d["kind"], d["version"]) for d in result["drift"]] == [("migration_edited", "0001")]
    assert [pr["kind"] for pr in result["problems"]] == ["migration_edited"]
    assert "was edited after it was applied" in run.output()


def test_hand_edited_config_with_pending_operations_fails_then_merges(make_project):
    p = applied_project(make_project)
    edited = hand_edit(p)
    p.write("project/config-migrations/0002_ttl.yaml", CONFIG_0002)

    run = p.play()

    assert run.rc == 2, run
    result = run.task()
    assert run.status() == "failed"
    assert result["msg"].startswith(
        "app.ini was edited by hand since lockstep last wrote it (changed: server.listen) "
        "and config migration 0002 would change it; nothing was written."
    )
    # Advice in the module's terms, not the command line's.
    assert "Use on_drift: merge to keep the edit, on_drift: force to overwrite it" in result["msg"], result["msg"]
    assert "--on-drift" not in result["msg"]
    assert result["drift"] == [
        {"kind": "config_edited", "path": "app.ini", "keys": {"changed": ["server.listen"], "added": [], "removed": []}}
    ]
    assert p.ini() == edited

    # on_drift: merge keeps the hand edit and applies the new key on top.
    p.playbook(on_drift="merge")
    merged = p.play(check=True)
    assert merged.recap()["changed"] == 1
    assert p.ini() == edited + b"ttl = 300\n"


def test_hand_edit_with_nothing_pending_is_a_warning(make_project):
    p = applied_project(make_project)
    edited = hand_edit(p)

    run = p.play(check=True)

    assert run.recap()["changed"] == 0
    assert run.recap()["failed"] == 0
    result = run.task()
    assert result["drift"][0]["kind"] == "config_edited"
    assert result["config"]["files"][0]["drifted"] is True
    # lockstep's warning is Ansible's warning, printed once.
    warning = (
        "[WARNING]: app.ini was edited by hand since lockstep last wrote it (changed: server.listen); "
        "nothing is pending for it. Run `lockstep resolve --adopt app.ini` to accept the edit"
    )
    assert run.output().count(warning) == 1, run
    assert p.ini() == edited
