"""The wrapper's own behaviour: commands other than apply, how it fails when
the binary is missing, rejects its command line or prints no JSON, and the
options it checks before running anything."""

import json
import subprocess

from conftest import BINARY


def tasks_playbook(p, tasks):
    """A playbook of named tasks, each ignore_errors, so one run checks them all."""
    lines = ["- name: wrapper", "  hosts: app", "  gather_facts: false", "  tasks:"]
    for name, options, extra in tasks:
        lines.append(f"    - name: {name}")
        lines.append("      lockstep.lockstep.migrate:")
        lines.extend(f"        {k}: {json.dumps(v)}" for k, v in options.items())
        lines.append("      ignore_errors: true")
        lines.extend(f"      {line}" for line in extra)
    return p.write("wrapper.yml", "\n".join(lines) + "\n")


def test_wrapper_commands_and_errors(make_project):
    p = make_project("sqlite")
    p.write("fake-lockstep", "#!/bin/sh\necho 'not json'\necho 'it broke' >&2\nexit 3\n").chmod(0o755)
    has_force = "--force" in subprocess.run([BINARY, "apply", "--help"], capture_output=True, text=True).stdout
    tasks_playbook(
        p,
        [
            ("plan", p.options(command="plan"), []),
            ("apply", p.options(), []),
            ("status", p.options(command="status"), []),
            ("verify", p.options(command="verify"), []),
            ("target with status", p.options(command="status", target="0001"), []),
            ("no JSON", p.options(executable=str(p.root / "fake-lockstep")), []),
            ("missing executable", p.options(executable=str(p.root / "nope")), []),
            ("not on PATH", p.options(), ["environment: {PATH: /usr/bin:/bin}"]),
            ("usage error", p.options(lock_timeout=-1), []),
            ("force", p.options(force=True, phase="contract"), []),
            ("backfill options", p.options(no_backfill=True, batch_size=10, batch_sleep=0), []),
        ],
    )

    run = p.play(playbook="wrapper.yml")

    plan = run.task("plan")
    assert run.status("plan") == "ok"
    assert plan["changed"] is False and plan["would_change"] is True and plan["check_mode"] is True
    assert [d.get("before_header") for d in plan["diff"]] == ["app.ini", "database"]

    assert run.task("apply")["changed"] is True

    status = run.task("status")
    assert run.status("status") == "ok" and status["changed"] is False
    assert [(m["version"], m["state"]) for m in status["database"]["migrations"]] == [
        ("0001", "applied"),
        ("0002", "applied"),
    ]
    assert "diff" not in status

    assert run.status("verify") == "ok"
    assert run.task("verify")["changed"] is False

    assert run.status("target with status") == "failed"
    assert run.task("target with status")["msg"] == "target only with command=apply or command=plan, not command=status"

    no_json = run.task("no JSON")
    assert no_json["msg"] == "lockstep exited 3 without a JSON result on stdout: it broke"
    assert no_json["stdout"] == "not json\n"

    assert run.task("missing executable")["msg"] == f"executable {p.root / 'nope'} is not an executable file"

    assert run.status("not on PATH") == "failed"
    assert 'Failed to find required executable "lockstep"' in run.task("not on PATH")["msg"]

    usage = run.task("usage error")
    assert usage["msg"].startswith("lockstep rejected its command line (exit 2): error:"), usage
    assert "--lock-timeout" in usage["msg"]

    force = run.task("force")
    if has_force:
        assert run.status("force") == "ok", force
    else:
        # An older lockstep: the task says what is missing.
        assert force["msg"].startswith(
            "this lockstep has no --force (the contract gating override); upgrade lockstep: error: unexpected argument '--force'"
        ), force

    assert run.status("backfill options") == "ok", run.task("backfill options")

    assert run.recap()["ignored"] == (5 if has_force else 6), run


def test_verify_fails_on_a_hand_edit(make_project):
    p = make_project("sqlite")
    p.playbook()
    p.play(check=True)
    p.ini_path.write_bytes(p.ini().replace(b"workers = 8", b"workers = 2"))
    p.playbook(command="verify", vars=None)

    run = p.play()

    assert run.status() == "failed", run
    assert "app.ini was edited by hand" in run.task()["msg"]
    assert run.task()["config"]["files"][0]["drifted"] is True
