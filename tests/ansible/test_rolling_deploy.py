"""ansible/playbooks/rolling-deploy.yml on two hosts sharing one database:
contract is refused while a host has not checked in at the new release, and
the full expand -> roll -> contract deploy goes through."""

import sys

from conftest import COLLECTION, Project

PLAYBOOK = str(COLLECTION / "playbooks" / "rolling-deploy.yml")

RELEASE_1 = {
    "migrations/0001_create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(255) NULL);\n",
    "config-migrations/0001_app.yaml": (
        "file: app.ini\ncreate: true\noperations:\n  - set: {section: options, key: cache, value: memcache}\n"
    ),
}
RELEASE_2 = {
    **RELEASE_1,
    "migrations/0002_add_email.sql": "ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL;\n",
    "migrations/0003_drop_mail.sql": "-- lockstep:phase contract\n-- lockstep:up\nALTER TABLE users DROP COLUMN mail;\n",
    "config-migrations/0002_cache_section.yaml": (
        "file: app.ini\noperations:\n  - set: {section: cache, key: backend, value: redis}\n"
    ),
    "config-migrations/0003_drop_old_cache.yaml": (
        "file: app.ini\nphase: contract\noperations:\n  - delete: {section: options, key: cache}\n"
    ),
}


def rolling_project(make_project):
    p = make_project("sqlite")
    for release, files in (("1", RELEASE_1), ("2", RELEASE_2)):
        for name, text in files.items():
            p.write(f"releases/{release}/{name}", text)
    hosts = "\n".join(
        f"{h} ansible_connection=local app_config_dir={p.root / ('etc-' + h)} app_state_dir={p.root / ('state-' + h)}"
        for h in ("app1", "app2")
    )
    p.write(
        "inventory.ini",
        f"[app]\n{hosts}\n\n[app:vars]\nansible_python_interpreter={sys.executable}\n"
        f"app_releases_dir={p.root / 'releases'}\napp_database_url={p.db.url}\napp_config_vars={{}}\n",
    )
    for h in ("app1", "app2"):
        (p.root / f"etc-{h}").mkdir()
    return p


def ini(p: Project, host):
    return (p.root / f"etc-{host}" / "app.ini").read_text()


def test_rolling_deploy_gates_contract_then_goes_through(make_project):
    p = rolling_project(make_project)
    first = p.ansible(PLAYBOOK, "-e", "app_release=1", check=True)
    assert first.recap("app1")["changed"] >= 1 and first.recap("app2")["changed"] >= 1, first
    assert ini(p, "app2") == "[options]\ncache = memcache\n"

    # Contract before any host runs release 2: refused, naming the hosts behind.
    early = p.ansible(PLAYBOOK, "-e", "app_release=2", "--start-at-task", "Contract the shared database")
    assert early.rc != 0, early
    msg = early.task("Contract the shared database")["msg"]
    assert msg.startswith("contract of migration 0003 refused"), msg
    assert "app2 (at 0001)" in msg
    assert p.db.columns("users") == ["id", "mail"]

    deploy = p.ansible(PLAYBOOK, "-e", "app_release=2", check=True)
    assert deploy.task("Expand the database", "app1")["database"]["current"] == "0002"
    contract = deploy.task("Contract the shared database", "app1")
    assert [(m["version"], m["part"]) for m in contract["database"]["applied"]] == [("0003", "contract")]
    assert p.db.columns("users") == ["id", "email"]
    for host in ("app1", "app2"):
        assert ini(p, host) == "[options]\n\n[cache]\nbackend = redis\n", ini(p, host)

    again = p.ansible(PLAYBOOK, "-e", "app_release=2", check=True)
    assert again.recap("app1")["changed"] == 0 and again.recap("app2")["changed"] == 0, again
