"""Patterns: globs with `*` and `?`, policy variables, and ARNs split into their components.

A pattern or condition value as written compiles once (`template`, cached) into a `Template` of literals,
wildcards and policy variables; resolving it against a request's context gives `Piece`s, which
`glob_union` turns into one regular expression (cached per distinct pattern), `literal` back into text
where wildcards mean themselves, and `arn_components` into the six colon-separated components of an ARN.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Final, cast

from localcloud.services.iam.policy_evaluation.context import Context, Variable
from localcloud.services.iam.policy_evaluation.model import MalformedError
from localcloud.services.iam.policy_evaluation.principals import ARN_PARTS


class _Wildcard(enum.Enum):
    ANY = "*"
    ONE = "?"


Piece = str | _Wildcard  # a literal run of characters, or a wildcard
_TemplatePiece = str | _Wildcard | Variable
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Template:
    """A pattern or condition value as written, split into literals, wildcards and policy variables."""

    text: str
    pieces: tuple[_TemplatePiece, ...]
    has_variables: bool

    def resolve(self, context: Context) -> tuple[Piece, ...]:
        if not self.has_variables:
            return cast(tuple[Piece, ...], self.pieces)
        return tuple(
            context.variable(piece) if isinstance(piece, Variable) else piece for piece in self.pieces
        )


def _wildcard_pieces(text: str) -> list[_TemplatePiece]:
    pieces: list[_TemplatePiece] = []
    for part in re.split(r"([*?])", text):
        if part in ("*", "?"):
            pieces.append(_Wildcard(part))
        elif part:
            pieces.append(part)
    return pieces


def _variable(inner: str, text: str) -> _TemplatePiece:
    if inner in _ESCAPES:
        return _ESCAPES[inner]
    key, comma, default = inner.partition(",")
    key = key.strip()
    if not key:
        raise MalformedError(f"empty policy variable in {text!r}")
    if not comma:
        return Variable(key.lower(), None, "${" + inner + "}")
    default = default.strip()
    if len(default) < 2 or default[0] != "'" or default[-1] != "'":
        raise MalformedError(f"the default of a policy variable must be quoted ('value') in {text!r}")
    return Variable(key.lower(), default[1:-1].replace("''", "'"), "${" + inner + "}")


@functools.lru_cache(maxsize=8192)
def template(text: str, *, variables: bool) -> Template:
    if not variables or "${" not in text:
        return Template(text, tuple(_wildcard_pieces(text)), has_variables=False)
    pieces: list[_TemplatePiece] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        pieces += _wildcard_pieces(text[position : found.start()])
        pieces.append(_variable(found.group(1), text))
        position = found.end()
    pieces += _wildcard_pieces(text[position:])
    return Template(text, tuple(pieces), any(isinstance(piece, Variable) for piece in pieces))


def _glob_source(pieces: tuple[Piece, ...]) -> str:
    return "".join(
        ".*" if piece is _Wildcard.ANY else "." if piece is _Wildcard.ONE else re.escape(str(piece))
        for piece in pieces
    )


@functools.lru_cache(maxsize=8192)
def glob_union(patterns: tuple[tuple[Piece, ...], ...], *, ignore_case: bool) -> re.Pattern[str]:
    """One regular expression matching, in full, any of the glob `patterns`."""
    source = "|".join(f"(?:{_glob_source(pieces)})" for pieces in patterns) or "(?!)"
    return re.compile(source, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def literal(pieces: tuple[Piece, ...]) -> str:
    """The text of resolved pieces where wildcards mean themselves (StringEquals has no wildcards)."""
    return "".join(piece.value if isinstance(piece, _Wildcard) else piece for piece in pieces)


def arn_components(pieces: tuple[Piece, ...]) -> list[tuple[Piece, ...]] | None:
    """Resolved pieces split at the first five literal colons; None when they are not an ARN."""
    components: list[list[Piece]] = [[]]
    for piece in pieces:
        if isinstance(piece, _Wildcard):
            components[-1].append(piece)
            continue
        parts = piece.split(":", ARN_PARTS - len(components))
        components[-1].append(parts[0])
        components += [[part] for part in parts[1:]]
    if len(components) != ARN_PARTS:
        return None
    return [tuple(component) for component in components]
