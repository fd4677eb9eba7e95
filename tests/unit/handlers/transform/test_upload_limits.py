"""Every size limit of the transform pipeline at its edge: one under, exactly at, and one over.

An off-by-one (`>=` for `>`, a limit read in the wrong unit, a truncation one short) shows as the middle
case going the wrong way, which a test far over or far under the limit cannot see.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from handlers.transform import rules_api, upload_api
from handlers.transform.contract import DIRECT_UPLOAD_MAX_BYTES, UploadPageSettings
from handlers.transform.notifications import notification_subject
from handlers.transform.rules import InvalidRuleSet, parse_rule_set
from handlers.transform.staged_upload_validator import validate_staged_upload
from handlers.transform.upload_api import accept_upload
from handlers.transform.upload_page import render_page
from handlers.transform.upload_request import check_query
from handlers.transform.xml_validation import XmlRejected, validate_xml

from ..conftest import FakeLambdaContext, Pipeline, load_event, upload_event
from .conftest import keys_under, stage, status_of, validator_deps

# A small limit for the checks that take it as a setting: the edge is the same line of code at any size.
LIMIT_BYTES = 1_000
# handler_env's MAX_UPLOAD_BYTES (the component's default, 10 MiB): the edge of the deployed setting.
ENV_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
QUERY = {"rule": "orders-v1", "name": "orders.xml"}
EDGES = pytest.mark.parametrize(
    ("offset", "accepted"), [(-1, True), (0, True), (1, False)], ids=["under", "at", "over"]
)


def document_of(size: int) -> bytes:
    """A well-formed XML document of exactly `size` bytes."""
    document = b"<a>" + b"x" * (size - len(b"<a></a>")) + b"</a>"
    assert len(document) == size
    return document


# ---- POST /upload: the body's size --------------------------------------------------------------------


@EDGES
def test_an_upload_is_accepted_up_to_and_including_the_size_limit(
    pipeline: Pipeline, offset: int, accepted: bool
) -> None:
    # GIVEN a limit of 1,000 bytes and a document one byte under it, exactly at it, or one byte over
    settings = replace(pipeline.upload_settings, max_upload_bytes=LIMIT_BYTES)
    size = LIMIT_BYTES + offset
    body = document_of(size)
    args = {**pipeline.upload_args(), "settings": settings}
    if accepted:
        # WHEN it is uploaded THEN it is stored as sent
        reply = accept_upload(body=body, content_type="application/xml", query=QUERY, **args)
        stored = pipeline.s3.get_object(Bucket=pipeline.input_bucket, Key=f"uploads/{reply['uploadId']}.xml")
        assert stored["Body"].read() == body
    else:
        # WHEN it is uploaded THEN it is refused with 413 naming its size and the limit, and nothing is kept
        with pytest.raises(
            XmlRejected, match=f"^the body is {size} bytes, over the limit of 1000 bytes"
        ) as refused:
            accept_upload(body=body, content_type="application/xml", query=QUERY, **args)
        assert (refused.value.status_code, refused.value.code) == (413, "payload_too_large")
        assert pipeline.keys(pipeline.input_bucket) == [] and pipeline.status_rows() == []


@EDGES
def test_the_upload_function_honours_its_configured_limit_to_the_byte(
    handler_env: Pipeline, lambda_context: FakeLambdaContext, offset: int, accepted: bool
) -> None:
    # GIVEN the function configured with MAX_UPLOAD_BYTES=10 MiB and a binary body at its edge
    body = document_of(ENV_MAX_UPLOAD_BYTES + offset)
    # WHEN it is posted
    response = upload_api.lambda_handler(upload_event(body, query=QUERY, base64_encoded=True), lambda_context)
    # THEN up to and including 10 MiB it is accepted; one byte more is 413
    reply = json.loads(response["body"])
    if accepted:
        assert response["statusCode"] == 202, reply
    else:
        assert (response["statusCode"], reply["error"]) == (413, "payload_too_large")
        assert f"the body is {ENV_MAX_UPLOAD_BYTES + 1} bytes" in reply["message"]


# ---- POST /uploads then the file in incoming/: the staged file's size ----------------------------------


@EDGES
def test_a_staged_file_is_accepted_up_to_and_including_the_size_limit(
    pipeline: Pipeline, offset: int, accepted: bool
) -> None:
    # GIVEN a staged file at the edge of a 1,000-byte limit
    size = LIMIT_BYTES + offset
    upload_id, ref = stage(pipeline, document_of(size))
    # WHEN the validator gets its S3 event
    outcome = validate_staged_upload(ref, validator_deps(pipeline, max_upload_bytes=LIMIT_BYTES))
    # THEN it is accepted for the transform up to the limit; over it, rejected naming the size and limit
    if accepted:
        assert outcome == "accepted"
        assert keys_under(pipeline, "uploads/") == [f"uploads/{upload_id}.xml"]
    else:
        assert outcome == "rejected"
        assert status_of(pipeline, upload_id)["reason"].startswith(
            f"the file is {size} bytes, over the limit of 1000 bytes"
        )
        assert keys_under(pipeline, "uploads/") == []


# ---- the document's structure -------------------------------------------------------------------------


@EDGES
def test_nesting_is_accepted_up_to_and_including_the_depth_limit(offset: int, accepted: bool) -> None:
    # GIVEN elements nested 7, 8 or 9 deep under a limit of 8
    depth = 8 + offset
    body = b"<e>" * depth + b"</e>" * depth
    # WHEN validated THEN up to 8 it is returned unchanged; 9 is 400 too_deep
    if accepted:
        assert validate_xml(body, max_bytes=LIMIT_BYTES, max_depth=8) == body
    else:
        with pytest.raises(XmlRejected, match=r"^elements are nested more than 8 levels deep") as refused:
            validate_xml(body, max_bytes=LIMIT_BYTES, max_depth=8)
        assert refused.value.code == "too_deep"


@EDGES
def test_an_element_may_have_up_to_and_including_256_attributes(offset: int, accepted: bool) -> None:
    # GIVEN one element with 255, 256 or 257 attributes
    count = 256 + offset
    body = ("<a " + " ".join(f'x{index}="1"' for index in range(count)) + "/>").encode()
    # WHEN validated THEN up to 256 it is accepted; 257 is 400 too_many_attributes naming the count
    if accepted:
        assert validate_xml(body, max_bytes=len(body), max_depth=8) == body
    else:
        with pytest.raises(XmlRejected, match=r"^an element has 257 attributes, more than the limit of 256;"):
            validate_xml(body, max_bytes=len(body), max_depth=8)


@EDGES
def test_an_attribute_value_may_hold_up_to_and_including_65536_characters(
    offset: int, accepted: bool
) -> None:
    # GIVEN an attribute value of 65,535, 65,536 or 65,537 characters, each two bytes in UTF-8 (the limit
    # counts characters: the value at the limit is twice as many bytes)
    chars = 64 * 1024 + offset
    body = f'<a v="{"é" * chars}"/>'.encode()
    # WHEN validated THEN up to 65,536 characters it is accepted; one more is 400 attribute_too_large
    if accepted:
        assert validate_xml(body, max_bytes=len(body), max_depth=8) == body
    else:
        with pytest.raises(
            XmlRejected, match=r"^attribute 'v' holds 65,537 characters, more than the limit of 65,536;"
        ):
            validate_xml(body, max_bytes=len(body), max_depth=8)


# ---- the request's names ------------------------------------------------------------------------------


@EDGES
def test_a_file_name_may_have_up_to_and_including_255_characters(offset: int, accepted: bool) -> None:
    # GIVEN a file name of 254, 255 or 256 characters (multi-byte: the limit counts characters)
    name = "ü" * (255 + offset)
    # WHEN the query is checked THEN up to 255 it is taken as is; 256 is 400 naming the length
    if accepted:
        assert check_query({"rule": "orders-v1", "name": name}) == ("orders-v1", name)
    else:
        with pytest.raises(
            upload_api.RequestRejectedError,
            match=r"^query parameter 'name' is 256 characters; use at most 255$",
        ):
            check_query({"rule": "orders-v1", "name": name})


@EDGES
def test_a_rule_id_may_have_up_to_and_including_64_characters(offset: int, accepted: bool) -> None:
    # GIVEN a rule id of 63, 64 or 65 characters, in a rule set and in an upload's query
    rule_id = "r" * (64 + offset)
    # WHEN each is checked THEN up to 64 both take it; 65 is refused by both
    if accepted:
        assert parse_rule_set({"ruleId": rule_id}).rule_id == rule_id
        assert check_query({"rule": rule_id, "name": "a.xml"}) == (rule_id, "a.xml")
    else:
        with pytest.raises(InvalidRuleSet, match="use 1-64 characters"):
            parse_rule_set({"ruleId": rule_id})
        with pytest.raises(upload_api.RequestRejectedError, match="is not a rule id; use 1-64 letters"):
            check_query({"rule": rule_id, "name": "a.xml"})


@EDGES
def test_a_rule_path_may_have_up_to_and_including_64_segments(offset: int, accepted: bool) -> None:
    # GIVEN a remove rule whose path has 63, 64 or 65 segments
    path = "/".join(["e"] * (64 + offset))
    # WHEN the rule set is parsed THEN up to 64 segments it holds the path; 65 is refused naming the limit
    if accepted:
        assert parse_rule_set({"ruleId": "deep", "remove": [path]}).remove == (path,)
    else:
        with pytest.raises(InvalidRuleSet, match="has more than 64 segments"):
            parse_rule_set({"ruleId": "deep", "remove": [path]})


# ---- what the pipeline writes about an upload ---------------------------------------------------------


@EDGES
@pytest.mark.parametrize("outcome", ["failed", "rejected"])
def test_a_reason_is_kept_whole_up_to_2000_characters_and_cut_there(
    pipeline: Pipeline, outcome: str, offset: int, accepted: bool
) -> None:
    # GIVEN an upload and a reason of 1,999, 2,000 or 2,001 characters: a pending upload that fails, or a
    # large upload awaiting its file that is rejected
    reason = "".join(chr(ord("a") + n % 26) for n in range(2000 + offset))
    now = datetime.now(UTC)
    if outcome == "failed":
        pipeline.statuses.create_pending(
            upload_id="u-1",
            rule_id="orders-v1",
            file_name="a.xml",
            input_key="uploads/u-1.xml",
            size_bytes=10,
            now=now,
            owner="someone",
        )
        # WHEN the upload is marked failed with it
        assert pipeline.statuses.mark_failed("u-1", reason=reason, now=now)
    else:
        pipeline.statuses.create_awaiting_upload(
            upload_id="u-1", rule_id="orders-v1", file_name="a.xml", staged_key="incoming/u-1.xml", now=now
        )
        # WHEN the upload is marked rejected with it
        assert pipeline.statuses.mark_rejected("u-1", reason=reason, now=now)
    # THEN the row keeps it whole up to 2,000 characters, and the first 2,000 of a longer one
    stored = status_of(pipeline, "u-1")["reason"]
    assert stored == (reason if accepted else reason[:2000])
    assert len(stored) == min(len(reason), 2000)


@EDGES
def test_a_notification_subject_is_kept_whole_up_to_100_characters_and_cut_there(
    offset: int, accepted: bool
) -> None:
    # GIVEN a file name that makes the subject 99, 100 or 101 characters ("regionflow transform failed: "
    # is 29 of them)
    name = "n" * (71 + offset)
    # WHEN the subject is built THEN it is whole up to SNS's 100 characters, and cut to 100 beyond
    subject = notification_subject("failed", name)
    expected = "regionflow transform failed: " + name
    assert len(expected) == 100 + offset
    assert subject == (expected if accepted else expected[:100])


# ---- GET /rules and the upload page -------------------------------------------------------------------


@pytest.mark.parametrize(("bound", "listed"), [(2, 2), (3, 3), (4, 3)], ids=["under", "at", "over"])
def test_rules_are_listed_up_to_the_bound_and_no_further(
    large_upload_env: Pipeline,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    bound: int,
    listed: int,
) -> None:
    # GIVEN a table of exactly three rule sets, and a bound on the listing one under, at or over that
    table = large_upload_env.dynamodb.Table(large_upload_env.rules_table_name)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"ruleId": item["ruleId"]})
    for rule_id in ("a-rules", "b-rules", "c-rules"):
        table.put_item(Item={"ruleId": rule_id, "rules": json.dumps({"ruleId": rule_id})})
    monkeypatch.setattr(rules_api, "MAX_RULES_LISTED", bound)
    # WHEN a signed-in person asks for the rules
    response = rules_api.lambda_handler(load_event("transform_rules_get.json"), lambda_context)
    # THEN as many as the bound allows are listed: all three once it is three or more
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["rules"]) == listed


@pytest.mark.parametrize(
    ("max_upload_bytes", "direct_bytes"),
    [
        (DIRECT_UPLOAD_MAX_BYTES - 1, DIRECT_UPLOAD_MAX_BYTES - 1),
        (DIRECT_UPLOAD_MAX_BYTES, DIRECT_UPLOAD_MAX_BYTES),
        (DIRECT_UPLOAD_MAX_BYTES + 1, DIRECT_UPLOAD_MAX_BYTES),
    ],
    ids=["under", "at", "over"],
)
def test_the_page_posts_directly_only_files_both_limits_allow(
    max_upload_bytes: int, direct_bytes: int
) -> None:
    # GIVEN an upload limit just under, at, or just over what one POST /upload carries (4 MiB: a Lambda
    # request holds 6 MB, less base64's third)
    assert DIRECT_UPLOAD_MAX_BYTES == 4 * 1024 * 1024
    settings = UploadPageSettings(
        user_pool_client_id="client", input_bucket="bucket", max_upload_bytes=max_upload_bytes
    )
    # WHEN the page is rendered
    page = render_page(
        "{{max_upload_bytes}} {{direct_upload_max_bytes}}", settings=settings, cognito_endpoint="cognito"
    )
    # THEN it sends directly files up to the smaller of the two limits, never more than 4 MiB
    assert page == f"{max_upload_bytes} {direct_bytes}"
