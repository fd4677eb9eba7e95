"""XML -> JSON with a rule set applied during xmltodict's single parse.

The rule set is compiled into xmltodict's `postprocessor` (remove, cast, default, rename) and
`force_list` callbacks, so no second walk of the tree is needed; only `root` walks, and only along its
one path. Most nodes are dismissed by one set lookup on their name; the full path is built only for
names a rule ends with, and its resolved action is memoised per distinct path.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import xmltodict

from handlers.transform.rules import (
    ATTRIBUTE_WILDCARD,
    TEXT_SEGMENT,
    WILDCARD,
    CastType,
    DefaultValue,
    RuleApplicationError,
    RuleSet,
    cast_value,
    split_path,
)

PathTuple = tuple[str, ...]
# xmltodict hands callbacks its path stack: (element name, attributes) pairs from the root down.
XmlPath = Sequence[tuple[str, Any]]
Postprocessor = Callable[[XmlPath, str, Any], tuple[str, Any] | None]


class MalformedDocumentError(ValueError):
    """The stored document is not well-formed XML, or declares a DTD or entities."""


@dataclass(frozen=True)
class _NodeAction:
    remove: bool
    cast: CastType | None
    rename: str | None
    force_list: bool
    defaults: tuple[tuple[str, DefaultValue], ...]


_NO_ACTION = _NodeAction(remove=False, cast=None, rename=None, force_list=False, defaults=())


def _segment_matches(pattern: str, name: str) -> bool:
    if pattern == WILDCARD:
        return not name.startswith(("@", "#"))
    if pattern == ATTRIBUTE_WILDCARD:
        return name.startswith("@")
    return pattern == name


def _path_matches(pattern: PathTuple, path: PathTuple) -> bool:
    return len(pattern) == len(path) and all(map(_segment_matches, pattern, path))


class _PatternTable:
    """Path patterns of one operation: exact paths win over wildcards, then the first wildcard listed."""

    def __init__(self, entries: Sequence[tuple[str, Any]]) -> None:
        self.exact: dict[PathTuple, Any] = {}
        self.wildcards: list[tuple[PathTuple, Any]] = []
        for path, payload in entries:
            pattern = split_path(path)
            if WILDCARD in pattern or ATTRIBUTE_WILDCARD in pattern:
                self.wildcards.append((pattern, payload))
            else:
                self.exact.setdefault(pattern, payload)

    def lookup(self, path: PathTuple) -> Any:
        if path in self.exact:
            return self.exact[path]
        for pattern, payload in self.wildcards:
            if _path_matches(pattern, path):
                return payload
        return None

    def patterns(self) -> list[PathTuple]:
        return [*self.exact, *(pattern for pattern, _ in self.wildcards)]


class CompiledRules:
    """A rule set turned into xmltodict callbacks; build one per document (it holds per-parse state)."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._force = _PatternTable([(path, True) for path in rules.force_list])
        self._remove = _PatternTable([(path, True) for path in rules.remove])
        self._cast = _PatternTable(rules.cast)
        self._rename = _PatternTable(rules.rename)
        self._defaults = [(split_path(path), value) for path, value in rules.default]
        self._memo: dict[PathTuple, _NodeAction] = {}
        # xmltodict's force_list, as a plain set so its `key in force_list` test costs no Python call.
        # xmltodict tests it right after the postprocessor ran for the same node (and shows it only the
        # renamed key), so the postprocessor adds or discards that node's key just before the test.
        self.forced_keys: set[str] = set()

        ends = [
            pattern[-1]
            for table in (self._force, self._remove, self._cast, self._rename)
            for pattern in table.patterns()
        ]
        ends += [pattern[-2] for pattern, _ in self._defaults]
        self._any_element_end = WILDCARD in ends
        self._any_attribute_end = ATTRIBUTE_WILDCARD in ends
        # Every key a forced node can end up under goes through the slow path, so forced_keys is
        # always up to date when xmltodict tests one of these keys.
        self._force_keys = frozenset(
            [pattern[-1] for pattern in self._force.patterns()] + [name for _, name in rules.rename]
        )
        self._names = frozenset(name for name in ends if name not in (WILDCARD, ATTRIBUTE_WILDCARD)) | (
            self._force_keys if self._force.patterns() else frozenset()
        )
        self.postprocessor = self._build_postprocessor()

    @property
    def has_force_list(self) -> bool:
        return bool(self._force.patterns())

    def _resolve(self, path: PathTuple) -> _NodeAction:
        defaults: list[tuple[str, DefaultValue]] = []
        for pattern, value in self._defaults:
            if len(pattern) == len(path) + 1 and _path_matches(pattern[:-1], path):
                child = (*path, pattern[-1])
                defaults.append((self._rename.lookup(child) or pattern[-1], value))
        action = _NodeAction(
            remove=bool(self._remove.lookup(path)),
            cast=self._cast.lookup(path),
            rename=self._rename.lookup(path),
            force_list=bool(self._force.lookup(path)),
            defaults=tuple(defaults),
        )
        return _NO_ACTION if action == _NO_ACTION else action

    def _build_postprocessor(self) -> Postprocessor:
        # A closure over locals: this runs for every element, attribute and text node, and local
        # lookups are measurably cheaper there than attribute lookups on self.
        names = self._names
        memo = self._memo
        rule_id = self.rules.rule_id
        resolve = self._resolve
        forced = self.forced_keys
        force_keys = self._force_keys
        any_attribute_end = self._any_attribute_end
        any_element_end = self._any_element_end
        wildcard_ends = any_attribute_end or any_element_end
        no_action = _NO_ACTION

        def postprocessor(path: XmlPath, key: str, value: Any) -> tuple[str, Any] | None:  # noqa: PLR0912
            if key not in names:
                if not wildcard_ends:
                    return key, value
                first = key[0]
                if first == "@":
                    if not any_attribute_end:
                        return key, value
                elif first == "#" or not any_element_end:
                    return key, value
            # xmltodict's path already ends with the element being closed; attributes and text are
            # reported with their element's path, so their own segment is appended.
            if key[0] in "@#":
                full = (*[entry[0] for entry in path], key)
            else:
                full = tuple([entry[0] for entry in path])
            action = memo.get(full)
            if action is None:
                action = memo[full] = resolve(full)
            if action is no_action:
                if key in force_keys:
                    forced.discard(key)
                return key, value
            if action.remove:
                return None
            try:
                if action.cast is not None:
                    if isinstance(value, dict):
                        # An element with attributes keeps its text under '#text'; the cast applies to that.
                        if TEXT_SEGMENT in value:
                            value[TEXT_SEGMENT] = cast_value(full, value[TEXT_SEGMENT], action.cast)
                    else:
                        value = cast_value(full, value, action.cast)
                if action.defaults:
                    value = _with_defaults(value, action.defaults)
            except (RuleApplicationError, MemoryError):
                raise
            except Exception as error:
                # Same rules, same document, same error: it is the rule set's, never worth a retry.
                raise RuleApplicationError(
                    f"rule set {rule_id!r} cannot be applied at {'/'.join(full)!r} "
                    f"({type(error).__name__}: {error}); two of its rules may reach the same value, which "
                    "scripts/put_rule.py now refuses: fix the rule set and load it again"
                ) from error
            out_key = action.rename or key
            if out_key in force_keys:
                if action.force_list:
                    forced.add(out_key)
                else:
                    forced.discard(out_key)
            return out_key, value

        return postprocessor

    def select_root(self, document: Any) -> Any:
        if self.rules.root is None:
            return document
        node = document
        walked: list[str] = []
        for segment in split_path(self.rules.root):
            walked.append(segment)
            key = self._rename.lookup(tuple(walked)) or segment
            if isinstance(node, list):
                raise RuleApplicationError(
                    f"root path {self.rules.root!r} passes through the repeated element "
                    f"{'/'.join(walked[:-1])!r}; point 'root' at a single element"
                )
            if not isinstance(node, dict) or key not in node:
                raise RuleApplicationError(
                    f"root path {self.rules.root!r} is not in the document (no {'/'.join(walked)!r}); "
                    "fix the 'root' rule or the document"
                )
            node = node[key]
        return node


def _with_defaults(value: Any, defaults: Sequence[tuple[str, DefaultValue]]) -> Any:
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        value = {TEXT_SEGMENT: value}
    for key, default in defaults:
        if key not in value:
            value[key] = default
    return value


def _forbid_dtd(*_args: object) -> None:
    raise MalformedDocumentError(
        "the document declares a DTD; DOCTYPE and ENTITY declarations are not accepted"
    )


class _DtdFreeExpat:
    """pyexpat as xmltodict sees it, with DTDs refused (billion laughs, XXE) rather than processed."""

    ExpatError = expat.ExpatError

    @staticmethod
    def ParserCreate(  # noqa: N802 - xmltodict calls this pyexpat name
        encoding: str | None = None, namespace_separator: str | None = None
    ) -> Any:
        parser = expat.ParserCreate(encoding, namespace_separator)
        parser.StartDoctypeDeclHandler = _forbid_dtd
        parser.EntityDeclHandler = _forbid_dtd
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        return parser


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document's tree exists.

    Building the tree allocates hundreds of thousands of dicts and lists and no reference cycles; the
    collector would rescan them again and again (about a third of xmltodict's parse time). The tree
    is freed before the collector resumes, so it never scans it at all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(xml: bytes, rules: RuleSet) -> Any:
    compiled = CompiledRules(rules)
    force_list: set[str] | None = compiled.forced_keys if compiled.has_force_list else None
    try:
        tree = xmltodict.parse(
            xml,
            expat=_DtdFreeExpat,
            disable_entities=True,
            postprocessor=compiled.postprocessor,  # type: ignore[arg-type]  # stub types it too narrowly
            force_list=force_list,
        )
    except expat.ExpatError as error:
        raise MalformedDocumentError(
            f"the document is not well-formed XML at line {error.lineno}, column {error.offset}: "
            f"{expat.ErrorString(error.code)}"
        ) from error
    return compiled.select_root(tree)


def parse_document(xml: bytes, rules: RuleSet) -> Any:
    """The document as xmltodict's tree with the rule set applied."""
    with _collector_paused():
        return _parse(xml, rules)


def transform_document(xml: bytes, rules: RuleSet) -> bytes:
    """Transform an XML document into compact JSON (ASCII, hence also UTF-8) according to the rule set."""
    with _collector_paused():
        # ASCII output (non-ASCII as JSON \u escapes) encodes to bytes without a UTF-8 pass: faster.
        # The tree is only an argument here, so it is freed as soon as dumps returns.
        text = json.dumps(_parse(xml, rules), separators=(",", ":"))
    return text.encode("ascii")
