"""lockstep.lockstep.info: changed is false in every mode, and it predicts
what a deploy would do: pending migrations, drift, and a contract refused
while a host lags, naming it. migrate in check mode predicts the same
refusal; command=plan reports changed: false."""

import json
import os
import subprocess

from conftest import BINARY, clean_env

CONTRACT = "-- lockstep:phase contract\n-- lockstep:up\nALTER TABLE users DROP COLUMN mail;\n"


def lockstep(p, *args):
    """The CLI on the test's project, as another host would run it."""
    o = p.options()
    env = clean_env(p.collections_path, p.home)
    proc = subprocess.run(
        [str(BINARY), "--format", "json", "-C", o["project"], "--database", p.db.url, "--config-root", o["config_root"],
         "--state-dir", str(p.root / "state-web2"), "--var", "cache_backend=redis", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def tasks_playbook(p, tasks):
    lines = ["- name: info", "  hosts: app", "  gather_facts: false", "  tasks:"]
    for name, module, options, extra in tasks:
        lines += [f"    - name: {name}", f"      {module}:"]
        lines += [f"        {k}: {json.dumps(v)}" for k, v in options.items()]
        lines += [f"      {line}" for line in extra]
    return p.write("info.yml", "\n".join(lines) + "\n")


def test_info_predicts_pending_drift_and_the_contract_gate(make_project):
    p = make_project("postgres")
    # web2 runs release 1 (0001, 0002) and checked in there.
    lockstep(p, "--host-id", "web2", "apply")
    # Release 2 brings a contract migration; app1 is about to deploy it.
    p.write("project/migrations/0003_drop_mail.sql", CONTRACT)
    app_ini = p.root / "etc" / "app.ini"
    app_ini.write_text(app_ini.read_text().replace("listen = 127.0.0.1:8080", "listen = 0.0.0.0:8080"))
    tasks_playbook(
        p,
        [
            ("info", "lockstep.lockstep.info", p.options(state_dir=str(p.root / "state-web2")), []),
            ("info in check mode", "lockstep.lockstep.info", p.options(state_dir=str(p.root / "state-web2")),
             ["check_mode: true"]),
            ("status", "lockstep.lockstep.info", p.options(command="status", state_dir=str(p.root / "state-web2")), []),
            ("verify", "lockstep.lockstep.info", p.options(command="verify", state_dir=str(p.root / "state-web2")), []),
            ("plan", "lockstep.lockstep.migrate", p.options(command="plan", state_dir=str(p.root / "state-web2")),
             ["ignore_errors: true"]),
            ("migrate in check mode", "lockstep.lockstep.migrate", p.options(state_dir=str(p.root / "state-web2")),
             ["check_mode: true", "ignore_errors: true"]),
        ],
    )
    before = p.db.history()

    run = p.play(playbook="info.yml")

    lagging = "web2 (at 0002)"
    refusal = (
        "contract of migration 0003 refused: 1 host has not checked in at 0003 or later: web2 (at 0002). "
        "Finish the rolling deploy (each host runs this module with phase: expand), retire a host that is gone "
        "with `lockstep hosts --retire NAME`, or set force: true"
    )
    for name in ("info", "info in check mode"):
        info = run.task(name)
        assert run.status(name) == "ok", run
        assert info["changed"] is False and info["would_change"] is True and info["would_fail"] is True, info
        assert [(m["version"], m["part"]) for m in info["database"]["pending"]] == [("0003", "contract")]
        assert info["contract"] == {"refused": True, "lagging_hosts": [lagging], "msg": refusal}, info
        assert [d["kind"] for d in info["drift"]] == ["config_edited"], info["drift"]
        assert info["drift"][0]["keys"]["changed"] == ["server.listen"]
    status = run.task("status")
    assert run.status("status") == "ok" and status["changed"] is False and status["would_change"] is True
    assert status["contract"]["refused"] is False
    verify = run.task("verify")
    assert run.status("verify") == "ok", verify
    assert verify["changed"] is False and verify["would_fail"] is True
    assert [d["kind"] for d in verify["drift"]] == ["config_edited"]

    # migrate predicts the refusal in check mode, as the real run makes it.
    plan = run.task("plan")
    assert run.status("plan") == "failed" and plan["changed"] is False and plan["msg"] == refusal, plan
    predicted = run.task("migrate in check mode")
    assert run.status("migrate in check mode") == "failed"
    assert predicted["msg"] == refusal and predicted["lagging_hosts"] == [lagging], predicted
    assert p.db.history() == before


def test_plan_reports_changed_false_and_would_change(make_project):
    p = make_project("sqlite")
    p.playbook(command="plan")
    with open(p.root / "site.yml", "a") as f:
        f.write("      notify: never\n  handlers:\n    - name: never\n      ansible.builtin.fail:\n        msg: fired\n")

    run = p.play(check=True)

    result = run.task()
    assert result["changed"] is False and result["would_change"] is True, result
    assert result["would_apply"] == ["0001", "0002"]
    assert run.recap()["changed"] == 0
    assert not (p.root / "state").exists()


def test_a_missing_project_fails_naming_it(make_project):
    p = make_project("sqlite")
    missing = p.root / "releases" / "nope"
    for module in ("lockstep.lockstep.migrate", "lockstep.lockstep.info"):
        p.playbook(module=module, project=str(missing))
        run = p.play()
        assert run.status() == "failed", run
        assert run.task()["msg"] == (
            f"the project directory {missing} does not exist (set by the module option project); "
            "give the directory that holds lockstep.ini and migrations/"
        ), run.task()
    assert not os.path.exists(missing)
