"""Fixtures for the Ansible tests: a temporary lockstep project, a fresh
database per test (SQLite, PostgreSQL, MariaDB), and a runner for the real
`ansible-playbook` against localhost.

tests/ansible/run.sh sets up the virtualenv, builds the binary and installs
the collection; run by hand, these fixtures find the binary in
target/debug and install the collection themselves.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COLLECTION = REPO / "ansible"
BINARY = Path(os.environ.get("LOCKSTEP_BIN", REPO / "target" / "debug" / "lockstep"))
REQUIRE_SERVERS = os.environ.get("LOCKSTEP_TEST_REQUIRE_SERVERS") == "1"
POSTGRES_URL = os.environ.get("LOCKSTEP_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
MYSQL_URL = os.environ.get("LOCKSTEP_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")

# A migration set every dialect accepts as written.
MIGRATIONS = {
    "0001_create_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL);\n",
    "0002_add_mail.sql": textwrap.dedent(
        """\
        -- lockstep:up
        ALTER TABLE users ADD COLUMN mail VARCHAR(255) NULL;
        -- lockstep:down
        ALTER TABLE users DROP COLUMN mail;
        """
    ),
}
CONFIG_MIGRATIONS = {
    "0001_app.yaml": textwrap.dedent(
        """\
        description: more workers, and a cache section
        file: app.ini
        operations:
          - set: {section: server, key: workers, value: 8}
          - set: {section: cache, key: backend, value: "${cache_backend}"}
        """
    ),
}
APP_INI = "; the app's settings\n[server]\nlisten = 127.0.0.1:8080\nworkers = 4\n"

# The playbook the tests run; MODULE is the FQCN of the Python wrapper or
# `lockstep` for the binary in library/.
PLAYBOOK = """\
- name: Migrate with lockstep
  hosts: app
  gather_facts: false
  tasks:
    - name: lockstep
      {module}:
{options}
      register: lockstep_result
"""


def pytest_report_header(config):
    return [
        f"lockstep binary: {BINARY}",
        f"servers: postgres {POSTGRES_URL}, mariadb {MYSQL_URL}"
        + (" (required)" if REQUIRE_SERVERS else " (skipped when down)"),
    ]


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """ANSIBLE_COLLECTIONS_PATH holding lockstep.lockstep: run.sh's, or a fresh symlink."""
    given = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if given and (Path(given.split(os.pathsep)[0]) / "ansible_collections/lockstep/lockstep/galaxy.yml").exists():
        return given
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "lockstep").mkdir(parents=True)
    (root / "ansible_collections" / "lockstep" / "lockstep").symlink_to(COLLECTION)
    return str(root)


@pytest.fixture(scope="session")
def binary():
    if not BINARY.is_file():
        pytest.fail(f"{BINARY} is missing: run `cargo build --locked` first (tests/ansible/run.sh does)")
    return BINARY


def clean_env(collections_path, home):
    """The environment for ansible-playbook: no lockstep settings leak in from the caller's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("LOCKSTEP_") or k.startswith("ANSIBLE_") or k == "DATABASE_URL")
    }
    env.update(
        PATH=f"{BINARY.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        ANSIBLE_COLLECTIONS_PATH=collections_path,
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(home / "remote-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        # Wide enough that a warning is not wrapped in the middle of a path.
        COLUMNS="400",
    )
    return env


class Run:
    """One ansible-playbook run: exit code, the text Ansible printed (diffs,
    warnings, PLAY RECAP), and the task results as JSON."""

    def __init__(self, proc, results_file):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = json.loads(results_file.read_text()) if results_file.exists() else None

    def __repr__(self):
        return f"ansible-playbook exited {self.rc}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def recap(self, host="app1"):
        """The PLAY RECAP counters of a host, e.g. {'ok': 1, 'changed': 1, 'failed': 0, ...}."""
        m = re.search(rf"^{re.escape(host)}\s*:\s*(.*)$", self.stdout.split("PLAY RECAP", 1)[-1], re.M)
        assert m, f"no PLAY RECAP line for {host}\n{self!r}"
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}

    def task(self, name="lockstep", host="app1"):
        """The result of the named task on a host."""
        return self._find(name, host)["result"]

    def status(self, name="lockstep", host="app1"):
        """ok, failed, skipped or unreachable."""
        return self._find(name, host)["status"]

    def _find(self, name, host):
        assert self.results is not None, f"no results were recorded\n{self!r}"
        for t in self.results["tasks"]:
            if t["task"] == name and t["host"] == host:
                return t
        names = sorted({t["task"] for t in self.results["tasks"]})
        raise AssertionError(f"no task {name!r} in {names}\n{self!r}")

    def output(self):
        """stdout and stderr with whitespace collapsed, for text Ansible may wrap."""
        return " ".join((self.stdout + "\n" + self.stderr).split())


class Project:
    """A temporary project: migrations/, config-migrations/, etc/app.ini, a
    state dir, a database, and playbooks that migrate them on localhost."""

    def __init__(self, root, db, collections_path):
        self.root = root
        self.db = db
        self.collections_path = collections_path
        self.home = root / "ansible-home"
        self.home.mkdir()
        for name, text in MIGRATIONS.items():
            self.write(f"project/migrations/{name}", text)
        for name, text in CONFIG_MIGRATIONS.items():
            self.write(f"project/config-migrations/{name}", text)
        self.write("etc/app.ini", APP_INI)
        self.write(
            "inventory.ini",
            f"[app]\napp1 ansible_connection=local ansible_python_interpreter={sys.executable}\n",
        )

    @property
    def ini_path(self):
        return self.root / "etc" / "app.ini"

    def write(self, relative, text):
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def ini(self):
        return self.ini_path.read_bytes()

    def options(self, **extra):
        """The task's options: this project, its database, config root and state dir."""
        opts = {
            "project": str(self.root / "project"),
            "database": self.db.url,
            "config_root": str(self.root / "etc"),
            "state_dir": str(self.root / "state"),
            "host_id": "app1",
            "vars": {"cache_backend": "redis"},
        }
        opts.update(extra)
        return opts

    def playbook(self, module="lockstep.lockstep.migrate", name="site.yml", **extra):
        options = "\n".join(
            f"        {k}: {json.dumps(v)}" for k, v in self.options(**extra).items() if v is not None
        )
        return self.write(name, PLAYBOOK.format(module=module, options=options))

    def ansible(self, *args, tool="ansible-playbook", check=False):
        env = clean_env(self.collections_path, self.home)
        results = self.root / f"results-{uuid.uuid4().hex[:8]}.json"
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="lockstep_results",
            LOCKSTEP_TEST_RESULTS=str(results),
        )
        proc = subprocess.run(
            [tool, "-i", str(self.root / "inventory.ini"), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        run = Run(proc, results)
        if check:
            assert run.rc == 0, repr(run)
        return run

    def play(self, *args, playbook="site.yml", **kwargs):
        return self.ansible(str(self.root / playbook), *args, **kwargs)


# --- databases -------------------------------------------------------------


class SqliteDb:
    kind = "sqlite"

    def __init__(self, root):
        self.path = root / "db" / "app.db"
        self.path.parent.mkdir()
        self.url = f"sqlite:{self.path}"

    def schema(self):
        """Tables, columns and recorded migrations: what a check-mode run must leave alone."""
        if not self.path.exists():
            return "no database file"
        con = sqlite3.connect(self.path)
        try:
            rows = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
            history = []
            if any(name == "lockstep_migrations" for _, name, _ in rows):
                history = con.execute("SELECT * FROM lockstep_migrations ORDER BY 1").fetchall()
        finally:
            con.close()
        return repr((rows, history))

    def columns(self, table):
        con = sqlite3.connect(self.path)
        try:
            return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        finally:
            con.close()

    def drop(self):
        pass


class PostgresDb:
    kind = "postgres"

    def __init__(self, name):
        self.name = name
        self.url = f"{POSTGRES_URL.rstrip('/')}/{name}"

    @staticmethod
    def admin(sql):
        return run_client(["psql", f"{POSTGRES_URL.rstrip('/')}/postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])

    def query(self, sql):
        return run_client(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])

    def schema(self):
        return self.query(
            "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1"
        ) + self.history()

    def history(self):
        if not self.query("SELECT to_regclass('public.lockstep_migrations')"):
            return ""
        return self.query("SELECT * FROM lockstep_migrations ORDER BY 1")

    def columns(self, table):
        return self.query(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
            "ORDER BY ordinal_position"
        ).split()

    def drop(self):
        self.admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def mysql_args():
    u = urlsplit(MYSQL_URL)
    args = ["mariadb", "--protocol=tcp", f"-h{u.hostname or '127.0.0.1'}", f"-P{u.port or 3306}", f"-u{u.username or 'root'}"]
    if u.password:
        args.append(f"-p{u.password}")
    return args + ["-N", "-B"]


class MariaDb:
    kind = "mysql"

    def __init__(self, name):
        self.name = name
        self.url = f"{MYSQL_URL.rstrip('/')}/{name}"

    @staticmethod
    def admin(sql):
        return run_client(mysql_args() + ["-e", sql])

    def query(self, sql):
        return run_client(mysql_args() + [self.name, "-e", sql])

    def schema(self):
        return self.query(
            "SELECT CONCAT(table_name, '.', column_name, ' ', column_type) FROM information_schema.columns "
            "WHERE table_schema = DATABASE() ORDER BY 1"
        ) + self.history()

    def history(self):
        tables = self.query("SHOW TABLES LIKE 'lockstep_migrations'")
        return self.query("SELECT * FROM lockstep_migrations ORDER BY 1") if tables else ""

    def columns(self, table):
        return self.query(
            f"SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            f"AND table_name = '{table}' ORDER BY ordinal_position"
        ).split()

    def drop(self):
        self.admin(f"DROP DATABASE IF EXISTS `{self.name}`")


def run_client(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise ClientError(f"{' '.join(argv[:1])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


class ClientError(Exception):
    pass


def unreachable(kind, why):
    msg = f"{kind} server unreachable, test SKIPPED: {why}"
    if REQUIRE_SERVERS:
        pytest.fail(f"{msg} (LOCKSTEP_TEST_REQUIRE_SERVERS=1)")
    pytest.skip(msg)


def make_db(kind, root):
    if kind == "sqlite":
        return SqliteDb(root)
    name = f"lockstep_ansible_{uuid.uuid4().hex[:12]}"
    cls = {"postgres": PostgresDb, "mysql": MariaDb}[kind]
    client = "psql" if kind == "postgres" else "mariadb"
    if shutil.which(client) is None:
        unreachable(kind, f"no `{client}` client on PATH")
    try:
        quoted = f'"{name}"' if kind == "postgres" else f"`{name}`"
        cls.admin(f"CREATE DATABASE {quoted}")
    except (ClientError, subprocess.TimeoutExpired) as e:
        unreachable(kind, str(e))
    return cls(name)


@pytest.fixture
def make_project(tmp_path, collections_path, binary):
    """make_project(kind='sqlite') -> Project with a fresh database, dropped afterwards."""
    made = []

    def make(kind="sqlite"):
        root = tmp_path / kind
        root.mkdir()
        db = make_db(kind, root)
        made.append(db)
        return Project(root, db, collections_path)

    yield make
    for db in made:
        try:
            db.drop()
        except (ClientError, subprocess.TimeoutExpired) as e:
            sys.stderr.write(f"cannot drop {db.kind} database: {e}\n")
