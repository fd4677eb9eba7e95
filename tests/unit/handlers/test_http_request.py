"""Reading a request body within a limit, and parsing a JSON body within a nesting limit: the one way
every HTTP-facing handler does it."""

from __future__ import annotations

import base64

import pytest

from handlers.http_request import (
    MAX_JSON_DEPTH,
    RequestRejectedError,
    caller_arn,
    json_depth,
    parse_json_body,
    read_body,
)

from .conftest import load_event


def read(body: str | None, *, encoded: bool = False, limit: int = 8) -> bytes:
    return read_body(
        body, is_base64_encoded=encoded, max_body_bytes=limit, expected="{...}", limit_reason="LIMIT"
    )


def test_a_body_within_the_limit_is_returned_as_bytes_plain_or_base64() -> None:
    assert read("abc") == b"abc"
    assert read(base64.b64encode(b"\x00\xff").decode(), encoded=True) == b"\x00\xff"


@pytest.mark.parametrize(
    ("body", "encoded"), [("123456789", False), (base64.b64encode(b"123456789").decode(), True)]
)
def test_a_body_over_the_limit_is_413_naming_the_limit_and_its_reason(body: str, encoded: bool) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        read(body, encoded=encoded)
    assert (refused.value.status_code, refused.value.code) == (413, "payload_too_large")
    assert "the limit is 8 bytes (LIMIT)" in refused.value.message


def test_multibyte_text_is_measured_in_bytes_not_characters() -> None:
    with pytest.raises(RequestRejectedError, match="the request body is 9 bytes"):
        read("ééé" + "abc")  # 6 characters, 9 UTF-8 bytes


@pytest.mark.parametrize(
    ("body", "encoded", "code"),
    [(None, False, "empty_body"), ("", False, "empty_body"), ("%%%", True, "invalid_body")],
)
def test_an_empty_or_badly_encoded_body_is_400_saying_what_to_send(
    body: str | None, encoded: bool, code: str
) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        read(body, encoded=encoded)
    assert (refused.value.status_code, refused.value.code) == (400, code)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('"a string"', 0),
        ("42", 0),
        ("[]", 1),
        ("[[], [], {}]", 2),
        ('{"a": [1, {"b": []}], "c": {}}', 4),
        # Brackets inside strings are text, not nesting.
        ('"[[[{{{"', 0),
        ('{"a": "]]]}}}", "b": [[]]}', 3),
        # An escaped quote does not end its string: the brackets after it are still text.
        (r'["say \"[[[[\" twice"]', 1),
        # An escaped backslash does not escape the quote after it: that quote ends the string.
        (r'["a backslash \\", [[]]]', 3),
        # Malformed text still gets a depth (the parser refuses it afterwards).
        ('["unterminated [[[[', 1),
        ("]]]][[", 0),
    ],
)
def test_json_depth_counts_arrays_and_objects_outside_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth


def test_a_json_body_is_parsed_as_json_loads_would_from_utf8_or_utf16() -> None:
    assert parse_json_body('{"a": [1, "é"]}'.encode(), expected="{...}") == {"a": [1, "é"]}
    assert parse_json_body('{"a": [1, "é"]}'.encode("utf-16"), expected="{...}") == {"a": [1, "é"]}


def test_a_json_body_nested_to_the_limit_is_parsed() -> None:
    body = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(body) == MAX_JSON_DEPTH
    assert parse_json_body(body.encode(), expected="{...}") is not None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_json_body_nested_deeper_than_the_limit_is_400_too_deep_before_it_is_parsed(encoding: str) -> None:
    # GIVEN a body a million arrays deep: json.loads would raise RecursionError long before its end
    levels = 1_000_000
    body = ("[" * levels + "]" * levels).encode(encoding)
    # WHEN it is parsed
    with pytest.raises(RequestRejectedError) as refused:
        parse_json_body(body, expected="{...}")
    # THEN it is refused as too deep, naming its depth, the limit and what to send, without recursing
    assert (refused.value.status_code, refused.value.code) == (400, "too_deep")
    assert refused.value.message == (
        f"the JSON document nests {levels} levels deep, deeper than the limit of {MAX_JSON_DEPTH} levels "
        "(arrays and objects inside each other); send {...}"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"a": ', "not valid JSON"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b'"\xff"', "not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_400_invalid_json_saying_what_to_send(body: bytes, words: str) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        parse_json_body(body, expected="{...}")
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_json")
    assert words in refused.value.message and refused.value.message.endswith("; send {...}")


def test_the_caller_of_an_aws_iam_route_is_the_signers_arn_the_gateway_vouched_for() -> None:
    # GIVEN POST /events as the AWS_IAM route delivers it (tests/events/events_post.json)
    event = load_event("events_post.json")
    # WHEN its caller is read, THEN it is requestContext.authorizer.iam.userArn, exactly as vouched
    assert caller_arn(event) == "arn:aws:sts::123456789012:assumed-role/order-service/producer-1"


def test_the_caller_of_a_function_url_with_iam_auth_is_read_the_same_way() -> None:
    # GIVEN a function URL event (payload 2.0, AuthType AWS_IAM) signed by an IAM user
    event = {
        "version": "2.0",
        "requestContext": {
            "authorizer": {
                "iam": {
                    "accessKey": "AKIAEXAMPLE",
                    "accountId": "123456789012",
                    "callerId": "AIDAEXAMPLE",
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": "arn:aws:iam::123456789012:user/producer",
                    "userId": "AIDAEXAMPLE",
                }
            },
            "domainName": "abc123.lambda-url.eu-west-1.on.aws",
        },
    }
    assert caller_arn(event) == "arn:aws:iam::123456789012:user/producer"


def test_the_caller_of_a_jwt_route_is_the_tokens_subject() -> None:
    # GIVEN an audit POST as its JWT route delivers it (tests/events/audit_ingest_post.json)
    event = load_event("audit_ingest_post.json")
    # THEN the caller is the token's subject, not its client id or username
    assert caller_arn(event) == "7d8f3c2a-1b4e-4f6a-9c0d-2e5b8a1f3c7d"


@pytest.mark.parametrize(
    "request_context",
    [
        None,
        {},
        {"authorizer": None},
        {"authorizer": {}},
        {"authorizer": {"iam": {}}},
        {"authorizer": {"iam": {"userArn": ""}}},
        {"authorizer": {"iam": {"userArn": None, "callerId": "AIDAEXAMPLE"}}},
        {"authorizer": {"jwt": {"claims": {"client_id": "4abc"}}}},
        {"authorizer": {"lambda": {"principalId": "someone"}}},
        "not a mapping",
    ],
    ids=[
        "no-request-context",
        "no-authorizer",
        "null-authorizer",
        "empty-authorizer",
        "empty-iam",
        "empty-user-arn",
        "null-user-arn",
        "jwt-without-subject",
        "lambda-authorizer",
        "malformed",
    ],
)
def test_a_request_no_iam_or_jwt_authorizer_vouched_for_has_no_caller(request_context: object) -> None:
    # GIVEN a request whose headers and body claim an identity the gateway never checked
    event = {
        "headers": {"x-amz-user-arn": "arn:aws:iam::123456789012:user/admin"},
        "body": '{"userArn": "arn:aws:iam::123456789012:user/admin"}',
        "requestContext": request_context,
    }
    # THEN it has no caller: only the authorizer's block counts
    assert caller_arn(event) is None
