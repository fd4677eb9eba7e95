"""What crosses from a component to its function: environment variables, declared once and typed.

A system's contract module (`handlers/<system>/contract.py`) declares the settings of each of its
functions as a frozen dataclass subclassing `Environment`: the field `status_table` is the variable
STATUS_TABLE, and a field's default is the only default anywhere. A component writes the variables
with `Settings.environment(status_table=table.name, ...)` (values may be Pulumi outputs there); the
handler reads them back with `Settings.from_environment(os.environ)`, converted to the declared types.
Pure Python: the Pulumi program imports this, so it may import nothing requirements.txt lacks.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, Self


class SettingError(ValueError):
    """A variable the function needs is missing or malformed: names the variable and what is expected."""


# Set by the Lambda runtime in every function; no component writes it, so no contract declares it.
RUNTIME_REGION_VARIABLE = "AWS_REGION"


def runtime_region(environ: Mapping[str, str]) -> str:
    """The region the function runs in, as the Lambda runtime tells it (AWS_REGION)."""
    region = environ.get(RUNTIME_REGION_VARIABLE)
    if not region:
        raise SettingError(
            f"{RUNTIME_REGION_VARIABLE} is not set: the Lambda runtime sets it; set it where a handler runs "
            "outside Lambda"
        )
    return region


def variable_name(field_name: str) -> str:
    """The environment variable of a settings field: `status_table` -> STATUS_TABLE."""
    return field_name.upper()


def _encode(value: object) -> object:
    """A deploy-time value as an environment variable's string; Pulumi outputs pass through untouched."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return value


def _decode(raw: str, annotation: Any, name: str) -> object:
    kind = typing.get_origin(annotation)
    if kind in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _decode(raw, inner, name)
    try:
        if annotation is bool:
            # Case and surrounding blanks are forgiven (TRUE, " false"), nothing else is a flag.
            flag = raw.strip().lower()
            if flag not in {"true", "false"}:
                raise ValueError("expected true or false")
            return flag == "true"
        if annotation in (int, float):
            return annotation(raw)
    except ValueError as error:
        raise SettingError(f"{name}={raw!r} is not a valid {annotation}: {error}") from error
    if kind is tuple:
        return tuple(_json(raw, list, name))
    if kind is dict or annotation is dict:
        return dict(_json(raw, dict, name))
    return raw


def _json(raw: str, expected: type[list[Any]] | type[dict[str, Any]], name: str) -> Any:
    """A JSON list (tuple fields) or object (dict fields), as `_encode` writes them."""
    shape = "list" if expected is list else "object"
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise SettingError(f"{name} is not JSON ({error}): {raw[:200]!r}; expected a JSON {shape}") from error
    if not isinstance(value, expected):
        raise SettingError(f"{name} is {raw[:200]!r}: expected a JSON {shape}")
    return value


@dataclass(frozen=True, kw_only=True)
class Environment:
    """Base of every function's settings contract; see the module docstring."""

    @classmethod
    def environment(cls, **values: object) -> dict[str, Any]:
        """The variables a component sets: every required field given, no unknown ones."""
        declared = {field.name: field for field in fields(cls)}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TypeError(f"{cls.__name__} has no settings {', '.join(unknown)}")
        missing = sorted(
            name
            for name, field in declared.items()
            if field.default is MISSING and field.default_factory is MISSING and values.get(name) is None
        )
        if missing:
            raise TypeError(f"{cls.__name__} needs {', '.join(missing)}")
        return {variable_name(name): _encode(value) for name, value in values.items() if value is not None}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """The settings as the function sees them; a missing required variable is named in the error."""
        hints = typing.get_type_hints(cls)
        found: dict[str, object] = {}
        for field in fields(cls):
            name = variable_name(field.name)
            raw = environ.get(name)
            if raw is None or raw == "":
                if field.default is MISSING and field.default_factory is MISSING:
                    raise SettingError(f"{name} is not set ({cls.__name__}.{field.name})")
                continue
            found[field.name] = _decode(raw, hints[field.name], name)
        return cls(**found)
