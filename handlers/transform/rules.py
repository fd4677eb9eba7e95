"""The transform rule language: parsing, validation, casting and loading rule files.

A rule set reshapes xmltodict's JSON view of a document. Paths are written with the ORIGINAL element
names (before any rename), so the operations never depend on one another; they take effect in this
order: 1 forceList, 2 remove, 3 cast, 4 default, 5 rename, 6 root. See docs/rule-language.md.

Only the standard library is imported here: the Pulumi program loads the rule files through this
module (handlers/transform/contract.py turns them into rules-table items), and the upload API imports
it on a cold start.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias, cast

CastType: TypeAlias = Literal["int", "float", "bool", "str"]
DefaultValue: TypeAlias = str | int | float | bool | None
_PathCheck: TypeAlias = Callable[[str, object], None]

CAST_TYPES: tuple[CastType, ...] = ("int", "float", "bool", "str")
RULE_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
WILDCARD = "*"
ATTRIBUTE_WILDCARD = "@*"
TEXT_SEGMENT = "#text"
ALLOWED_KEYS = ("ruleId", "description", "forceList", "remove", "cast", "default", "rename", "root")
MAX_PATH_SEGMENTS = 64

_BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_CAST_HELP = {
    "int": "whole numbers such as 42 or -7",
    "float": "finite decimal numbers such as 3.14 or 1e3",
    "bool": "true/false/1/0/yes/no (any case)",
}


class InvalidRuleSet(ValueError):  # noqa: N818 - name fixed by the pipeline contract
    """A rule set does not follow the rule language; the message names the key and what is allowed."""


class RuleApplicationError(ValueError):
    """A valid rule set cannot be applied to this document (e.g. a cast of "abc" to int)."""


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set. Mappings are kept as tuples of pairs so the value is truly immutable."""

    rule_id: str
    description: str = ""
    force_list: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    cast: tuple[tuple[str, CastType], ...] = ()
    default: tuple[tuple[str, DefaultValue], ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    root: str | None = None
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The rule set in its file format (what parse_rule_set reads back)."""
        data: dict[str, Any] = {"ruleId": self.rule_id}
        if self.description:
            data["description"] = self.description
        if self.force_list:
            data["forceList"] = list(self.force_list)
        if self.remove:
            data["remove"] = list(self.remove)
        if self.cast:
            data["cast"] = dict(self.cast)
        if self.default:
            data["default"] = dict(self.default)
        if self.rename:
            data["rename"] = dict(self.rename)
        if self.root is not None:
            data["root"] = self.root
        return data


def split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def parse_rule_set(data: Mapping[str, Any]) -> RuleSet:
    """Validate a rule set in its JSON form; raise InvalidRuleSet naming the bad key and what is allowed."""
    if not isinstance(data, Mapping):
        raise InvalidRuleSet(f"a rule set must be a JSON object, got {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in ALLOWED_KEYS)
    if unknown:
        raise InvalidRuleSet(
            f"unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(ALLOWED_KEYS)}"
        )

    rule_id = data.get("ruleId")
    if not isinstance(rule_id, str) or not rule_id:
        raise InvalidRuleSet("'ruleId' is required and must be a non-empty string")
    if not RULE_ID_PATTERN.fullmatch(rule_id):
        raise InvalidRuleSet(
            f"'ruleId' {rule_id!r} is invalid; use 1-64 characters from letters, digits, '.', '_' and '-'"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InvalidRuleSet("'description' must be a string")

    return RuleSet(
        rule_id=rule_id,
        description=description,
        force_list=tuple(_path_list(data, "forceList", _check_element_path)),
        remove=tuple(_path_list(data, "remove", _check_any_path)),
        cast=_casts(data),
        default=_defaults(data),
        rename=_renames(data),
        root=_root(data),
        source=dict(data),
    )


def _casts(data: Mapping[str, Any]) -> tuple[tuple[str, CastType], ...]:
    casts: list[tuple[str, CastType]] = []
    for path, type_name in _path_mapping(data, "cast", _check_value_path):
        if type_name not in CAST_TYPES:
            raise InvalidRuleSet(
                f"'cast' of {path!r} has type {type_name!r}; allowed types: {', '.join(CAST_TYPES)}"
            )
        casts.append((path, cast(CastType, type_name)))
    return tuple(casts)


def _defaults(data: Mapping[str, Any]) -> tuple[tuple[str, DefaultValue], ...]:
    defaults: list[tuple[str, DefaultValue]] = []
    for path, value in _path_mapping(data, "default", _check_default_path):
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidRuleSet(
                f"'default' of {path!r} is a {type(value).__name__}; use a string, number, boolean or null"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRuleSet(f"'default' of {path!r} must be a finite number")
        defaults.append((path, value))
    return tuple(defaults)


def _renames(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    renames: list[tuple[str, str]] = []
    for path, new_name in _path_mapping(data, "rename", _check_any_path):
        if not isinstance(new_name, str) or not new_name or "/" in new_name:
            raise InvalidRuleSet(
                f"'rename' of {path!r} must be a non-empty name without '/', got {new_name!r}"
            )
        renames.append((path, new_name))
    return tuple(renames)


def _root(data: Mapping[str, Any]) -> str | None:
    root = data.get("root")
    if root is None:
        return None
    if not isinstance(root, str):
        raise InvalidRuleSet(f"'root' must be a path string, got {type(root).__name__}")
    _check_root_path(root)
    return root


def _path_list(data: Mapping[str, Any], key: str, check: _PathCheck) -> list[str]:
    paths = data.get(key, [])
    if not isinstance(paths, list):
        raise InvalidRuleSet(f"'{key}' must be a list of path strings, got {type(paths).__name__}")
    for path in paths:
        check(key, path)
    return paths


def _path_mapping(data: Mapping[str, Any], key: str, check: _PathCheck) -> list[tuple[str, Any]]:
    mapping = data.get(key, {})
    if not isinstance(mapping, Mapping):
        raise InvalidRuleSet(f"'{key}' must be an object of path -> value, got {type(mapping).__name__}")
    for path in mapping:
        check(key, path)
    return list(mapping.items())


def _segments(key: str, path: object) -> tuple[str, ...]:
    if not isinstance(path, str):
        raise InvalidRuleSet(f"'{key}' paths must be strings like 'orders/order/item', got {path!r}")
    segments = split_path(path)
    if not path or any(not segment for segment in segments):
        raise InvalidRuleSet(
            f"'{key}' path {path!r} is malformed; write element names separated by single '/' "
            "with no leading or trailing '/', e.g. 'orders/order/item'"
        )
    if len(segments) > MAX_PATH_SEGMENTS:
        raise InvalidRuleSet(f"'{key}' path {path!r} has more than {MAX_PATH_SEGMENTS} segments")
    for position, segment in enumerate(segments):
        is_last = position == len(segments) - 1
        if segment.startswith("@") and not is_last:
            raise InvalidRuleSet(
                f"'{key}' path {path!r}: an attribute ('{segment}') can only be the last segment"
            )
        if segment.startswith("#") and (segment != TEXT_SEGMENT or not is_last):
            raise InvalidRuleSet(
                f"'{key}' path {path!r}: only '#text' is allowed, and only as the last segment"
            )
        if "*" in segment and segment not in (WILDCARD, ATTRIBUTE_WILDCARD):
            raise InvalidRuleSet(
                f"'{key}' path {path!r}: '*' must be a whole segment "
                "('*' for any element, '@*' for any attribute)"
            )
    return segments


def _check_any_path(key: str, path: object) -> None:
    _segments(key, path)


def _check_element_path(key: str, path: object) -> None:
    last = _segments(key, path)[-1]
    if last.startswith(("@", "#")):
        raise InvalidRuleSet(f"'{key}' path {path!r} must end with an element name, not {last!r}")


def _check_value_path(key: str, path: object) -> None:
    _segments(key, path)


def _check_default_path(key: str, path: object) -> None:
    segments = _segments(key, path)
    if len(segments) < 2:
        raise InvalidRuleSet(f"'{key}' path {path!r} must name a parent element and the child to add")
    if segments[-1] in (WILDCARD, ATTRIBUTE_WILDCARD):
        raise InvalidRuleSet(f"'{key}' path {path!r} must end with a concrete name to add, not a wildcard")


def _check_root_path(path: str) -> None:
    for segment in _segments("root", path):
        if segment in (WILDCARD, ATTRIBUTE_WILDCARD) or segment.startswith(("@", "#")):
            raise InvalidRuleSet(f"'root' path {path!r} must name elements only, without wildcards")


def cast_value(path: str | tuple[str, ...], value: str | None, type_name: CastType) -> DefaultValue:
    """Cast one text value; an empty element (None) stays null except for 'str', where it becomes ''.

    Called for every matching node of 10 MB documents, so each type takes its cheapest exact test.
    """
    if value is None:
        return "" if type_name == "str" else None
    if type_name == "str":
        return value
    if type_name == "bool":
        flag = _BOOL_WORDS.get(value.strip().lower())
        if flag is not None:
            return flag
    elif "_" not in value:
        # Python's int() and float() accept '1_000'; float() also 'nan' and 'inf', which JSON cannot carry.
        try:
            if type_name == "int":
                return int(value)
            number = float(value)
            if math.isfinite(number):
                return number
        except ValueError:
            pass
    where = path if isinstance(path, str) else "/".join(path)
    raise RuleApplicationError(
        f"cannot cast {value!r} at {where!r} to {type_name}: accepted values are {_CAST_HELP[type_name]}; "
        "fix the document or the 'cast' rule"
    )


def load_rule_files(directory: Path) -> dict[str, RuleSet]:
    """Load and validate every rules/*.json file; ruleIds must be unique across files."""
    rule_sets: dict[str, RuleSet] = {}
    origin: dict[str, Path] = {}
    for path in sorted(directory.glob("*.json")):
        rule_set = load_rule_file(path)
        if rule_set.rule_id in rule_sets:
            raise InvalidRuleSet(
                f"{path}: ruleId {rule_set.rule_id!r} is already used by {origin[rule_set.rule_id]}; "
                "give each rule file its own ruleId"
            )
        rule_sets[rule_set.rule_id] = rule_set
        origin[rule_set.rule_id] = path
    return rule_sets


def load_rule_file(path: Path) -> RuleSet:
    """Read and validate one rule file; errors are prefixed with the file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InvalidRuleSet(f"{path}: not valid JSON ({error})") from error
    except UnicodeDecodeError as error:
        raise InvalidRuleSet(f"{path}: not UTF-8 text ({error})") from error
    try:
        return parse_rule_set(data)
    except InvalidRuleSet as error:
        raise InvalidRuleSet(f"{path}: {error}") from error
