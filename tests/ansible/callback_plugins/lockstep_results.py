"""Writes every task result and the recap of a playbook run to the JSON file
named by $LOCKSTEP_TEST_RESULTS, next to the default callback's text output.

ansible-core 2.19 no longer ships the `json` stdout callback (it moved to
ansible.posix), and the tests want both: the text Ansible prints (diffs,
warnings, the PLAY RECAP) and the exact results to assert on.
"""

import json
import os

from ansible.plugins.callback import CallbackBase

try:
    from ansible.module_utils.common.json import AnsibleJSONEncoder
except ImportError:  # pragma: no cover
    AnsibleJSONEncoder = None

DOCUMENTATION = """
name: lockstep_results
type: aggregate
short_description: write task results and stats to a JSON file (lockstep's tests)
description: For lockstep's Ansible tests only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lockstep_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = []

    def _record(self, result, status):
        self.tasks.append(
            {
                "task": result._task.get_name(),
                "host": result._host.get_name(),
                "status": status,
                "result": dict(result._result),
            }
        )

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("LOCKSTEP_TEST_RESULTS")
        if not path:
            return
        out = {
            "tasks": self.tasks,
            "stats": {h: stats.summarize(h) for h in sorted(stats.processed)},
        }
        with open(path, "w") as f:
            json.dump(out, f, cls=AnsibleJSONEncoder, default=None if AnsibleJSONEncoder else str, indent=1)
