"""Explicit physical names: every one carries the project and the stack.

Most resources are auto-named by Pulumi (logical name + random suffix). Where a resource needs an
explicit name (a dashboard, a multi-region access point, ARC's cluster, panel and controls, a layer),
two stacks in one account would otherwise collide or overwrite each other.
"""

from __future__ import annotations

import hashlib
import re

import pulumi

from components.config import PROJECT

_HASH_LENGTH = 8


def stack_scoped_name(role: str, *, max_length: int = 64, lowercase: bool = False) -> str:
    """`<project>-<stack>-<role>`, shortened with a hash of the full name when it is too long."""
    full = f"{PROJECT}-{pulumi.get_stack()}-{role}"
    if lowercase:
        full = re.sub(r"[^a-z0-9-]", "-", full.lower())
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{full[: max_length - _HASH_LENGTH - 1].rstrip('-')}-{digest}"
