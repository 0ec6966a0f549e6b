"""ansible/playbooks/rolling_deploy.yml on three local hosts sharing one
PostgreSQL database: contract is refused while the last host has not checked
in at the new release, and the full expand -> roll -> contract deploy goes
through."""

import sys

from conftest import COLLECTION, Project

PLAYBOOK = str(COLLECTION / "playbooks" / "rolling_deploy.yml")
HOSTS = ("app1", "app2", "app3")

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
    p = make_project("postgres")
    for release, files in (("1", RELEASE_1), ("2", RELEASE_2)):
        for name, text in files.items():
            p.write(f"releases/{release}/{name}", text)
    hosts = "\n".join(
        f"{h} ansible_connection=local app_config_dir={p.root / ('etc-' + h)} app_state_dir={p.root / ('state-' + h)}"
        for h in HOSTS
    )
    p.write(
        "inventory.ini",
        f"[app]\n{hosts}\n\n[app:vars]\nansible_python_interpreter={sys.executable}\n"
        f"app_releases_dir={p.root / 'releases'}\napp_database_url={p.db.url}\napp_config_vars={{}}\n",
    )
    for h in HOSTS:
        (p.root / f"etc-{h}").mkdir()
    return p


def ini(p: Project, host):
    return (p.root / f"etc-{host}" / "app.ini").read_text()


def test_rolling_deploy_gates_contract_then_goes_through(make_project):
    p = rolling_project(make_project)
    first = p.ansible(PLAYBOOK, "-e", "app_release=1", check=True)
    for h in HOSTS:
        assert first.recap(h)["changed"] >= 1, first
        assert ini(p, h) == "[options]\ncache = memcache\n"

    # Release 2 reaches app1 and app2 but not yet app3: contract is refused,
    # naming the host behind.
    early = p.ansible(PLAYBOOK, "-e", "app_release=2", "--limit", "app1,app2")
    assert early.rc != 0, early
    msg = early.task("Contract the shared database")["msg"]
    assert msg.startswith("contract of migration 0003 refused"), msg
    assert "app3 (at 0001)" in msg and "app1" not in msg.split("refused")[1], msg
    assert p.db.columns("users") == ["id", "mail", "email"]
    assert ini(p, "app3") == "[options]\ncache = memcache\n"

    deploy = p.ansible(PLAYBOOK, "-e", "app_release=2", check=True)
    contract = deploy.task("Contract the shared database", "app1")
    assert [(m["version"], m["part"]) for m in contract["database"]["applied"]] == [("0003", "contract")]
    assert p.db.columns("users") == ["id", "email"]
    for h in HOSTS:
        assert ini(p, h) == "[options]\n\n[cache]\nbackend = redis\n", ini(p, h)

    again = p.ansible(PLAYBOOK, "-e", "app_release=2", check=True)
    for h in HOSTS:
        assert again.recap(h)["changed"] == 0, again
