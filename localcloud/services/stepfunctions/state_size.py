"""Step Functions' 256 KiB state limit measured as AWS measures it.

moto's interpreter refuses a state's input, output or a task's result at 262,144 bytes and above, and
measures dicts as `json.dumps` writes them by default (", " and ": " separators); AWS allows up to 262,144
bytes of the UTF-8 JSON it passes between states, which has no such spaces (and quotes a string, which
moto measures bare). So moto fails a state at exactly the limit, fails states well under it whose JSON
holds many fields, and passes a string state one byte over. This replaces the
check in every interpreter module that imported it.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from localcloud.core.moto_version import applied_once

STATE_LIMIT_BYTES = 262_144


def state_size(value: Any) -> int:
    """The UTF-8 bytes of a state value as Step Functions passes it: compact JSON, a string quoted."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


def is_within_size_quota(value: Any) -> bool:
    return state_size(value) <= STATE_LIMIT_BYTES


@applied_once
def apply() -> None:
    """Idempotent: every interpreter module checks states against AWS's measure."""
    from moto.stepfunctions.parser import quotas  # noqa: PLC0415 - moto is slow to import

    original = quotas.is_within_size_quota
    # The modules that imported the check by name (states, Lambda tasks, service tasks).
    for module_name in (
        "moto.stepfunctions.parser.asl.component.state.state",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
    ):
        importlib.import_module(module_name)
    for module in list(sys.modules.values()):
        if getattr(module, "is_within_size_quota", None) is original:
            module.is_within_size_quota = is_within_size_quota  # type: ignore[attr-defined]
