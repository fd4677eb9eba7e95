"""The subset of API Gateway's mapping template language (Velocity, VTL) localcloud renders.

render_template() renders `$input.body/json()/path()/params()`, `$util.urlEncode/urlDecode/
escapeJavaScript/base64Encode/base64Decode`, `$context.*` and `$stageVariables.*` in plain text. Anything
else (directives such as #set/#if/#foreach, comments, escapes, other references) raises
UnsupportedTemplateError naming the construct, rather than render differently from AWS.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus


class TemplateError(Exception):
    """A mapping template could not be rendered; the request fails with a 500."""


class UnsupportedTemplateError(TemplateError):
    """The template uses VTL outside localcloud's subset: it names the construct."""


_DIRECTIVE = re.compile(
    r"#\{?(set|if|elseif|else|end|foreach|break|stop|macro|define|include|parse|evaluate)\b|##|#\*"
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Reference:
    source: str  # the template text, rendered as is when the value is null (Velocity's rule)
    quiet: bool  # $!ref renders null as ""
    segments: tuple[tuple[str, tuple[Any, ...] | None], ...]  # (name, call arguments or None)


@dataclass
class TemplateContext:
    """What `$input`, `$context`, `$stageVariables` and `$util` see while a template renders."""

    body: str
    context: dict[str, Any]
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # "path" / "querystring" / "header"
    stage_variables: dict[str, str] = field(default_factory=dict)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def reference(self, start: int) -> tuple[int, _Reference] | None:
        """Parse `$[!][{]name(.name[(args)])*[}]` at `start`; None when `$` is literal text."""
        text, pos = self.text, start + 1
        quiet = text.startswith("!", pos)
        pos += quiet
        braced = text.startswith("{", pos)
        pos += braced
        match = _IDENTIFIER.match(text, pos)
        if match is None:
            if quiet or braced:
                raise UnsupportedTemplateError(f"malformed reference {text[start : start + 12]!r}")
            return None  # "$5", "$)": Velocity prints a lone $ as text
        segments: list[tuple[str, tuple[Any, ...] | None]] = [(match.group(), None)]
        pos = match.end()
        while True:
            if text.startswith("(", pos):
                pos, arguments = self._arguments(pos + 1)
                segments[-1] = (segments[-1][0], arguments)
            elif text.startswith("[", pos):
                raise UnsupportedTemplateError(f"index access in {text[start : pos + 1]!r}")
            elif text.startswith(".", pos) and (match := _IDENTIFIER.match(text, pos + 1)) is not None:
                segments.append((match.group(), None))
                pos = match.end()
            else:
                break
        if braced:
            if not text.startswith("}", pos):
                raise UnsupportedTemplateError(f"unterminated ${{...}} in {text[start:pos]!r}")
            pos += 1
        return pos, _Reference(text[start:pos], quiet, tuple(segments))

    def _arguments(self, pos: int) -> tuple[int, tuple[Any, ...]]:
        text, arguments = self.text, list[Any]()
        while True:
            while text[pos : pos + 1].isspace():
                pos += 1
            char = text[pos : pos + 1]
            if char == ")":
                return pos + 1, tuple(arguments)
            if char in {"'", '"'}:
                end = text.find(char, pos + 1)
                if end < 0:
                    raise UnsupportedTemplateError(f"unterminated string in {text[pos : pos + 20]!r}")
                literal = text[pos + 1 : end]
                if char == '"' and ("$" in literal or "#" in literal):
                    # Velocity interpolates double-quoted strings: outside the subset.
                    raise UnsupportedTemplateError(f"interpolated string {text[pos : end + 1]!r}")
                arguments.append(literal)
                pos = end + 1
            elif char == "$":
                parsed = self.reference(pos)
                if parsed is None:
                    raise UnsupportedTemplateError(f"argument {text[pos : pos + 12]!r}")
                pos, reference = parsed
                arguments.append(reference)
            else:
                raise UnsupportedTemplateError(f"argument {text[pos : pos + 12]!r} (only strings and $refs)")
            while text[pos : pos + 1].isspace():
                pos += 1
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith(")", pos):
                raise UnsupportedTemplateError(f"malformed call near {text[pos : pos + 12]!r}")


def render_template(template: str, ctx: TemplateContext) -> str:
    """Render the VTL subset: $input.body/json()/path()/params(), $util.urlEncode/urlDecode/
    escapeJavaScript/base64Encode/base64Decode, $context.*, $stageVariables.*; plain text as is.
    Directives (#set, #if, #foreach, ...), comments, escapes and other references raise
    UnsupportedTemplateError rather than render differently from AWS.
    """
    parser, out, pos = _Parser(template), [], 0
    while pos < len(template):
        char = template[pos]
        if char == "$":
            parsed = parser.reference(pos)
            if parsed is None:
                out.append(char)
                pos += 1
                continue
            pos, reference = parsed
            out.append(_to_text(reference, _evaluate(reference, ctx)))
        elif char == "#" and (directive := _DIRECTIVE.match(template, pos)) is not None:
            raise UnsupportedTemplateError(f"Velocity directive/comment {directive.group()!r}")
        elif char == "\\" and template[pos + 1 : pos + 2] in {"$", "#"}:
            raise UnsupportedTemplateError(f"escaped reference {template[pos : pos + 12]!r}")
        else:
            out.append(char)
            pos += 1
    return "".join(out)


def _to_text(reference: _Reference, value: Any) -> str:
    if value is None:
        return "" if reference.quiet else reference.source  # Velocity prints an unresolved ref verbatim
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    # AWS would print a Java Map/List toString ({a=1}); nobody wants that: point at $input.json.
    raise UnsupportedTemplateError(
        f"{reference.source} yields a {type(value).__name__}; use $input.json(...)"
    )


def _argument(value: Any, ctx: TemplateContext, where: str) -> Any:
    if isinstance(value, _Reference):
        value = _evaluate(value, ctx)
        if value is None:
            raise TemplateError(f"null argument in {where}")
    return value


def _evaluate(reference: _Reference, ctx: TemplateContext) -> Any:
    (root, root_args), *rest = reference.segments
    if root_args is not None:
        raise UnsupportedTemplateError(f"{reference.source}: unknown function ${root}()")
    if root == "input" and len(rest) == 1:
        return _input(rest[0], ctx, reference.source)
    if root == "util" and len(rest) == 1 and rest[0][1] is not None and len(rest[0][1]) == 1:
        name, (argument,) = rest[0]  # type: ignore[misc]
        return _util(name, _argument(argument, ctx, reference.source), reference.source)
    if root == "context" and rest and all(arguments is None for _, arguments in rest):
        node: Any = ctx.context
        for name, _ in rest:
            if not isinstance(node, dict) or name not in node:
                raise UnsupportedTemplateError(f"{reference.source}: not a supported $context variable")
            node = node[name]
        return node
    if root == "stageVariables" and len(rest) == 1 and rest[0][1] is None:
        return ctx.stage_variables.get(rest[0][0])
    raise UnsupportedTemplateError(f"{reference.source}")


def _input(segment: tuple[str, tuple[Any, ...] | None], ctx: TemplateContext, source: str) -> Any:
    name, arguments = segment
    if name == "body" and arguments is None:
        return ctx.body
    if name in {"json", "path", "params"} and arguments is not None and len(arguments) == 1:
        argument = str(_argument(arguments[0], ctx, source))
        if name == "params":
            # AWS searches path, then query string, then headers (case-insensitive for headers).
            for where in ("path", "querystring", "header"):
                values = ctx.params.get(where, {})
                if where == "header":
                    values = {key.lower(): value for key, value in values.items()}
                    argument = argument.lower()
                if argument in values:
                    return values[argument]
            return None
        try:
            document = json.loads(ctx.body) if ctx.body.strip() else {}
        except ValueError as error:
            raise TemplateError(f"{source}: the body is not JSON ({error})") from error
        value = json_path(document, argument)
        if name == "json":
            return None if value is _MISSING else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return None if value is _MISSING else value
    raise UnsupportedTemplateError(source)


def _util(name: str, value: Any, source: str) -> str:
    if not isinstance(value, str | int | float):
        raise UnsupportedTemplateError(f"{source}: argument is a {type(value).__name__}")
    text = str(value)
    if name == "urlEncode":
        # java.net.URLEncoder: space -> "+", keeps only A-Za-z0-9 . - * _ (Python keeps "~" too).
        return quote_plus(text, safe="*").replace("~", "%7E")
    if name == "urlDecode":
        return unquote_plus(text)
    if name == "escapeJavaScript":
        return escape_javascript(text)
    if name == "base64Encode":
        return base64.b64encode(text.encode()).decode()
    if name == "base64Decode":
        return base64.b64decode(text).decode("utf-8", errors="replace")
    raise UnsupportedTemplateError(source)


def escape_javascript(text: str) -> str:
    """commons-lang StringEscapeUtils.escapeJavaScript, which AWS's $util.escapeJavaScript is."""
    special = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
    controls = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
    out = []
    # Java walks UTF-16 code units: a character outside the BMP becomes two \\uXXXX escapes.
    units = text.encode("utf-16-be")
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index : index + 2], "big")
        char = chr(code) if not 0xD800 <= code <= 0xDFFF else ""
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            out.append(controls.get(char, f"\\u{code:04X}"))
        else:
            out.append(special.get(char, char))
    return "".join(out)


_MISSING = object()
_JSON_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")


def json_path(document: Any, path: str) -> Any:
    """The JSONPath subset `$`, `$.a.b`, `$['a']`, `$.a[0]`; _MISSING when absent."""
    if not path.startswith("$"):
        raise UnsupportedTemplateError(f"JSONPath {path!r} must start with $")
    node, pos = document, 1
    while pos < len(path):
        match = _JSON_PATH_STEP.match(path, pos)
        if match is None:
            raise UnsupportedTemplateError(f"JSONPath {path!r} (only $.name, $['name'], [index])")
        key, quoted, double, index = match.groups()
        if index is not None:
            if not isinstance(node, list) or int(index) >= len(node):
                return _MISSING
            node = node[int(index)]
        else:
            name = key if key is not None else (quoted if quoted is not None else double)
            if not isinstance(node, dict) or name not in node:
                return _MISSING
            node = node[name]
        pos = match.end()
    return node
