#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) lockstep contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: migrate
short_description: Migrate a database schema and INI config files from one release to the next with lockstep
version_added: 0.1.0
description:
  - Runs the C(lockstep) binary on the managed host to bring the database schema (SQLite, PostgreSQL, MySQL/MariaDB)
    and the host's INI config files to the state the application's release expects.
  - Database migrations are SQL files in O(migrations); config migrations are YAML files in O(config_migrations) that
    edit INI files under O(config_root) losslessly (comments, order and spacing of untouched lines are kept).
  - lockstep records a sha256 checksum of every migration it applied and every file it wrote. An applied migration
    whose file was edited afterwards makes the task fail. A config file edited by hand is reported as a warning when
    nothing is pending for it, and handled according to O(on_drift) when something is.
  - The module is a thin wrapper. It runs C(lockstep --format json ... <command>) and returns the JSON that lockstep
    prints, with lockstep's C(warnings) shown as Ansible warnings.
author:
  - lockstep contributors (!UNKNOWN)
requirements:
  - The C(lockstep) binary on the managed host, on E(PATH) or given with O(executable).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - lockstep runs with C(--check). C(changed) then means "would change"; nothing is written to the database
        or to any config file. A refusal the real run would make (the contract gate, O(on_drift=fail)) fails the
        task in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - Each changed INI file is shown line by line, and the SQL that runs (or would run) is shown as one block
        per database.
options:
  command:
    description:
      - What lockstep does.
      - V(apply) brings the database and the config files to the target state. It is idempotent. In check mode it
        predicts the run, including a refusal (a contract while hosts lag behind, a hand edit with O(on_drift=fail)),
        which then fails the task as the real run would.
      - V(plan) reports what V(apply) would do and never changes anything, so C(changed) is always V(false);
        RV(would_change) says whether V(apply) would change something. M(lockstep.lockstep.info) does the same and
        more.
      - V(status) reports every migration and every managed config file. It never changes anything.
      - V(verify) compares checksums only and fails on any edited migration, missing migration file or hand-edited
        config file. It never changes anything.
    type: str
    choices: [apply, plan, status, verify]
    default: apply
  backup:
    description:
      - Keep a timestamped copy of each config file before changing it. Its path is returned in
        RV(config.files[].backup_file).
      - Only with O(command=apply) or O(command=plan).
    type: bool
    default: false
  batch_size:
    description:
      - Rows per backfill batch, each its own short transaction.
      - When not set, lockstep uses V(1000).
      - Only with O(command=apply) or O(command=plan).
    type: int
  batch_sleep:
    description:
      - Milliseconds to pause between backfill batches, to leave room for the application.
      - When not set, lockstep uses V(0).
      - Only with O(command=apply) or O(command=plan).
    type: int
extends_documentation_fragment:
  - lockstep.lockstep.lockstep
notes:
  - lockstep takes a lock per database, so several hosts sharing one database may run this module at the same time;
    they migrate it one after the other. For a rolling deploy, see the example playbooks in the collection.
  - The binary can also run as an Ansible binary module without this wrapper; see the collection's README.
seealso:
  - module: lockstep.lockstep.info
    description: What a run would change, the drift and the contract gate, without changing anything.
  - name: The lockstep migration tool
    description: lockstep's documentation, the settings file C(lockstep.ini) and the migration formats.
    link: https://github.com/lockstep/lockstep#readme
"""

EXAMPLES = r"""
- name: Bring the database and the config files to this release
  lockstep.lockstep.migrate:
    project: /srv/app/current
    database: postgres://app@db.example.com/app
    password: "{{ app_db_password }}"
    config_root: /etc/app
    state_dir: /var/lib/app/lockstep
    vars:
      workers: 8
    secret_vars:
      session_secret: "{{ app_session_secret }}"

- name: Show what a deploy would do (run the play with --check --diff for the diff)
  lockstep.lockstep.migrate:
    project: /srv/app/current
    command: plan
  register: lockstep_plan

- name: Rolling deploy, before any host runs the new release - expand the shared database once
  lockstep.lockstep.migrate:
    project: /srv/app/releases/{{ app_release }}
    database: "{{ app_database_url }}"
    phase: expand
  run_once: true

- name: Keep a hand edit of app.ini and apply the pending keys on top of it
  lockstep.lockstep.migrate:
    project: /srv/app/current
    config_root: /etc/app
    on_drift: merge
    backup: true

- name: Fail the play when anything was edited by hand
  lockstep.lockstep.migrate:
    project: /srv/app/current
    command: verify

- name: Use a lockstep binary that is not on PATH
  lockstep.lockstep.migrate:
    project: /srv/app/current
    executable: /opt/lockstep/bin/lockstep
"""

RETURN = r"""
changed:
  description:
    - Whether a database migration ran or a config file was written. In check mode, whether one would.
  returned: always
  type: bool
  sample: true
failed:
  description: Whether lockstep failed. The task fails with RV(msg) when it did.
  returned: always
  type: bool
  sample: false
msg:
  description: What lockstep did, would do, or why it stopped, in one line.
  returned: always
  type: str
  sample: applied 2 database migrations, changed 1 config file
check_mode:
  description: Whether lockstep ran with C(--check).
  returned: always
  type: bool
  sample: false
phase:
  description: The phase that ran, V(expand), V(contract) or V(all).
  returned: always
  type: str
  sample: all
database:
  description: The database side.
  returned: always
  type: dict
  contains:
    url:
      description: The database URL with its password replaced by C(***).
      returned: always
      type: str
      sample: postgres://app:***@db.example.com/app
    dialect:
      description: V(sqlite), V(postgres) or V(mysql). Empty when lockstep stopped before reading the settings.
      returned: always
      type: str
      sample: postgres
    applied:
      description: The migrations this run applied, in order. Empty in check mode.
      returned: always
      type: list
      elements: dict
      contains:
        version:
          description: The migration's version.
          type: str
          sample: "0004"
        slug:
          description: The migration's name, from its file name.
          type: str
          sample: index_items_title
        part:
          description: V(expand) or V(contract).
          type: str
          sample: expand
        checksum:
          description: The recorded checksum of the migration file.
          type: str
          sample: sha256:9caeb5e853533e5e0ff48e1eb65334d72299616c7af65cfe76d0e70b5af9c3cd
        duration_ms:
          description: How long the migration took, in milliseconds.
          type: int
          sample: 12
    pending:
      description:
        - The migrations still to apply after this run, in order. In check mode, the ones that would run.
      returned: always
      type: list
      elements: dict
      contains:
        version:
          description: The migration's version.
          type: str
          sample: "0005"
        slug:
          description: The migration's name.
          type: str
          sample: add_users_display_name
        part:
          description: V(expand) or V(contract).
          type: str
          sample: expand
        path:
          description: The migration file.
          type: str
          sample: migrations/release-2/0005_add_users_display_name.sql
    current:
      description: The newest applied migration's version, or V(null) when none is applied.
      returned: always
      type: str
      sample: "0005"
    failed_migration:
      description: The migration that failed, with the statement that failed.
      returned: when a migration failed
      type: dict
      contains:
        version:
          description: The migration's version.
          type: str
        slug:
          description: The migration's name.
          type: str
        path:
          description: The migration file.
          type: str
        statement:
          description: The statement that failed.
          type: str
          sample: INSERT INTO nope VALUES (1)
        line:
          description: The statement's line in the migration file.
          type: int
          sample: 2
        error:
          description: The database's error.
          type: str
    migrations:
      description:
        - Every migration, applied or not, with its V(state) (applied, pending, failed, running, rolled_back, missing)
          and whether its file still matches its checksum (V(checksum_ok)).
      returned: when O(command=status)
      type: list
      elements: dict
config:
  description: The config side.
  returned: always
  type: dict
  contains:
    files:
      description:
        - One entry per managed config file that a pending or applied config migration names.
        - With O(command=status) and O(command=verify), each entry has C(path), C(pending), C(drifted), C(drift)
          and C(sha256) instead.
      returned: always
      type: list
      elements: dict
      contains:
        path:
          description: The file, relative to O(config_root).
          type: str
          sample: app.ini
        changed:
          description: Whether the file was written (in check mode, would be).
          type: bool
          sample: true
        applied:
          description: The config migrations applied to the file by this run (in check mode, that would be).
          type: list
          elements: str
          sample: ["0002"]
        sha256_before:
          description: The checksum of the file before this run, or V(null) when it did not exist.
          type: str
          sample: sha256:74d86eb01fd6f83f0f0dcf805448eb877a73c7388eabf7b937b7e181e5b94738
        sha256_after:
          description: The checksum of the file after this run (in check mode, as it would be).
          type: str
          sample: sha256:b47ca418ef13df17b836365ae4f4e0f031ab907267b0a252fc601da3f7e56666
        drifted:
          description: Whether the file was edited by hand since lockstep last wrote it.
          type: bool
          sample: false
        overwritten:
          description: The hand-edited keys that O(on_drift=force) overwrote, as C(section.key).
          type: list
          elements: str
          returned: when O(on_drift=force) overwrote a hand edit
          sample: ["server.workers"]
        backup_file:
          description: The copy of the file made before changing it.
          type: str
          returned: when O(backup=true) and the file changed
drift:
  description:
    - Everything that changed behind lockstep's back. An item for a config file with nothing pending comes with a
      warning; the other kinds make O(command=apply) and O(command=verify) fail.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: config_edited
      path: app.ini
      keys: {changed: [server.listen], added: [], removed: []}
  contains:
    kind:
      description:
        - V(config_edited) for a config file edited by hand, V(migration_edited) for an applied migration whose file
          changed, V(migration_missing) for an applied migration without a file, V(config_migration_edited) for an
          applied config migration whose file changed.
      type: str
      sample: config_edited
    path:
      description: The edited file, a config file relative to O(config_root) or a migration file.
      type: str
      returned: except for V(migration_missing)
      sample: app.ini
    keys:
      description: The edited keys of a config file as C(section.key), under C(changed), C(added) and C(removed).
      type: dict
      returned: for V(config_edited)
      sample: {changed: [server.listen], added: [], removed: []}
    version:
      description: The version of the edited or missing migration.
      type: str
      returned: for V(migration_edited), V(migration_missing) and V(config_migration_edited)
      sample: "0001"
    recorded:
      description: The checksum recorded when the migration was applied.
      type: str
      returned: for V(migration_edited) and V(config_migration_edited)
    actual:
      description: The checksum of the migration file now.
      type: str
      returned: for V(migration_edited) and V(config_migration_edited)
diff:
  description:
    - What changed (in check mode, would change), for Ansible's C(--diff). A config file has C(before) and C(after)
      contents; the database has the SQL as C(prepared).
  returned: when run with C(--diff) (always for O(command=plan)) and something changed
  type: list
  elements: dict
  sample:
    - before_header: app.ini
      after_header: app.ini
      before: "[server]\nworkers = 4\n"
      after: "[server]\nworkers = 8\n"
    - before_header: database
      after_header: "database (sqlite:/var/lib/app/lockstep.db)"
      prepared: "-- 0002_add_mail (expand)\nALTER TABLE users ADD COLUMN mail VARCHAR(255) NULL;\n"
problems:
  description: What stopped the run, each with a machine-readable C(kind) and a C(msg).
  returned: when lockstep found a problem
  type: list
  elements: dict
  sample:
    - kind: config_drift
      msg: app.ini was edited by hand since lockstep last wrote it (changed server.listen) ...
  contains:
    kind:
      description:
        - V(migration_failed), V(migration_interrupted), V(migration_edited), V(out_of_order), V(config_drift),
          V(config_drift_conflict), V(config_migration_edited), V(config_missing), V(config_operation),
          V(config_path) or V(config_unreadable). Later lockstep versions may add kinds.
      type: str
    msg:
      description: The problem in one line, with what to run next.
      type: str
would_change:
  description: Whether O(command=apply) would change something. C(changed) is always V(false) for O(command=plan).
  returned: when O(command=plan)
  type: bool
  sample: true
lagging_hosts:
  description:
    - The hosts that have not checked in at the contract migration's version, as C(NAME (at VERSION)), when lockstep
      refused a contract (in check mode, would refuse it).
  returned: when the contract gate refused
  type: list
  elements: str
  sample: ["app3 (at 0001)"]
would_apply:
  description: The versions of the database migrations that would run.
  returned: in check mode, when O(command=apply)
  type: list
  elements: str
  sample: ["0001", "0002"]
config_migrations:
  description: Every config migration with its state and whether its file still matches its checksum.
  returned: when O(command=status) or O(command=verify)
  type: list
  elements: dict
stderr:
  description: What lockstep logged on its standard error.
  returned: when the task failed and lockstep logged something
  type: str
rc:
  description: lockstep's exit status.
  returned: when lockstep printed no JSON result
  type: int
  sample: 2
stdout:
  description: What lockstep printed instead of a JSON result.
  returned: when lockstep printed no JSON result
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lockstep.lockstep.plugins.module_utils.lockstep import (
    argument_spec,
    build_command,
    plan_options_only_with,
    run_lockstep,
)

# migrate's own options of apply and plan.
APPLY_VALUES = (
    ('batch_size', '--batch-size'),
    ('batch_sleep', '--batch-sleep'),
)
APPLY_FLAGS = (('backup', '--backup'),)


def main():
    spec = argument_spec()
    spec.update(
        command=dict(type='str', default='apply', choices=['apply', 'plan', 'status', 'verify']),
        backup=dict(type='bool', default=False),
        batch_size=dict(type='int'),
        batch_sleep=dict(type='int'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    command = module.params['command']
    plan_options_only_with(module, command, ('apply', 'plan'), APPLY_VALUES, APPLY_FLAGS)

    argv, env, secret_file = build_command(module, command, module.check_mode, module._diff, APPLY_VALUES, APPLY_FLAGS)
    rc, result = run_lockstep(module, argv, env, secret_file)

    if command == 'plan':
        # A plan changes nothing: handlers and `is changed` must not fire.
        result['would_change'] = bool(result.get('changed'))
        result['changed'] = False
    if result.pop('failed', False) or rc != 0:
        msg = result.pop('msg', '') or 'lockstep exited %s' % rc
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
