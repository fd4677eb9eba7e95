"""Serves API Gateway REST APIs (v1) recorded by the provisioner: routing, body validation, VTL mapping.

moto keeps only the control plane of REST APIs, so the gateway (localcloud/gateway.py) hands requests for
`{base}/restapis/{api_id}/{stage}/<path>` here. A stage serves the snapshot its Deployment froze, as on AWS.

Supported subset (anything else fails loudly: a 500 and a log line naming it, never a silent mis-render):
- Routing by resource path ({param}, {proxy+}) and method (ANY too); no match -> 403
  {"message":"Missing Authentication Token"} (the MISSING_AUTHENTICATION_TOKEN gateway response).
- Request validators: required method request parameters (header, querystring, path) and JSON bodies
  against the method's model for the request's content type (default application/json) with jsonschema
  Draft 4. `$context.error.validationErrorString` uses AWS's (java-json-tools) wording for the common
  keywords: required, type, pattern, enum, min/maxLength, minimum/maximum, additionalProperties,
  min/maxItems; other keywords give jsonschema's own message, a non-JSON body "Invalid JSON: <reason>".
  Like AWS it is JSON-escaped (no surrounding quotes) so it can sit inside a JSON string in a template.
- Gateway responses: the program's template for the type (else DEFAULT_4XX / DEFAULT_5XX), else AWS's
  default body {"message": ...}; `gatewayresponse.header.X` from static 'values' only.
- Integration AWS to SQS (uri `...:sqs:path/<account>/<queue>` or `...:sqs:action/SendMessage`): request
  template selected by content type with the passthrough behaviour, rendered with the VTL subset of
  `render_template`; the form body (Action, MessageBody, MessageAttribute.N.*, DelaySeconds,
  MessageGroupId, MessageDeduplicationId) becomes an SQS SendMessage. The SQS answer is mapped through the
  integration responses as AWS does: selection patterns match the backend status code, else the default
  response (so an SQS error answers the default 2xx unless the program maps 4xx/5xx: AWS's own trap); a
  call that never reaches SQS -> 500 {"message": "Internal server error"}.
- Integration AWS_PROXY to Lambda: payload format 1.0 event; a function error or malformed result -> 502.
Not served: authorizers (the provisioner refuses them), API keys and usage plans, throttling
(MethodSettings are recorded only), caching, binary media types, MOCK/HTTP integrations, OpenAPI bodies.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote_plus, unquote_plus

import jsonschema

from localcloud.deployment import (
    MethodKey,
    RestApiDefinition,
    RestApiDeployment,
    RestIntegration,
    RestIntegrationResponse,
    RestMethod,
)
from localcloud.gateway import ClientFactory, Invoke, Request, Response, match_route

log = logging.getLogger(__name__)

JSON = "application/json"
_LAMBDA_INVOKE_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$"
)
_SQS_PATH_URI = re.compile(
    r"^arn:[^:]+:apigateway:(?P<region>[^:]+):sqs:path/(?P<account>\d+)/(?P<queue>[^/]+)$"
)
_SQS_ACTION_URI = re.compile(r"^arn:[^:]+:apigateway:(?P<region>[^:]+):sqs:action/(?P<action>\w+)$")


# ------------------------------------------------------------------------------------------- VTL subset
class TemplateError(Exception):
    """A mapping template could not be rendered; the request fails with a 500."""


class UnsupportedTemplateError(TemplateError):
    """The template uses VTL outside localcloud's subset: it names the construct."""


_DIRECTIVE = re.compile(
    r"#\{?(set|if|elseif|else|end|foreach|break|stop|macro|define|include|parse|evaluate)\b|##|#\*"
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CONTEXT_ERROR_KEYS = ("message", "messageString", "responseType", "validationErrorString")


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


# ------------------------------------------------------------------------------------ body validation
def _json_list(values: Any) -> str:
    return "[" + ",".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _message(error: jsonschema.ValidationError) -> str:  # noqa: PLR0911 - one per keyword
    """java-json-tools' wording (what AWS reports) for `error`'s keyword; jsonschema's otherwise."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return f"object has missing required properties ({_json_list(missing)})"
    if keyword == "type":
        allowed = [expected] if isinstance(expected, str) else list(expected)
        return (
            f"instance type ({_json_type(instance)}) does not match any allowed primitive type "
            f"(allowed: {_json_list(allowed)})"
        )
    if keyword == "pattern":
        return f"ECMA 262 regex {json.dumps(expected)} does not match input string {json.dumps(instance)}"
    if keyword == "enum":
        return (
            f"instance value ({json.dumps(instance)}) not found in enum "
            f"(possible values: {_json_list(expected)})"
        )
    if keyword in {"minLength", "maxLength"}:
        short = keyword == "minLength"
        return (
            f"string {json.dumps(instance)} is too {'short' if short else 'long'} (length: {len(instance)}, "
            f"required {'minimum' if short else 'maximum'}: {expected})"
        )
    if keyword == "minimum":
        return f"numeric instance is lower than the required minimum (minimum: {expected}, found: {instance})"
    if keyword == "maximum":
        return (
            f"numeric instance is greater than the required maximum (maximum: {expected}, found: {instance})"
        )
    if keyword == "additionalProperties" and isinstance(instance, dict):
        declared = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = sorted(k for k in instance if k not in declared and not any(p.search(k) for p in patterns))
        return f"object instance has properties which are not allowed by the schema: {_json_list(extra)}"
    if keyword in {"minItems", "maxItems"}:
        short = keyword == "minItems"
        return (
            f"array is too {'short' if short else 'long'}: must have at {'least' if short else 'most'} "
            f"{expected} elements but instance has {len(instance)} elements"
        )
    return str(error.message)


_VALIDATORS: dict[str, jsonschema.Draft4Validator] = {}
_VALIDATORS_LOCK = threading.Lock()


def validate_body(schema: str, body: str) -> list[str]:
    """AWS-worded validation errors of `body` against the draft-04 `schema` ([] when valid)."""
    with _VALIDATORS_LOCK:
        validator = _VALIDATORS.get(schema)
        if validator is None:
            validator = _VALIDATORS[schema] = jsonschema.Draft4Validator(json.loads(schema))
    try:
        document = json.loads(body)
    except ValueError as invalid:
        return [f"Invalid JSON: {invalid}"]
    errors = sorted(
        validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.validator)
    )
    messages: list[str] = []
    for error in errors:
        message = _message(error)
        if message not in messages:  # jsonschema reports each missing required property separately
            messages.append(message)
    return messages


# -------------------------------------------------------------------------------------- gateway responses
_DEFAULT_GATEWAY_RESPONSES: dict[str, tuple[int, str, str]] = {  # type -> (status, message, x-amzn-ErrorType)
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters", "BadRequestException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (500, "Internal server error", "InternalServerErrorException"),
}
_DEFAULT_GATEWAY_TEMPLATE = '{"message":$context.error.messageString}'


def _json_escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _static(value: str, where: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    raise UnsupportedTemplateError(f"{where} = {value!r} (only static 'values' are supported)")


def _pick_template(templates: dict[str, str], accept: str | None) -> tuple[str, str] | None:
    if not templates:
        return None
    for accepted in (accept or "").split(","):
        media = accepted.split(";", 1)[0].strip().lower()
        if media in templates:
            return media, templates[media]
    if JSON in templates:
        return JSON, templates[JSON]
    return next(iter(templates.items()))


# ------------------------------------------------------------------------------------------- serving
@dataclass
class _Call:
    """One request on its way through a stage: what the templates and responses need."""

    api: RestApiDeployment
    stage_variables: dict[str, str]
    definition: RestApiDefinition
    request: Request
    headers: dict[str, str]  # lower-case names
    context: dict[str, Any]
    params: dict[str, dict[str, str]]

    @property
    def request_id(self) -> str:
        return str(self.context["requestId"])

    def template_context(self, body: str) -> TemplateContext:
        return TemplateContext(
            body=body, context=self.context, params=self.params, stage_variables=self.stage_variables
        )

    def respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> Response:
        return Response(status, [*headers, ("x-amzn-RequestId", self.request_id)], body)

    def gateway_response(self, response_type: str, validation_error: str | None = None) -> Response:
        status, message, error_type = _DEFAULT_GATEWAY_RESPONSES[response_type]
        configured = self.definition.gateway_responses.get(response_type)
        fallback = self.definition.gateway_responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        if configured is not None and configured.status_code:
            status = int(configured.status_code)
        chosen = configured or fallback
        self.context["error"] = {
            "message": message,
            "messageString": json.dumps(message),
            "responseType": response_type,
            "validationErrorString": None if validation_error is None else _json_escaped(validation_error),
        }
        template = _pick_template(chosen.response_templates if chosen else {}, self.headers.get("accept"))
        content_type, text = template or (JSON, _DEFAULT_GATEWAY_TEMPLATE)
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", error_type)]
        try:
            body = render_template(text, self.template_context(self.request.body.decode(errors="replace")))
            for name, value in (chosen.response_parameters if chosen else {}).items():
                headers.append((name.removeprefix("gatewayresponse.header."), _static(value, name)))
        except TemplateError as error:
            log.error("rest api %s: gateway response %s: %s", self.api.api_id, response_type, error)
            return self.respond(500, [("Content-Type", JSON)], b'{"message": "Internal server error"}')
        return self.respond(status, headers, body.encode())

    def internal_error(self, why: str) -> Response:
        log.error("rest api %s %s %s: %s", self.api.api_id, self.request.method, self.request.raw_path, why)
        return self.gateway_response("API_CONFIGURATION_ERROR")


def serve_rest_api(
    api: RestApiDeployment,
    rest: list[str],
    request: Request,
    *,
    invoke: Invoke,
    client_factory: ClientFactory,
    lock: threading.RLock,
    now: float | None = None,
) -> Response:
    """Answer `request` for `{endpoint}/<rest...>`: rest[0] is the stage, the remainder the resource path."""
    now = time.time() if now is None else now
    with lock:
        found = api.stage_definition(rest[0]) if rest else None
        stage_variables = dict(found[0].variables) if found else {}
    definition = found[1] if found else RestApiDefinition()
    stage = rest[0] if rest else ""
    path = "/" + "/".join(rest[1:])
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers[name.lower()] = f"{headers[name.lower()]},{value}" if name.lower() in headers else value
    keys: dict[str, MethodKey] = {}
    for resource_id, http_method in definition.methods:
        resource = definition.resources.get(resource_id)
        if resource is not None:
            keys[f"{http_method} {resource.path}"] = (resource_id, http_method)
    matched = match_route(list(keys), request.method, path) if found else None
    key = keys[matched[0]] if matched else None
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTimeEpoch": int(now * 1000),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "stage": stage,
        "httpMethod": request.method,
        "resourcePath": definition.resources[key[0]].path if key else path,
        "resourceId": key[0] if key else "",
        "path": f"/{stage}{path}",
        "apiId": api.api_id,
        "accountId": api.account_id,
        "domainName": headers.get("host", request.host),
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("user-agent", "")},
        "error": dict.fromkeys(_CONTEXT_ERROR_KEYS),
    }
    params = {
        "path": matched[1] if matched else {},
        "querystring": dict(parse_qsl(request.raw_query, keep_blank_values=True)),
        "header": {name: value for name, value in headers.items()},
    }
    call = _Call(api, stage_variables, definition, request, headers, context, params)
    if key is None:
        return call.gateway_response("MISSING_AUTHENTICATION_TOKEN")
    method = definition.methods[key]
    invalid = _validate(call, method)
    if invalid is not None:
        return invalid
    return _integrate(call, key, invoke, client_factory)


def _integrate(call: _Call, key: MethodKey, invoke: Invoke, client_factory: ClientFactory) -> Response:
    integration = call.definition.integrations.get(key)
    if integration is None:
        return call.internal_error("the method has no integration")
    try:
        if integration.integration_type == "AWS":
            responses = call.definition.integration_responses.get(key, {})
            return _aws_integration(call, integration, responses, client_factory)
        if integration.integration_type == "AWS_PROXY":
            return _lambda_proxy(call, integration, invoke)
    except TemplateError as error:
        return call.internal_error(f"mapping template: {error}")
    return call.internal_error(f"integration type {integration.integration_type} is not served by localcloud")


def _media_type(headers: dict[str, str]) -> str:
    # AWS treats a request without Content-Type as application/json when it picks models and templates.
    return (headers.get("content-type") or JSON).split(";", 1)[0].strip().lower() or JSON


def _validate(call: _Call, method: RestMethod) -> Response | None:
    validator = call.definition.validators.get(method.request_validator_id or "")
    if validator is None:
        return None
    if validator.validate_request_parameters:
        missing = []
        for name, required in method.request_parameters.items():
            where, _, parameter = name.removeprefix("method.request.").partition(".")
            values = call.params.get(where, {})
            if where == "header":
                values, parameter = {k.lower(): v for k, v in values.items()}, parameter.lower()
            if required and not values.get(parameter):
                missing.append(name.removeprefix("method.request.").partition(".")[2])
        if missing:
            return call.gateway_response(
                "BAD_REQUEST_PARAMETERS", f"[Missing required request parameters: [{', '.join(missing)}]]"
            )
    if validator.validate_request_body:
        model_name = method.request_models.get(_media_type(call.headers))
        model = call.definition.models.get(model_name or "")
        if model_name and model is None:
            return call.internal_error(f"request model {model_name} does not exist")
        if model is not None:
            errors = validate_body(model.schema, call.request.body.decode("utf-8", errors="replace"))
            if errors:
                return call.gateway_response("BAD_REQUEST_BODY", "[" + ", ".join(errors) + "]")
    return None


# ------------------------------------------------------------------------------------ AWS integrations
@dataclass(frozen=True)
class _Backend:
    """What the AWS service answered: the integration response is selected on `status`."""

    status: int
    body: str


def _aws_integration(
    call: _Call,
    integration: RestIntegration,
    responses: dict[str, RestIntegrationResponse],
    client_factory: ClientFactory,
) -> Response:
    media = _media_type(call.headers)
    body_text = call.request.body.decode("utf-8", errors="replace")
    templates = integration.request_templates
    if media in templates:
        payload = render_template(templates[media], call.template_context(body_text))
    elif integration.passthrough_behavior == "WHEN_NO_MATCH" or (
        integration.passthrough_behavior == "WHEN_NO_TEMPLATES" and not templates
    ):
        payload = body_text
    else:
        return call.gateway_response("UNSUPPORTED_MEDIA_TYPE")
    headers = {}
    for target, source in integration.request_parameters.items():
        if not target.startswith("integration.request.header."):
            raise UnsupportedTemplateError(f"request parameter {target} (only integration.request.header.*)")
        headers[target.removeprefix("integration.request.header.").lower()] = _request_parameter(call, source)
    uri = integration.uri or ""
    if ":sqs:" not in uri:
        return call.internal_error(f"AWS integration {uri!r}: localcloud serves only SQS")
    try:
        backend = _sqs(call, uri, headers, payload, client_factory)
    except Exception:  # never reached SQS (connection, credentials): AWS answers a plain 500
        log.exception("rest api %s: SQS integration %s failed", call.api.api_id, uri)
        return call.respond(500, [("Content-Type", JSON)], b'{"message": "Internal server error"}')
    return _integration_response(call, responses, backend)


def _request_parameter(call: _Call, source: str) -> str:
    if source.startswith("'"):
        return _static(source, "request parameter")
    if source.startswith("method.request."):
        where, _, name = source.removeprefix("method.request.").partition(".")
        values = call.params.get(where, {})
        if where == "header":
            values, name = {k.lower(): v for k, v in values.items()}, name.lower()
        return values.get(name, "")
    if source == "context.requestId":
        return call.request_id
    raise UnsupportedTemplateError(f"request parameter source {source!r}")


def _sqs(
    call: _Call, uri: str, headers: dict[str, str], payload: str, client_factory: ClientFactory
) -> _Backend:
    """Send the rendered form body to SQS as the SQS query API would read it."""
    if headers.get("content-type", "").split(";", 1)[0].strip() != "application/x-www-form-urlencoded":
        # SQS cannot read the form otherwise; on AWS this is the most common mistake, so say it plainly.
        log.error(
            "rest api %s: SQS integration without integration.request.header.Content-Type "
            "'application/x-www-form-urlencoded': SQS rejects the request",
            call.api.api_id,
        )
        return _Backend(
            400, json.dumps({"Error": {"Code": "InvalidAction", "Message": "unreadable request"}})
        )
    form = {key: values[-1] for key, values in parse_qs(payload, keep_blank_values=True).items()}
    path, action = _SQS_PATH_URI.match(uri), _SQS_ACTION_URI.match(uri)
    queue: tuple[str, str] | None = None  # (name, account) of a path-style uri
    if path is not None:
        region, form_action = path.group("region"), form.get("Action", "")
        queue = (path.group("queue"), path.group("account"))
    elif action is not None:
        region, form_action = action.group("region"), action.group("action")
    else:
        raise UnsupportedTemplateError(f"SQS integration uri {uri!r}")
    if form_action != "SendMessage":
        raise UnsupportedTemplateError(f"SQS Action={form_action!r} (only SendMessage)")
    sqs = client_factory("sqs", region)
    try:
        # The queue is resolved inside the try: a missing queue is SQS's own 400 answer, as on AWS.
        queue_url = (
            sqs.get_queue_url(QueueName=queue[0], QueueOwnerAWSAccountId=queue[1])["QueueUrl"]
            if queue is not None
            else form.get("QueueUrl", "")
        )
        sent = sqs.send_message(**_send_message_arguments(form, queue_url))
    except Exception as error:  # a ClientError is SQS's answer: it goes through the integration responses
        response = getattr(error, "response", None)
        if not isinstance(response, dict):
            raise
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        log.warning("rest api %s: SQS answered %s: %s", call.api.api_id, status, error)
        return _Backend(status, json.dumps({"Error": response.get("Error", {})}))
    result = {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": sent.get("ResponseMetadata", {}).get("RequestId", "")},
            "SendMessageResult": {
                "MD5OfMessageAttributes": sent.get("MD5OfMessageAttributes"),
                "MD5OfMessageBody": sent.get("MD5OfMessageBody"),
                "MessageId": sent["MessageId"],
                "SequenceNumber": sent.get("SequenceNumber"),
            },
        }
    }
    return _Backend(200, json.dumps(result))


def _send_message_arguments(form: dict[str, str], queue_url: str) -> dict[str, Any]:
    """SendMessage's query-API form fields -> boto3 arguments."""
    kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": form.get("MessageBody", "")}
    for name in ("MessageGroupId", "MessageDeduplicationId"):
        if form.get(name):
            kwargs[name] = form[name]
    if form.get("DelaySeconds"):
        kwargs["DelaySeconds"] = int(form["DelaySeconds"])
    attributes: dict[str, dict[str, Any]] = {}
    index = 1
    while f"MessageAttribute.{index}.Name" in form:
        prefix = f"MessageAttribute.{index}."
        value: dict[str, Any] = {"DataType": form.get(prefix + "Value.DataType", "String")}
        if prefix + "Value.BinaryValue" in form:
            value["BinaryValue"] = base64.b64decode(form[prefix + "Value.BinaryValue"])
        else:
            value["StringValue"] = form.get(prefix + "Value.StringValue", "")
        attributes[form[prefix + "Name"]] = value
        index += 1
    if attributes:
        kwargs["MessageAttributes"] = attributes
    return kwargs


def _integration_response(
    call: _Call, responses: dict[str, RestIntegrationResponse], backend: _Backend
) -> Response:
    """AWS selects on the backend status code: a matching selection pattern, else the default response."""
    chosen = next(
        (
            r
            for r in responses.values()
            if r.selection_pattern and re.fullmatch(r.selection_pattern, str(backend.status))
        ),
        None,
    ) or next((r for r in responses.values() if not r.selection_pattern), None)
    if chosen is None:
        return call.internal_error(f"no integration response matches backend status {backend.status}")
    template = _pick_template(chosen.response_templates, call.headers.get("accept"))
    content_type, body = JSON, backend.body
    if template is not None:
        content_type, text = template
        body = render_template(text, call.template_context(backend.body))
    headers = [("Content-Type", content_type)]
    for target, source in chosen.response_parameters.items():
        if not target.startswith("method.response.header."):
            raise UnsupportedTemplateError(f"response parameter {target}")
        headers.append((target.removeprefix("method.response.header."), _static(source, target)))
    return call.respond(int(chosen.status_code), headers, body.encode())


# ----------------------------------------------------------------------------------- Lambda proxy (1.0)
def build_proxy_event(call: _Call) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in call.request.headers:
        single[name] = value  # the last value wins in `headers`, as on AWS
        multi.setdefault(name, []).append(value)
    query_pairs = parse_qsl(call.request.raw_query, keep_blank_values=True)
    query_multi: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query_multi.setdefault(name, []).append(value)
    # With no binaryMediaTypes (not supported here) a REST API hands every body over as text.
    body = call.request.body
    context = call.context
    return {
        "resource": context["resourcePath"],
        "path": context["path"][len(context["stage"]) + 1 :] or "/",  # without the stage, as on AWS
        "httpMethod": call.request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": call.params["path"] or None,
        "stageVariables": call.stage_variables or None,
        "requestContext": {
            "accountId": context["accountId"],
            "apiId": context["apiId"],
            "domainName": context["domainName"],
            "httpMethod": call.request.method,
            "identity": dict(context["identity"]),
            "path": context["path"],
            "protocol": context["protocol"],
            "requestId": context["requestId"],
            "extendedRequestId": context["extendedRequestId"],
            "requestTime": context["requestTime"],
            "requestTimeEpoch": context["requestTimeEpoch"],
            "resourceId": context["resourceId"],
            "resourcePath": context["resourcePath"],
            "stage": context["stage"],
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


_BAD_GATEWAY = b'{"message": "Internal server error"}'


def _lambda_proxy(call: _Call, integration: RestIntegration, invoke: Invoke) -> Response:
    match = _LAMBDA_INVOKE_URI.match(integration.uri or "")
    if match is None:
        return call.internal_error(f"AWS_PROXY uri {integration.uri!r} is not a Lambda invocation ARN")
    function_arn = match.group("arn")
    region = function_arn.split(":")[3] if function_arn.count(":") >= 5 else call.api.region
    try:
        result = invoke(function_arn, region, build_proxy_event(call))
    except Exception:
        log.exception("rest api %s: invoking %s failed", call.api.api_id, function_arn)
        return call.respond(502, [("Content-Type", JSON)], _BAD_GATEWAY)
    payload = result.payload
    if isinstance(payload, bytes | bytearray):
        try:
            payload = json.loads(payload) if payload else None
        except ValueError:
            payload = None
    if result.error_type is not None or not isinstance(payload, dict) or "statusCode" not in payload:
        # 1.0 has no "plain JSON means 200" rule: anything but {statusCode, ...} is a malformed response.
        log.warning(
            "rest api %s: %s returned %s", call.api.api_id, function_arn, result.error_type or "no statusCode"
        )
        return call.respond(502, [("Content-Type", JSON)], _BAD_GATEWAY)
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    raw = payload.get("body")
    body = (
        b"" if raw is None else base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    )
    return call.respond(int(payload["statusCode"]), headers, body)
