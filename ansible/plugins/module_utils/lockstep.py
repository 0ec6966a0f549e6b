# -*- coding: utf-8 -*-

# Copyright (c) lockstep contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

"""What lockstep.lockstep.migrate and lockstep.lockstep.info share: the options, the command line (secrets kept
off it), running lockstep, and its messages reworded for a playbook author."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

# Module option -> lockstep long option, placed before the command. The
# database URL and password go through the environment instead.
GLOBAL_OPTIONS = (
    ('project', '--project'),
    ('migrations', '--migrations'),
    ('config_migrations', '--config-migrations'),
    ('config_root', '--config-root'),
    ('state_dir', '--state-dir'),
    ('phase', '--phase'),
    ('on_drift', '--on-drift'),
    ('lock_timeout', '--lock-timeout'),
    ('host_id', '--host-id'),
)

# Options of apply and plan only, placed after the command.
PLAN_VALUES = (('target', '--target'),)
PLAN_FLAGS = (
    ('allow_out_of_order', '--allow-out-of-order'),
    ('force', '--force'),
    ('no_backfill', '--no-backfill'),
)

# lockstep's exit status for a command line it could not parse.
USAGE_ERROR = 2


def argument_spec():
    """The options in the lockstep.lockstep.lockstep documentation fragment."""
    return dict(
        project=dict(type='path'),
        database=dict(type='str', no_log=True),
        password=dict(type='str', no_log=True),
        migrations=dict(type='path'),
        config_migrations=dict(type='path'),
        config_root=dict(type='path'),
        state_dir=dict(type='path'),
        phase=dict(type='str', choices=['expand', 'contract', 'all']),
        vars=dict(type='dict'),
        secret_vars=dict(type='dict', no_log=True),
        vars_file=dict(type='list', elements='path'),
        secret_vars_file=dict(type='list', elements='path'),
        on_drift=dict(type='str', choices=['fail', 'merge', 'force']),
        lock_timeout=dict(type='int'),
        host_id=dict(type='str'),
        target=dict(type='str'),
        allow_out_of_order=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        no_backfill=dict(type='bool', default=False),
        executable=dict(type='path'),
    )


def var_text(module, option, key, value):
    """A value for ${KEY} as lockstep receives it: YAML booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return ''
    if isinstance(value, (dict, list)):
        module.fail_json(msg='%s.%s must be a string, number or boolean' % (option, key))
    return str(value)


def plan_options_only_with(module, command, plan_commands, extra_values=(), extra_flags=()):
    """apply's options make no sense for the read-only commands; say so instead of a usage error."""
    if command in plan_commands:
        return
    p = module.params
    given = [name for name, dummy in PLAN_VALUES + tuple(extra_values) if p.get(name) is not None]
    given += [name for name, dummy in PLAN_FLAGS + tuple(extra_flags) if p.get(name)]
    if given:
        module.fail_json(msg='%s only with %s, not command=%s'
                         % (', '.join(given), ' or '.join('command=%s' % c for c in plan_commands), command))


def write_secret_vars(module):
    """secret_vars in a file only this user can read, inside the module's private temporary directory."""
    secret = module.params['secret_vars']
    if not secret:
        return None
    overlap = sorted(set(secret) & set(module.params['vars'] or {}))
    if overlap:
        module.fail_json(msg='%s in both vars and secret_vars; give each value once' % ', '.join(overlap))
    values = dict((key, var_text(module, 'secret_vars', key, value)) for key, value in secret.items())
    path = os.path.join(module.tmpdir, 'lockstep-secret-vars.json')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(values, f)
    return path


def build_command(module, command, check_mode, diff, values=(), flags=()):
    """The argv (never a secret in it) and the environment update for lockstep."""
    p = module.params
    argv = [find_executable(module), '--format', 'json']
    # --flag=value, so that a value starting with "-" is never taken for a flag.
    for name, flag in GLOBAL_OPTIONS:
        if p[name] is not None:
            argv.append('%s=%s' % (flag, p[name]))
    for key, value in (p['vars'] or {}).items():
        argv.append('--var=%s=%s' % (key, var_text(module, 'vars', key, value)))
    for path in p['vars_file'] or []:
        argv.append('--vars-file=%s' % path)
    for path in p['secret_vars_file'] or []:
        argv.append('--secret-vars-file=%s' % path)
    secret_file = write_secret_vars(module)
    if secret_file:
        argv.append('--secret-vars-file=%s' % secret_file)
    if check_mode:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    argv.append(command)
    if command in ('apply', 'plan'):
        for name, flag in PLAN_VALUES + tuple(values):
            if p.get(name) is not None:
                argv.append('%s=%s' % (flag, p[name]))
        for name, flag in PLAN_FLAGS + tuple(flags):
            if p.get(name):
                argv.append(flag)

    env = {}
    if p['database'] is not None:
        env['LOCKSTEP_DATABASE'] = p['database']
    if p['password'] is not None:
        env['LOCKSTEP_DATABASE_PASSWORD'] = p['password']
    return argv, env, secret_file


def find_executable(module):
    executable = module.params['executable']
    if executable is None:
        return module.get_bin_path('lockstep', required=True)
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        module.fail_json(msg='executable %s is not an executable file' % executable)
    return executable


# lockstep's advice names its command-line options; a playbook author writes
# module options. Each pattern -> its module wording.
WORDING = (
    (re.compile(r'pass --var (\w+)=VALUE, add it to a --vars-file'),
     r'set vars.\1 (or secret_vars.\1), add it to a file in vars_file'),
    (re.compile(r'`?--on-drift (fail|merge|force)`?'), r'on_drift: \1'),
    (re.compile(r'pass --force'), 'set force: true'),
    (re.compile(r'pass --allow-out-of-order'), 'set allow_out_of_order: true'),
    (re.compile(r'each host runs `lockstep apply --phase expand`'), 'each host runs this module with phase: expand'),
    (re.compile(r'`--no-backfill`'), 'no_backfill: true'),
    (re.compile(r'--target (\S+):'), r'target \1:'),
    (re.compile(r'\(set by --project \(-C\)\)'), '(set by the module option project)'),
    (re.compile(r'\(set by --([a-z-]+)\)'), lambda m: '(set by the module option %s)' % m.group(1).replace('-', '_')),
    (re.compile(r'\(set by the environment variable LOCKSTEP_SECRET_VARS_FILE\)'),
     '(set by the module option secret_vars_file)'),
)
CHECK_MODE_WORDING = (
    (re.compile(r'\boverwrote\b'), 'would overwrite'),
)


def module_words(text, check_mode):
    """lockstep's message with module options named where lockstep names its flags."""
    if not isinstance(text, str):
        return text
    for pattern, replacement in WORDING + (CHECK_MODE_WORDING if check_mode else ()):
        text = pattern.sub(replacement, text)
    return text


def run_lockstep(module, argv, env, secret_file):
    """Runs lockstep; its JSON result with module wording, or a failed task when it printed none."""
    try:
        rc, stdout, stderr = module.run_command(argv, check_rc=False, environ_update=env)
    finally:
        if secret_file:
            os.remove(secret_file)
    try:
        result = json.loads(stdout)
    except ValueError:
        result = None
    if not (isinstance(result, dict) and 'msg' in result):
        stderr = stderr.strip()
        if rc == USAGE_ERROR and module.params.get('force') and '--force' in stderr:
            msg = 'this lockstep has no --force (the contract gating override); upgrade lockstep: %s' % stderr
        elif rc == USAGE_ERROR:
            msg = 'lockstep rejected its command line (exit 2): %s' % (stderr or stdout.strip())
        else:
            msg = 'lockstep exited %s without a JSON result on stdout: %s' % (rc, stderr or stdout.strip() or 'no output')
        module.fail_json(msg=msg, rc=rc, stdout=stdout, stderr=stderr)

    check_mode = bool(result.get('check_mode'))
    result['msg'] = module_words(result.get('msg', ''), check_mode)
    for problem in result.get('problems') or []:
        problem['msg'] = module_words(problem.get('msg'), check_mode)
    for warning in result.pop('warnings', None) or []:
        module.warn(module_words(warning, check_mode))
    if not result.get('diff'):
        result.pop('diff', None)
    if stderr.strip() and (rc != 0 or result.get('failed')):
        result['stderr'] = stderr
    return rc, result
