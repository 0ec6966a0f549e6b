# -*- coding: utf-8 -*-

# Copyright (c) lockstep contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options lockstep.lockstep.migrate and lockstep.lockstep.info share: where the project, the database and
    the config files are, and the values for config migrations."""

    DOCUMENTATION = r"""
options:
  project:
    description:
      - The project directory (C(-C)). C(lockstep.ini) is looked up there, and the defaults of O(migrations),
        O(config_migrations), O(config_root) and O(state_dir) are relative to it.
      - A directory that does not exist fails the task, naming it.
      - When not set, lockstep uses E(LOCKSTEP_PROJECT) or the module's working directory, which is seldom what you
        want. Use an absolute path.
    type: path
  database:
    description:
      - The database URL, V(sqlite:FILE), V(postgres://USER@HOST/DB) or V(mysql://USER@HOST/DB).
      - Give the password in O(password), not in the URL.
      - When not set, lockstep uses E(LOCKSTEP_DATABASE), E(DATABASE_URL), C(database) in C(lockstep.ini), and
        finally an embedded SQLite database in O(state_dir).
      - Reaches lockstep through its environment, never its command line, so other users of the host cannot see it
        with C(ps). Never logged; because Ansible masks this value wherever it appears in the task result,
        RV(database.url) shows as C(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER) when it equals the URL given. lockstep
        itself shows passwords as C(***).
    type: str
  password:
    description:
      - The database password, put into the URL of O(database) (or of C(database) in C(lockstep.ini)) by lockstep.
      - Reaches lockstep through its environment (E(LOCKSTEP_DATABASE_PASSWORD)), never its command line. Never
        logged; lockstep shows it as C(***).
      - The URL must name a user.
    type: str
  migrations:
    description:
      - The directory of database migrations, C(<version>_<slug>.sql), searched recursively.
      - When set (here, in the environment or in C(lockstep.ini)), it must exist.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else C(<project>/migrations).
    type: path
  config_migrations:
    description:
      - The directory of config migrations, C(<version>_<slug>.yaml).
      - When set (here, in the environment or in C(lockstep.ini)), it must exist.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else
        C(<project>/config-migrations).
    type: path
  config_root:
    description:
      - Config migrations name their INI file relative to this directory, and may not leave it. It must exist.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else the project directory.
    type: path
  state_dir:
    description:
      - The per-host state directory, holding the checksums and snapshots of managed config files and the lock file
        of an embedded SQLite database. lockstep creates it with mode C(0700).
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else C(<project>/.lockstep).
    type: path
  phase:
    description:
      - Which parts of the migrations run.
      - V(expand) runs the database and config migrations that are safe while the old release still runs (new tables,
        new columns, new keys), then the backfills of expanded YAML migrations. In a rolling deploy, each host runs
        it to check in at the new release (every apply records the host and the newest migration it is at, for
        contract gating).
      - V(contract) runs the ones that remove what the old release needed. Run it once every host runs the new
        release; until then lockstep refuses it, naming the hosts that lag.
      - V(all) runs database expand, config expand, config contract and database contract, in that order.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else V(all).
    type: str
    choices: [expand, contract, all]
  vars:
    description:
      - Values for C(${KEY}) placeholders in config migrations that are not secret.
      - They take precedence over O(vars_file), O(secret_vars) and the C([vars]) section of C(lockstep.ini).
      - Logged and shown like any other option, so registered results keep their values. Put secrets in
        O(secret_vars).
    type: dict
  secret_vars:
    description:
      - Values for C(${KEY}) placeholders that are secret.
      - Passed to lockstep in a file of mode C(0600) that only the task's user can read, removed after the task,
        never on its command line. lockstep masks them as C(***) in its output and diffs.
      - Never logged. Ansible masks each value wherever it appears in the task result.
      - A key may not be in both O(vars) and O(secret_vars).
    type: dict
  vars_file:
    description:
      - YAML or JSON files on the managed host with values for C(${KEY}) placeholders, in order.
    type: list
    elements: path
  secret_vars_file:
    description:
      - YAML or JSON files on the managed host with secret values for C(${KEY}) placeholders, masked by lockstep as
        for O(secret_vars). Keep them readable by their owner only.
    type: list
    elements: path
  on_drift:
    description:
      - What to do when a managed config file was edited by hand and config migrations are pending for it.
      - V(fail) stops before writing anything and names the edited keys.
      - V(merge) applies the pending operations on top of the edit when none of them touches a hand-edited key.
      - V(force) applies them anyway and reports the overwritten keys in C(config.files[].overwritten).
      - With nothing pending for the file, a hand edit is only a warning, whatever this is.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else V(fail).
    type: str
    choices: [fail, merge, force]
  lock_timeout:
    description:
      - Seconds to wait for another lockstep that holds the database's lock.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else V(60).
    type: int
  host_id:
    description:
      - This host's name in the database's list of hosts, used for contract gating.
      - When not set, lockstep uses the setting from the environment or C(lockstep.ini), else the host name.
    type: str
  target:
    description:
      - Apply database migrations only up to this version, inclusive.
      - Only with O(command=apply) or O(command=plan).
    type: str
  allow_out_of_order:
    description:
      - Apply a pending database migration whose version is older than the newest applied one. Without it such a
        migration makes the task fail.
      - Only with O(command=apply) or O(command=plan).
    type: bool
    default: false
  force:
    description:
      - Contract gating override. Run contract migrations even when a host recorded in the database has not checked
        in at or past them (a rolling deploy has not finished), or a sanity check after a backfill found rows
        that differ.
      - Only with O(command=apply) or O(command=plan).
    type: bool
    default: false
  no_backfill:
    description:
      - Leave the batched backfills of expanded YAML migrations to C(lockstep backfill) instead of running them
        right after expand. Contract waits until they have finished.
      - Only with O(command=apply) or O(command=plan).
    type: bool
    default: false
  executable:
    description:
      - The path of the C(lockstep) binary.
      - When not set, C(lockstep) is looked up on E(PATH) and in the usual C(sbin) directories.
    type: path
notes:
  - Settings not given as options come from the E(LOCKSTEP_*) environment and C(lockstep.ini) on the managed host,
    as for the command line. Precedence is option, then environment, then C(lockstep.ini), then lockstep's default.
  - Secrets (O(database), O(password), O(secret_vars)) reach lockstep through its environment or a file of mode
    C(0600), never its command line.
"""
