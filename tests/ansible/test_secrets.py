"""Secrets never reach lockstep's command line (what `ps` shows every user
of the host): the database password, secret_vars and secret vars files go
through the environment or a file of mode 0600. Plain `vars` are not no_log,
so a registered result keeps its values."""

import json
import textwrap

from conftest import BINARY

PASSWORD = "pg-Pa55word-9f3"
SECRET_VAR = "sv-S3cret-7c1"
FILE_SECRET = "vf-T0ken-44a"

SECRET_MIGRATION = textwrap.dedent(
    """\
    file: app.ini
    operations:
      - set: {section: session, key: secret, value: "${session_secret}", secret: true}
      - set: {section: api, key: token, value: "${api_token}", secret: true}
    """
)


def recorder(p):
    """An `executable` that appends its argv, and the mode of each secret vars file it is given, to argv.log."""
    log = p.root / "argv.log"
    script = p.write(
        "record-lockstep",
        textwrap.dedent(
            f"""\
            #!/bin/sh
            echo "$*" >> {log}
            for a in "$@"; do
              case "$a" in --secret-vars-file=*) stat -c 'mode %a' "${{a#--secret-vars-file=}}" >> {log};; esac
            done
            exec {BINARY} "$@"
            """
        ),
    )
    script.chmod(0o755)
    return script, log


def test_no_secret_on_the_command_line(make_project):
    p = make_project("postgres")
    p.write("project/config-migrations/0002_secrets.yaml", SECRET_MIGRATION)
    secrets_file = p.write("host-secrets.yaml", f"api_token: {FILE_SECRET}\n")
    secrets_file.chmod(0o600)
    script, log = recorder(p)
    p.playbook(
        executable=str(script),
        password=PASSWORD,
        secret_vars={"session_secret": SECRET_VAR},
        secret_vars_file=[str(secrets_file)],
    )

    check = p.play("--check", "--diff")
    run = p.play()

    assert check.rc == 0, check
    assert run.rc == 0, run
    argv = log.read_text()
    assert argv.count("--format json") == 2, argv
    for secret in (PASSWORD, SECRET_VAR, FILE_SECRET, "postgres://"):
        assert secret not in argv, f"{secret} on the command line:\n{argv}"
    # secret_vars arrive in a file only the task's user can read, removed afterwards.
    assert argv.count("mode 600") == 4, argv
    leftovers = [f for f in p.home.rglob("lockstep-secret-vars.json")]
    assert leftovers == []
    # lockstep got them all: the password (it connected), and the values.
    result = run.task()
    assert result["changed"] is True and result["database"]["dialect"] == "postgres"
    assert result["database"]["url"].endswith(f":***@127.0.0.1:5432/{p.db.name}"), result["database"]["url"]
    ini = p.ini().decode()
    assert f"secret = {SECRET_VAR}\n" in ini and f"token = {FILE_SECRET}\n" in ini
    # ... and printed none of them, in the diff or the result.
    for out in (check, run):
        text = out.stdout + out.stderr + json.dumps(out.results)
        for secret in (PASSWORD, SECRET_VAR, FILE_SECRET):
            assert secret not in text, f"{secret} in the output:\n{out!r}"


def test_vars_are_not_masked_in_results(make_project):
    p = make_project("sqlite")
    p.write(
        "project/config-migrations/0002_short.yaml",
        "file: app.ini\noperations:\n"
        "  - set: {section: server, key: retries, value: \"${retries}\"}\n"
        "  - set: {section: server, key: mode, value: \"${mode}\"}\n",
    )
    p.playbook(vars={"cache_backend": "redis", "retries": 0, "mode": "x"})
    with open(p.root / "site.yml", "a") as f:
        f.write(
            "    - name: compare\n"
            "      ansible.builtin.assert:\n"
            "        that:\n"
            "          - lockstep_result.database.current == '0002'\n"
            "          - lockstep_result.msg == 'applied 2 database migrations, changed 1 config file'\n"
        )

    run = p.play(check=True)

    result = run.task()
    assert result["database"]["current"] == "0002"
    assert result["msg"] == "applied 2 database migrations, changed 1 config file"
    assert result["invocation"]["module_args"]["vars"] == {"cache_backend": "redis", "retries": 0, "mode": "x"}
    assert run.status("compare") == "ok", run
    assert p.ini() == (
        b"; the app's settings\n[server]\nlisten = 127.0.0.1:8080\nworkers = 8\nretries = 0\nmode = x\n"
        b"\n[cache]\nbackend = redis\n"
    ), p.ini()
