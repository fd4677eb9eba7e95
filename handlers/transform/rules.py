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
from collections.abc import Callable, Mapping, Sequence
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
    """A rule set does not follow the rule language; each problem names the key and what is allowed.

    `problems` lists every problem found (one per line in scripts/put_rule.py); the message joins them.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    @classmethod
    def of(cls, problems: Sequence[str]) -> InvalidRuleSet:
        if len(problems) == 1:
            return cls(problems[0])
        return cls(f"{len(problems)} problems: {'; '.join(problems)}", problems=problems)

    def prefixed(self, prefix: str) -> InvalidRuleSet:
        """The same problems, each prefixed with `prefix` (such as the file they are in)."""
        return InvalidRuleSet(f"{prefix}{self}", problems=[f"{prefix}{problem}" for problem in self.problems])


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
    """Validate a rule set in its JSON form; raise InvalidRuleSet listing every problem, each naming the
    bad key and what is allowed, so that one round of fixes is enough."""
    if not isinstance(data, Mapping):
        raise InvalidRuleSet(f"a rule set must be a JSON object, got {type(data).__name__}")
    problems: list[str] = []
    unknown = sorted(str(key) for key in data if key not in ALLOWED_KEYS)
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(ALLOWED_KEYS)}"
        )
    rule_id = data.get("ruleId")
    if not isinstance(rule_id, str) or not rule_id:
        problems.append("'ruleId' is required and must be a non-empty string")
    elif not RULE_ID_PATTERN.fullmatch(rule_id):
        problems.append(
            f"'ruleId' {rule_id!r} is invalid; use 1-64 characters from letters, digits, '.', '_' and '-'"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append("'description' must be a string")
    force_list = _path_list(data, "forceList", _check_element_path, problems)
    remove = _path_list(data, "remove", _check_any_path, problems)
    casts = _casts(data, problems)
    problems += _cast_conflicts(casts)
    defaults = _defaults(data, problems)
    renames = _renames(data, problems)
    root = _root(data, problems)
    if problems:
        raise InvalidRuleSet.of(problems)
    return RuleSet(
        rule_id=cast(str, rule_id),
        description=cast(str, description),
        force_list=tuple(force_list),
        remove=tuple(remove),
        cast=casts,
        default=defaults,
        rename=renames,
        root=root,
        source=dict(data),
    )


def _casts(data: Mapping[str, Any], problems: list[str]) -> tuple[tuple[str, CastType], ...]:
    casts: list[tuple[str, CastType]] = []
    for path, type_name in _path_mapping(data, "cast", _check_value_path, problems):
        if type_name not in CAST_TYPES:
            problems.append(
                f"'cast' of {path!r} has type {type_name!r}; allowed types: {', '.join(CAST_TYPES)}"
            )
        else:
            casts.append((path, cast(CastType, type_name)))
    return tuple(casts)


def _cast_conflicts(casts: Sequence[tuple[str, CastType]]) -> list[str]:
    """A cast path names one value, an element's text: no other cast may reach inside that element but to
    the element's own attributes. `x/amount` with `x/amount/#text` would cast the same text twice (the
    second cast then meets a number, not text), and wildcards overlap as they match."""
    problems: list[str] = []
    for outer, _ in casts:
        outer_segments = split_path(outer)
        for inner, _ in casts:
            inner_segments = split_path(inner)
            if len(inner_segments) <= len(outer_segments):
                continue
            if not all(map(_may_name_the_same, outer_segments, inner_segments)):
                continue
            if len(inner_segments) == len(outer_segments) + 1 and inner_segments[-1].startswith("@"):
                continue
            problems.append(
                f"'cast' paths {outer!r} and {inner!r} conflict: {outer!r} casts an element's text as one "
                f"value and {inner!r} reaches inside that element; keep one of them (only the element's "
                f"own attributes, '{outer}/@name', may be cast beside it)"
            )
    return problems


def _may_name_the_same(first: str, second: str) -> bool:
    """Whether two path segments can match one node: equal, or a wildcard and a name of its kind."""
    if first == second:
        return True
    for pattern, name in ((first, second), (second, first)):
        if pattern == WILDCARD and not name.startswith(("@", "#")):
            return True
        if pattern == ATTRIBUTE_WILDCARD and name.startswith("@"):
            return True
    return False


def _defaults(data: Mapping[str, Any], problems: list[str]) -> tuple[tuple[str, DefaultValue], ...]:
    defaults: list[tuple[str, DefaultValue]] = []
    for path, value in _path_mapping(data, "default", _check_default_path, problems):
        if value is not None and not isinstance(value, str | int | float | bool):
            problems.append(
                f"'default' of {path!r} is a {type(value).__name__}; use a string, number, boolean or null"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"'default' of {path!r} must be a finite number")
        else:
            defaults.append((path, value))
    return tuple(defaults)


def _renames(data: Mapping[str, Any], problems: list[str]) -> tuple[tuple[str, str], ...]:
    renames: list[tuple[str, str]] = []
    for path, new_name in _path_mapping(data, "rename", _check_any_path, problems):
        if not isinstance(new_name, str) or not new_name or "/" in new_name:
            problems.append(f"'rename' of {path!r} must be a non-empty name without '/', got {new_name!r}")
        else:
            renames.append((path, new_name))
    return tuple(renames)


def _root(data: Mapping[str, Any], problems: list[str]) -> str | None:
    root = data.get("root")
    if root is None:
        return None
    if not isinstance(root, str):
        problems.append(f"'root' must be a path string, got {type(root).__name__}")
        return None
    return root if _passes(_check_root_path, "root", root, problems) else None


def _passes(check: _PathCheck, key: str, path: object, problems: list[str]) -> bool:
    """Run one path check, recording its problem instead of stopping at it."""
    try:
        check(key, path)
    except InvalidRuleSet as error:
        problems.extend(error.problems)
        return False
    return True


def _path_list(data: Mapping[str, Any], key: str, check: _PathCheck, problems: list[str]) -> list[str]:
    paths = data.get(key, [])
    if not isinstance(paths, list):
        problems.append(f"'{key}' must be a list of path strings, got {type(paths).__name__}")
        return []
    return [path for path in paths if _passes(check, key, path, problems)]


def _path_mapping(
    data: Mapping[str, Any], key: str, check: _PathCheck, problems: list[str]
) -> list[tuple[str, Any]]:
    mapping = data.get(key, {})
    if not isinstance(mapping, Mapping):
        problems.append(f"'{key}' must be an object of path -> value, got {type(mapping).__name__}")
        return []
    return [(path, value) for path, value in mapping.items() if _passes(check, key, path, problems)]


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


def _check_root_path(_key: str, path: object) -> None:
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
    rule_sets = load_rule_file_list(sorted(directory.glob("*.json")))
    return {rule_set.rule_id: rule_set for rule_set in rule_sets}


def load_rule_file_list(paths: Sequence[Path]) -> list[RuleSet]:
    """Read and validate every file, then check their ruleIds are unique; raise InvalidRuleSet listing
    every problem of every file (each prefixed with its file), so that one run shows all there is to fix."""
    problems: list[str] = []
    rule_sets: list[RuleSet] = []
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            rule_set = load_rule_file(path)
        except InvalidRuleSet as error:
            problems.extend(error.problems)
            continue
        if rule_set.rule_id in origin:
            problems.append(
                f"{path}: ruleId {rule_set.rule_id!r} is already used by {origin[rule_set.rule_id]}; a "
                "ruleId also used by another file would replace that file's rule: give each rule file its "
                "own ruleId"
            )
            continue
        origin[rule_set.rule_id] = path
        rule_sets.append(rule_set)
    if problems:
        raise InvalidRuleSet.of(problems)
    return rule_sets


def load_rule_file(path: Path) -> RuleSet:
    """Read and validate one rule file; every problem is prefixed with the file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InvalidRuleSet(f"{path}: not valid JSON ({error})") from error
    except UnicodeDecodeError as error:
        raise InvalidRuleSet(f"{path}: not UTF-8 text ({error})") from error
    except OSError as error:
        raise InvalidRuleSet(f"{path}: cannot be read ({error.strerror or error})") from error
    try:
        return parse_rule_set(data)
    except InvalidRuleSet as error:
        raise error.prefixed(f"{path}: ") from error
