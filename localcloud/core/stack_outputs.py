"""A stack's outputs shown as `pulumi stack output [NAME] [--json]` shows them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class UnknownOutputError(KeyError):
    """The stack exports no output of that name."""

    def __str__(self) -> str:
        return str(self.args[0])


def output_table(outputs: Mapping[str, Any]) -> str:
    """Every output, one per line, sorted by name; values other than strings as JSON."""
    width = max([len("OUTPUT"), *map(len, outputs)]) + 2
    lines = [f"Current stack outputs ({len(outputs)}):", f"    {'OUTPUT':<{width}}VALUE"]
    for key in sorted(outputs):
        lines.append(f"    {key:<{width}}{_plain(outputs[key])}")
    return "\n".join(lines)


def shown_outputs(outputs: Mapping[str, Any], name: str | None = None, *, as_json: bool = False) -> str:
    """What `pulumi stack output [NAME] [--json]` prints: the table, or one value (a string as it is,
    anything else as JSON); with --json, JSON either way."""
    if name is None:
        return json.dumps(dict(outputs), indent=2, sort_keys=True) if as_json else output_table(outputs)
    if name not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise UnknownOutputError(f"current stack does not have output property {name!r} (outputs: {known})")
    value = outputs[name]
    return json.dumps(value, indent=2) if as_json else _plain(value)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
