"""The staged-upload validator: a file posted straight to S3 passes POST /upload's checks and flows on as a
direct upload, or ends `rejected` with the reason, kept under quarantine/ and announced; nothing is lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.transform import staged_upload_validator
from handlers.transform.contract import dropped_upload_id
from handlers.transform.s3_events import ObjectRef
from handlers.transform.staged_upload_validator import StagedFileMissingError, validate_staged_upload
from handlers.transform.transform_worker import transform_object
from handlers.transform.upload_api import accept_upload
from handlers.transform.xml_validation import validate_xml

from ..conftest import FakeLambdaContext, Pipeline
from ..test_xml_validation import BILLION_LAUGHS, XXE
from .conftest import FailsOnce, keys_under, stage, staged_event, status_of, told, validator_deps

ORDERS = b'<?xml version="1.0" encoding="UTF-8"?><orders><order id="1"><paid>yes</paid></order></orders>'
LATIN1_ORDERS = (
    '<?xml version="1.0" encoding="ISO-8859-1"?><orders><order id="1">José</order></orders>'.encode("latin-1")
)
EVENTS_FILE_UPLOAD_ID = "3f2c1d9e-8b7a-4c6d-9e5f-0a1b2c3d4e5f"


def stored(pipeline: Pipeline, key: str) -> Any:
    return pipeline.s3.get_object(Bucket=pipeline.input_bucket, Key=key)


@pytest.mark.parametrize("document", [ORDERS, LATIN1_ORDERS], ids=["utf-8", "iso-8859-1"])
def test_a_staged_file_that_passes_is_stored_as_post_upload_stores_it_and_its_row_goes_pending(
    pipeline: Pipeline, document: bytes
) -> None:
    # GIVEN a large upload's file in incoming/, its row awaiting it
    upload_id, ref = stage(pipeline, document)
    # WHEN the validator gets its S3 event
    assert validate_staged_upload(ref, validator_deps(pipeline)) == "accepted"
    # THEN uploads/<id>.xml holds the document normalised as POST /upload normalises it
    normalised = validate_xml(document, max_bytes=len(document), max_depth=64)
    accepted = stored(pipeline, f"uploads/{upload_id}.xml")
    assert accepted["Body"].read() == normalised
    # AND with the metadata the worker reads
    assert accepted["Metadata"] == {
        "upload-id": upload_id,
        "rule-id": "orders-v1",
        "file-name": "big-orders.xml",
    }
    # AND the row is pending for it, the staged file is gone, and nobody is told anything yet
    row = status_of(pipeline, upload_id)
    assert (row["status"], row["inputKey"], row["sizeBytes"]) == (
        "pending",
        f"uploads/{upload_id}.xml",
        len(normalised),
    )
    assert keys_under(pipeline, "incoming/") == []
    assert told(pipeline, upload_id) == []


def test_an_accepted_staged_upload_is_transformed_like_a_direct_one(pipeline: Pipeline) -> None:
    # GIVEN the same document uploaded directly and staged
    direct_id = accept_upload(
        body=ORDERS,
        content_type="application/xml",
        query={"rule": "orders-v1", "name": "a.xml"},
        **pipeline.upload_args(),
    )["uploadId"]
    staged_id, ref = stage(pipeline, ORDERS)
    validate_staged_upload(ref, validator_deps(pipeline))
    # WHEN the worker gets both S3 events
    for upload_id in (direct_id, staged_id):
        transform_object(
            ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), **pipeline.worker_args()
        )
    # THEN both are done with the same JSON, and each is announced done
    outputs = [
        pipeline.s3.get_object(Bucket=pipeline.output_bucket, Key=f"results/{upload_id}.json")["Body"].read()
        for upload_id in (direct_id, staged_id)
    ]
    assert outputs[0] == outputs[1]
    assert status_of(pipeline, staged_id)["status"] == "done"
    assert told(pipeline, staged_id) == ["done"]


@pytest.mark.parametrize(
    ("document", "rule_id", "code_words"),
    [
        (b"<orders><order></orders>", "orders-v1", "not well-formed"),
        (BILLION_LAUGHS, "orders-v1", "DOCTYPE"),
        (XXE, "orders-v1", "DOCTYPE"),
        (b"<e>" * 65 + b"</e>" * 65, "orders-v1", "nested more than 64 levels"),
        (b'<?xml version="1.0" encoding="klingon"?><a/>', "orders-v1", "'klingon'"),
        (ORDERS, "orders-v9", "there is no rule 'orders-v9'"),
    ],
    ids=["malformed", "billion-laughs", "xxe", "too-deep", "unknown-encoding", "rule-gone"],
)
def test_a_staged_file_that_fails_is_rejected_with_the_reason_quarantined_and_announced(
    pipeline: Pipeline, document: bytes, rule_id: str, code_words: str
) -> None:
    # GIVEN a staged file that POST /upload would refuse (or whose rule is no longer loaded)
    upload_id, ref = stage(pipeline, document, rule_id=rule_id)
    # WHEN the validator gets its S3 event
    assert validate_staged_upload(ref, validator_deps(pipeline)) == "rejected"
    # THEN the row is rejected with POST /upload's reason, naming none of our resources
    row = status_of(pipeline, upload_id)
    assert row["status"] == "rejected" and code_words in row["reason"]
    assert pipeline.input_bucket not in row["reason"] and pipeline.rules_table_name not in row["reason"]
    # AND the file is kept as it was posted under quarantine/, and nowhere else
    assert stored(pipeline, f"quarantine/{upload_id}.xml")["Body"].read() == document
    assert keys_under(pipeline, "incoming/") == keys_under(pipeline, "uploads/") == []
    # AND one message, shaped like the done and failed ones, tells subscribers why
    [envelope] = pipeline.notifications()
    assert envelope["Subject"] == "regionflow transform rejected: big-orders.xml"
    assert envelope["MessageAttributes"]["status"]["Value"] == "rejected"
    assert json.loads(envelope["Message"]) == {
        "uploadId": upload_id,
        "status": "rejected",
        "ruleId": rule_id,
        "fileName": "big-orders.xml",
        "reason": row["reason"],
    }


def test_a_staged_file_over_the_limit_is_rejected_without_being_read(pipeline: Pipeline) -> None:
    # GIVEN a staged file larger than the limit (the presigned POST's policy bounds it; this holds anyway)
    upload_id, ref = stage(pipeline, b"<a>" + b"x" * 200 + b"</a>")
    # WHEN the validator, whose limit is 100 bytes, gets its event
    assert validate_staged_upload(ref, validator_deps(pipeline, max_upload_bytes=100)) == "rejected"
    # THEN the upload is rejected, saying the size and the limit, and the file kept in quarantine
    reason = status_of(pipeline, upload_id)["reason"]
    assert "207 bytes" in reason and "limit of 100 bytes" in reason
    assert keys_under(pipeline, "quarantine/") == [f"quarantine/{upload_id}.xml"]


@pytest.mark.parametrize("document", [ORDERS, b"<broken>"], ids=["accepted", "rejected"])
def test_the_same_event_twice_changes_nothing_the_second_time(pipeline: Pipeline, document: bytes) -> None:
    # GIVEN a staged file the validator has handled
    upload_id, ref = stage(pipeline, document)
    first = validate_staged_upload(ref, validator_deps(pipeline))
    row, messages = status_of(pipeline, upload_id), told(pipeline, upload_id)
    # WHEN S3 delivers its event again
    second = validate_staged_upload(ref, validator_deps(pipeline))
    # THEN the row, the objects and the messages stay as they were
    assert (first, second) in (("accepted", "skipped"), ("rejected", "rejected"))
    assert status_of(pipeline, upload_id) == row
    assert told(pipeline, upload_id) == [] and len(messages) == (first == "rejected")


def test_an_attempt_that_failed_after_accepting_is_finished_by_the_retry(pipeline: Pipeline) -> None:
    # GIVEN an attempt whose write to uploads/ failed after the row went pending
    upload_id, ref = stage(pipeline, ORDERS)
    flaky = FailsOnce(pipeline.s3, "put_object")
    with pytest.raises(ClientError, match=r"\(SlowDown\) when calling the put_object operation"):
        validate_staged_upload(ref, validator_deps(pipeline, s3=flaky))
    assert status_of(pipeline, upload_id)["status"] == "pending"
    # WHEN Lambda retries the event
    assert validate_staged_upload(ref, validator_deps(pipeline, s3=flaky)) == "accepted"
    # THEN the document is in uploads/ and the staged file gone
    assert keys_under(pipeline, "uploads/") == [f"uploads/{upload_id}.xml"]
    assert keys_under(pipeline, "incoming/") == []


def test_an_attempt_that_failed_after_rejecting_is_finished_by_the_retry(pipeline: Pipeline) -> None:
    # GIVEN an attempt whose copy into quarantine failed after the row was rejected
    upload_id, ref = stage(pipeline, b"<broken>")
    flaky = FailsOnce(pipeline.s3, "copy_object")
    with pytest.raises(ClientError, match=r"\(SlowDown\) when calling the copy_object operation"):
        validate_staged_upload(ref, validator_deps(pipeline, s3=flaky))
    assert status_of(pipeline, upload_id)["status"] == "rejected"
    assert keys_under(pipeline, "incoming/") == [ref.key]
    # WHEN Lambda retries the event
    assert validate_staged_upload(ref, validator_deps(pipeline, s3=flaky)) == "rejected"
    # THEN the file is quarantined and the rejection announced, once
    assert keys_under(pipeline, "quarantine/") == [f"quarantine/{upload_id}.xml"]
    assert keys_under(pipeline, "incoming/") == []
    assert told(pipeline, upload_id) == ["rejected"]


DROPPER = "AWS:AIDAEXAMPLEOPERATOR"


def drop(pipeline: Pipeline, key: str, body: bytes, metadata: dict[str, str] | None = None) -> ObjectRef:
    """A file put straight into the input bucket (seed 001's `aws s3 cp ... --recursive`), as its S3 event
    names it."""
    put = pipeline.s3.put_object(Bucket=pipeline.input_bucket, Key=key, Body=body, Metadata=metadata or {})
    # S3's event carries the version (when the bucket keeps versions) and a sequencer, unique per write.
    sequencer = f"{len(pipeline.keys(pipeline.input_bucket)):016X}{put['ETag'].strip(chr(34))[:8]}"
    return ObjectRef(
        pipeline.input_bucket, key, version_id=put.get("VersionId"), sequencer=sequencer, writer=DROPPER
    )


def dropped_row(pipeline: Pipeline, ref: ObjectRef) -> dict[str, Any]:
    return status_of(pipeline, dropped_upload_id(ref.bucket, ref.key, ref.write_id))


def test_a_file_dropped_into_a_rules_folder_is_transformed_and_stays_where_it_was_put(
    pipeline: Pipeline,
) -> None:
    # GIVEN orders dropped into incoming/orders-v1/ by an operator, not through either API
    ref = drop(pipeline, "incoming/orders-v1/data.xml", ORDERS)
    # WHEN the validator gets its event, then the worker the event of what it stored
    assert validate_staged_upload(ref, validator_deps(pipeline)) == "accepted"
    upload_id = dropped_upload_id(ref.bucket, ref.key, ref.write_id)
    transform_object(ObjectRef(pipeline.input_bucket, f"uploads/{upload_id}.xml"), **pipeline.worker_args())
    # THEN the row records where it came from, by whom, with the folder's rule, and is done
    row = dropped_row(pipeline, ref)
    assert {
        name: row[name] for name in ("status", "ruleId", "fileName", "sourceKey", "outputKey", "owner")
    } == {
        "status": "done",
        "ruleId": "orders-v1",
        "fileName": "data.xml",
        "sourceKey": "incoming/orders-v1/data.xml",
        "outputKey": "results/incoming/orders-v1/data.json",
        "owner": f"s3:{DROPPER}",
    }
    # AND the JSON is named after the file (the seed's data.xml -> data.json)
    output = pipeline.s3.get_object(Bucket=pipeline.output_bucket, Key="results/incoming/orders-v1/data.json")
    assert json.loads(output["Body"].read()) == {"order": {"currency": "EUR", "orderId": "1", "paid": True}}
    # AND the file stays where it was put, and SNS said done, naming it
    assert "incoming/orders-v1/data.xml" in keys_under(pipeline, "incoming/")
    [message] = [json.loads(envelope["Message"]) for envelope in pipeline.notifications()]
    assert (message["status"], message["sourceKey"]) == ("done", "incoming/orders-v1/data.xml")


def test_a_dropped_file_may_name_its_rule_by_metadata(pipeline: Pipeline) -> None:
    # GIVEN a file dropped straight under incoming/ with `aws s3 cp --metadata rule-id=orders-v1`
    ref = drop(pipeline, "incoming/data.xml", ORDERS, metadata={"rule-id": "orders-v1"})
    # WHEN the validator gets its event THEN it goes on to the transform under that rule
    assert validate_staged_upload(ref, validator_deps(pipeline)) == "accepted"
    row = dropped_row(pipeline, ref)
    assert (row["status"], row["ruleId"], row["outputKey"]) == (
        "pending",
        "orders-v1",
        "results/incoming/data.json",
    )


@pytest.mark.parametrize(
    ("key", "body", "metadata", "reason"),
    [
        ("incoming/data.xml", ORDERS, None, "the file names no rule: put it under incoming/<ruleId>/"),
        (
            "incoming/orders-v1/data.xml",
            ORDERS,
            {"rule-id": "kunden-v1"},
            "names two rules: 'orders-v1' by its folder and 'kunden-v1' by its rule-id metadata",
        ),
        ("incoming/no-such-rule/data.xml", ORDERS, None, "there is no rule 'no-such-rule'"),
        ("incoming/orders-v1/notes.txt", b"hello, not XML", None, "not well-formed"),
        ("incoming/orders-v1/evil.xml", XXE, None, "DOCTYPE"),
    ],
    ids=["no-rule", "two-rules", "unknown-rule", "not-xml", "xxe"],
)
def test_a_dropped_file_that_cannot_be_used_is_rejected_announced_and_kept_where_it_is(
    pipeline: Pipeline, key: str, body: bytes, metadata: dict[str, str] | None, reason: str
) -> None:
    # GIVEN a file dropped into incoming/ that names no usable rule or is no acceptable XML
    ref = drop(pipeline, key, body, metadata)
    # WHEN the validator gets its event
    assert validate_staged_upload(ref, validator_deps(pipeline)) == "rejected"
    # THEN its row is rejected with the reason, SNS says so once, and the file is neither moved nor deleted
    row = dropped_row(pipeline, ref)
    assert row["status"] == "rejected" and reason in row["reason"], row["reason"]
    assert told(pipeline, row["uploadId"]) == ["rejected"]
    assert keys_under(pipeline, "incoming/") == [key]
    assert keys_under(pipeline, "quarantine/") == [] and keys_under(pipeline, "uploads/") == []


def test_a_redelivered_event_of_a_dropped_file_changes_nothing(pipeline: Pipeline) -> None:
    # GIVEN a dropped file already accepted, and one already rejected
    accepted = drop(pipeline, "incoming/orders-v1/a.xml", ORDERS)
    rejected = drop(pipeline, "incoming/b.xml", ORDERS)
    validate_staged_upload(accepted, validator_deps(pipeline))
    validate_staged_upload(rejected, validator_deps(pipeline))
    rows, first_told = pipeline.status_rows(), pipeline.notifications()
    # WHEN S3 delivers both events again
    outcomes = [validate_staged_upload(ref, validator_deps(pipeline)) for ref in (accepted, rejected)]
    # THEN nothing new: no second row, no second message, the accepted one not stored again
    assert outcomes == ["skipped", "rejected"]
    assert pipeline.status_rows() == rows
    assert len(first_told) == 1 and pipeline.notifications() == []


def test_a_new_version_of_a_dropped_file_is_a_new_upload(pipeline: Pipeline) -> None:
    # GIVEN a file dropped twice under one key (a fix put over a bad first version), as the input bucket
    # keeps versions
    pipeline.s3.put_bucket_versioning(
        Bucket=pipeline.input_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    first = drop(pipeline, "incoming/orders-v1/data.xml", b"<broken")
    second = drop(pipeline, "incoming/orders-v1/data.xml", ORDERS)
    # WHEN each version's event arrives THEN each has its own row and outcome
    outcomes = [validate_staged_upload(ref, validator_deps(pipeline)) for ref in (first, second)]
    assert outcomes == ["rejected", "accepted"]
    assert [dropped_row(pipeline, ref)["status"] for ref in (first, second)] == ["rejected", "pending"]


def test_a_missing_staged_file_fails_the_invocation_so_lambda_retries_it(pipeline: Pipeline) -> None:
    # GIVEN an upload awaiting a file that is not in incoming/
    upload_id, ref = stage(pipeline, ORDERS)
    pipeline.s3.delete_object(Bucket=pipeline.input_bucket, Key=ref.key)
    # WHEN its event arrives THEN the invocation fails (Lambda retries it, then dead-letters it)
    with pytest.raises(StagedFileMissingError):
        validate_staged_upload(ref, validator_deps(pipeline))
    assert status_of(pipeline, upload_id)["status"] == "awaiting_upload"


def test_the_staged_event_from_the_events_file_is_understood(
    large_upload_env: Pipeline, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the shared S3 event and the upload it names, awaiting its file
    large_upload_env.statuses.create_awaiting_upload(
        upload_id=EVENTS_FILE_UPLOAD_ID,
        rule_id="orders-v1",
        file_name="orders.xml",
        staged_key=f"incoming/{EVENTS_FILE_UPLOAD_ID}.xml",
        now=datetime.now(UTC),
    )
    large_upload_env.s3.put_object(
        Bucket=large_upload_env.input_bucket, Key=f"incoming/{EVENTS_FILE_UPLOAD_ID}.xml", Body=ORDERS
    )
    # WHEN the handler receives it
    result = staged_upload_validator.lambda_handler(
        staged_event(large_upload_env, EVENTS_FILE_UPLOAD_ID), lambda_context
    )
    # THEN the upload is accepted (the bucket and key are read from the event)
    assert result == {"outcomes": {f"incoming/{EVENTS_FILE_UPLOAD_ID}.xml": "accepted"}}
    assert status_of(large_upload_env, EVENTS_FILE_UPLOAD_ID)["status"] == "pending"


def test_an_upload_moves_out_of_awaiting_upload_once_and_only_forward(pipeline: Pipeline) -> None:
    # GIVEN an upload awaiting its file
    upload_id, _ = stage(pipeline, ORDERS)
    statuses, now = pipeline.statuses, datetime.now(UTC)
    assert not statuses.get(upload_id).is_final  # type: ignore[union-attr]
    # WHEN it is accepted THEN it can no longer be rejected, nor accepted again
    assert statuses.mark_staged_accepted(
        upload_id, input_key=f"uploads/{upload_id}.xml", size_bytes=5, now=now
    )
    assert not statuses.mark_rejected(upload_id, reason="late", now=now)
    assert not statuses.mark_staged_accepted(upload_id, input_key="x", size_bytes=1, now=now)
    # AND a pending upload is never rejected, only done or failed
    assert statuses.get(upload_id).status == "pending"  # type: ignore[union-attr]
    other_id, _ = stage(pipeline, ORDERS)
    assert statuses.mark_rejected(other_id, reason="bad", now=now)
    assert statuses.get(other_id).is_final  # type: ignore[union-attr]
    assert not statuses.mark_failed(other_id, reason="later", now=now)
    assert not statuses.mark_done(other_id, output_key="results/x.json", now=now)
