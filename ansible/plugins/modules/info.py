#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) lockstep contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: info
short_description: What lockstep would change on a host, its drift and its contract gate, changing nothing
version_added: 0.2.0
description:
  - Runs the C(lockstep) binary on the managed host with a read-only command and returns what a deploy with
    M(lockstep.lockstep.migrate) would do. It never changes anything, so C(changed) is always V(false), in check
    mode or not.
  - With O(command=plan) (the default), RV(would_change) says whether a deploy would change something,
    RV(database.pending) lists the migrations it would run, RV(drift) the hand edits and edited migrations it found,
    and RV(contract) whether lockstep would refuse a contract migration because hosts have not checked in at the new
    release yet, naming them.
  - A refusal the real run would make is an answer, not a failure; RV(would_fail) and RV(problems) say why. The
    task fails only when lockstep cannot answer (a project that does not exist, a database it cannot reach, a
    migration file it cannot read).
author:
  - lockstep contributors (!UNKNOWN)
requirements:
  - The C(lockstep) binary on the managed host, on E(PATH) or given with O(executable).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - The module never changes anything; it runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - O(command=plan) always returns the diff a deploy would make, in RV(diff).
options:
  command:
    description:
      - V(plan) reports what a deploy would do, including the contract gate.
      - V(status) reports every migration and every managed config file.
      - V(verify) compares checksums only; drift is returned in RV(drift).
    type: str
    choices: [plan, status, verify]
    default: plan
extends_documentation_fragment:
  - lockstep.lockstep.lockstep
seealso:
  - module: lockstep.lockstep.migrate
    description: Applies what this module predicts.
  - name: The lockstep migration tool
    description: lockstep's documentation, the settings file C(lockstep.ini) and the migration formats.
    link: https://github.com/lockstep/lockstep#readme
"""

EXAMPLES = r"""
- name: What would the deploy do?
  lockstep.lockstep.info:
    project: /srv/app/releases/2
    database: postgres://app@db.example.com/app
    password: "{{ app_db_password }}"
  register: lockstep_info

- name: Stop before the contract play while hosts lag behind
  ansible.builtin.assert:
    that: not lockstep_info.contract.refused
    fail_msg: "contract would be refused: {{ lockstep_info.contract.lagging_hosts | join(', ') }}"

- name: Fail when a config file was edited by hand
  lockstep.lockstep.info:
    project: /srv/app/current
    command: verify
  register: lockstep_verify
  failed_when: lockstep_verify.drift | length > 0
"""

RETURN = r"""
changed:
  description: Always V(false).
  returned: always
  type: bool
  sample: false
would_change:
  description:
    - Whether a deploy would change something. For O(command=plan), whether a migration would run or a config file
      be written; for O(command=status) and O(command=verify), whether migrations are pending.
  returned: always
  type: bool
  sample: true
would_fail:
  description: Whether the real run would stop; RV(problems) says why.
  returned: always
  type: bool
  sample: false
msg:
  description: What a deploy would do, or why it would stop, in one line.
  returned: always
  type: str
  sample: would apply 2 database migrations, would change 1 config file
contract:
  description: The contract gate.
  returned: always
  type: dict
  contains:
    refused:
      description:
        - Whether a contract migration would be refused because hosts recorded in the database have not checked in
          at its version. Only O(command=plan) checks the gate; the other commands return V(false).
      type: bool
      sample: true
    lagging_hosts:
      description: The hosts behind, as C(NAME (at VERSION)).
      type: list
      elements: str
      sample: ["app3 (at 0001)"]
    msg:
      description: lockstep's refusal, naming the migration and the hosts; empty when not refused.
      type: str
database:
  description: The database side, as M(lockstep.lockstep.migrate) returns it; nothing is applied.
  returned: always
  type: dict
  contains:
    url:
      description: The database URL with its password replaced by C(***).
      type: str
      sample: postgres://app:***@db.example.com/app
    pending:
      description: The migrations a deploy would run (and, for a phase, the ones it would leave), in order.
      type: list
      elements: dict
    current:
      description: The newest applied migration's version, or V(null).
      type: str
      sample: "0004"
    migrations:
      description: Every migration with its state.
      returned: when O(command=status) or O(command=verify)
      type: list
      elements: dict
config:
  description: The managed config files, as M(lockstep.lockstep.migrate) returns them.
  returned: always
  type: dict
drift:
  description: Edited applied migrations and hand-edited config files, each with a C(kind).
  returned: always
  type: list
  elements: dict
problems:
  description: Why the real run would stop, each with a C(kind) (V(contract_gated), V(config_drift), ...) and a C(msg).
  returned: when the real run would stop
  type: list
  elements: dict
diff:
  description: What a deploy would change, per config file and the database's SQL.
  returned: when O(command=plan) and something would change
  type: list
  elements: dict
would_apply:
  description: The versions of the database migrations that would run.
  returned: when O(command=plan)
  type: list
  elements: str
  sample: ["0003"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lockstep.lockstep.plugins.module_utils.lockstep import (
    argument_spec,
    build_command,
    plan_options_only_with,
    run_lockstep,
)

# Problems that mean lockstep could not answer, rather than predicted refusals.
UNANSWERED = ('error',)


def would_change(command, result):
    if command == 'plan':
        return bool(result.get('changed'))
    migrations = (result.get('database') or {}).get('migrations') or []
    files = (result.get('config') or {}).get('files') or []
    return (any(m.get('state', '').startswith('pending') for m in migrations)
            or any(f.get('pending') for f in files))


def contract(result):
    gated = [p for p in result.get('problems') or [] if p.get('kind') == 'contract_gated']
    return dict(
        refused=bool(gated),
        lagging_hosts=result.pop('lagging_hosts', []) if gated else [],
        msg=gated[0]['msg'] if gated else '',
    )


def main():
    spec = argument_spec()
    spec.update(command=dict(type='str', default='plan', choices=['plan', 'status', 'verify']))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    command = module.params['command']
    plan_options_only_with(module, command, ('plan',))

    argv, env, secret_file = build_command(module, command, False, command == 'plan')
    rc, result = run_lockstep(module, argv, env, secret_file)

    failed = bool(result.pop('failed', False)) or rc != 0
    problems = result.get('problems') or []
    if failed and (not problems or any(p.get('kind') in UNANSWERED for p in problems)):
        msg = result.pop('msg', '') or 'lockstep exited %s' % rc
        result['changed'] = False
        module.fail_json(msg=msg, **result)
    result.update(
        changed=False,
        would_change=would_change(command, result),
        would_fail=failed,
        contract=contract(result),
    )
    result.pop('check_mode', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
