"""POST /events: validated, run through the workflow synchronously, every outcome answered, nothing lost."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.events import api
from handlers.events.api import MAX_DEAD_LETTER_BODY_BYTES, STEP_FUNCTIONS_MAX_INPUT_BYTES
from handlers.events.tmf688 import parse_tmf688, stored_envelope
from handlers.http_request import MAX_JSON_DEPTH

from .conftest import (
    EVENT_ID,
    EVENTS_TABLE,
    MAX_BODY_BYTES,
    MAX_CLOCK_SKEW_SECONDS,
    OTHER_PRINCIPAL,
    OTHER_REGION,
    OWNER,
    PRINCIPAL,
    REGION,
    STATE_MACHINE_ARN,
    T0,
    CannedStepFunctions,
    EventsCloud,
    ProcessorWorkflow,
    emf_metrics,
    event_document,
    events_post,
    item,
    load_event,
    post,
    tmf688_document,
    use_stepfunctions,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def workflow(events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch) -> ProcessorWorkflow:
    stand_in = ProcessorWorkflow()
    use_stepfunctions(monkeypatch, stand_in)
    return stand_in


def canned(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> CannedStepFunctions:
    stand_in = CannedStepFunctions(**kwargs)
    use_stepfunctions(monkeypatch, stand_in)
    return stand_in


def test_an_event_is_run_through_the_workflow_and_answered_applied(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN the sample POST /events (tests/events/events_post.json)
    # WHEN it is posted
    status, reply, _ = post(load_event("events_post.json"))
    # THEN the reply is 200 with the processor's result: version 1, written in this region, owned by the
    # signer's role
    assert status == 200
    assert reply["status"] == "applied" and reply["replayed"] is False and reply["previous"] is None
    assert reply["item"] == events_cloud.current().summary()  # type: ignore[union-attr]
    assert reply["item"]["version"] == 1 and reply["item"]["lastUpdatedRegion"] == REGION
    assert reply["item"]["owner"] == OWNER
    # AND one synchronous execution of this region's workflow got {"event", "principal", "receivedAt"},
    # named uniquely, the principal being the signer the gateway vouched for
    [call] = workflow.calls
    assert call["stateMachineArn"] == STATE_MACHINE_ARN and UUID.match(call["name"])
    execution_input = workflow.only_input()
    assert execution_input["event"] == json.loads(load_event("events_post.json")["body"])
    assert set(execution_input) == {"event", "principal", "receivedAt"}
    assert execution_input["principal"] == PRINCIPAL
    # AND nothing went to the DLQ
    assert events_cloud.dlq_messages() == []


def test_a_repeated_post_is_answered_with_the_first_result_marked_replayed(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    first = post(events_post(event_document(key="key-1")))[1]
    status, repeat, _ = post(events_post(event_document(key="key-1")))
    assert status == 200 and repeat == {**first, "replayed": True}
    assert events_cloud.current().version == 1  # type: ignore[union-attr]


def test_a_stale_write_is_answered_409_naming_the_write_that_wins(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN the other region's write at a later client time
    winner = item(version=2, region=OTHER_REGION, timestamp=T0 + 500, key="key-winner")
    events_cloud.put(winner)
    # WHEN an older write is posted here
    status, reply, _ = post(events_post(event_document(timestamp=T0, key="key-late")))
    # THEN 409 stale_write names the winner's timestamp and region, and carries both writes' summaries
    assert status == 409 and reply["error"] == "stale_write"
    assert f"timestamp {T0 + 500}, region {OTHER_REGION}" in reply["message"]
    assert reply["current"] == winner.summary()
    assert reply["rejected"]["idempotencyKey"] == "key-late" and reply["replayed"] is False
    # AND the item is unchanged
    assert events_cloud.current() == winner


def test_an_event_from_a_clock_too_far_ahead_is_answered_422_poison_event(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    ahead = int(time.time() * 1000) + (MAX_CLOCK_SKEW_SECONDS + 60) * 1000
    status, reply, _ = post(events_post(event_document(timestamp=ahead)))
    # THEN 422 poison_event with the processor's explanation, the execution's name as reference (not its
    # ARN, which names our account and state machine), dead-lettered
    assert status == 422 and reply["error"] == "poison_event"
    assert "the limit is 300000 ms (MAX_CLOCK_SKEW_SECONDS)" in reply["message"]
    assert reply["reference"] and ":" not in reply["reference"] and reply["deadLetter"] is True
    assert events_cloud.items() == []


def test_an_idempotency_key_reused_for_another_event_is_answered_422(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    post(events_post(event_document(data="packed", key="key-K")))
    status, reply, _ = post(events_post(event_document(data="shipped", key="key-K")))
    assert status == 422 and reply["error"] == "idempotency_key_reused"
    assert "'key-K' was already used for a different event" in reply["message"]


def test_an_unexpected_workflow_failure_is_answered_502_without_its_internals(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the workflow failed after its retries (and dead-lettered the event, as its definition does)
    cause = json.dumps({"errorMessage": "table arn:aws:dynamodb:...:table/secret-name", "errorType": "X"})
    canned(monkeypatch, answer={"status": "FAILED", "error": "WriteConflictError", "cause": cause})
    status, reply, _ = post(events_post(event_document()))
    # THEN 502 processing_failed names the error, not its cause, and says the event is kept
    assert status == 502 and reply["error"] == "processing_failed" and reply["deadLetter"] is True
    assert "WriteConflictError" in reply["message"] and "secret-name" not in json.dumps(reply)


def test_an_event_still_in_progress_elsewhere_is_answered_409_with_retry_after(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned(
        monkeypatch, answer={"status": "FAILED", "error": "IdempotencyAlreadyInProgressError", "cause": "{}"}
    )
    status, reply, headers = post(events_post(event_document()))
    assert (status, reply["error"]) == (409, "idempotency_key_in_progress") and headers["Retry-After"]


def test_a_timed_out_workflow_is_answered_504_and_the_event_kept_on_the_dlq(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the workflow timed out (its own failure path never ran)
    stand_in = canned(monkeypatch, answer={"status": "TIMED_OUT"})
    document = event_document()
    status, reply, _ = post(events_post(document))
    # THEN 504, and the event is on the DLQ in the workflow's message shape, so a redrive can replay it
    assert status == 504 and reply["error"] == "processing_timed_out" and reply["deadLetter"] is True
    [(message, attributes)] = events_cloud.dlq_messages()
    assert message["event"] == document and message["error"]["Error"] == "States.Timeout"
    assert message["principal"] == PRINCIPAL  # a redrive writes as the principal that sent it
    assert message["receivedAt"] == json.loads(stand_in.calls[0]["input"])["receivedAt"]
    assert attributes == {"outcome": "timed_out", "errorType": "States.Timeout"}


def test_a_workflow_output_that_is_no_result_is_answered_502_and_the_event_kept(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned(monkeypatch, answer={"status": "SUCCEEDED", "output": json.dumps({"Payload": {}})})
    status, reply, _ = post(events_post(event_document()))
    assert status == 502 and reply["deadLetter"] is True
    [(message, attributes)] = events_cloud.dlq_messages()
    assert message["error"]["Error"] == "UnexpectedWorkflowOutput" and attributes["outcome"] == "failed"


def test_when_step_functions_is_unavailable_the_client_gets_503_with_retry_after(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartSyncExecution"
    )
    canned(monkeypatch, error=throttled)
    status, reply, headers = post(events_post(event_document()))
    assert status == 503 and reply["error"] == "unavailable" and headers["Retry-After"] == "2"
    assert "retry later with the same idempotencyKey" in reply["message"]


def test_an_oversized_body_is_refused_413_naming_the_limit_and_kept_on_the_dlq(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN a body over MAX_BODY_BYTES
    body = json.dumps(event_document(data="x" * (MAX_BODY_BYTES + 10)))
    # WHEN it is posted
    status, reply, _ = post(events_post(body))
    # THEN 413 names the limit, and no workflow ran
    assert status == 413 and reply["error"] == "payload_too_large"
    assert f"the limit is {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES" in reply["message"]
    assert workflow.calls == []
    # AND the DLQ has its first 200 KB and the reason, under the reply's reference
    [(message, attributes)] = events_cloud.dlq_messages()
    assert attributes == {"outcome": "rejected", "errorType": "payload_too_large"}
    assert message["reference"] == reply["reference"] and message["statusCode"] == 413
    assert message["bodyTruncated"] is True and message["bodyBytes"] == len(body)
    assert body.startswith(message["body"])
    assert MAX_DEAD_LETTER_BODY_BYTES - 100 < len(json.dumps(message["body"])) <= MAX_DEAD_LETTER_BODY_BYTES
    assert reply["deadLetter"] is True


def test_a_body_missing_a_field_is_refused_400_naming_it_and_kept_on_the_dlq(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    body = json.dumps({"id": EVENT_ID, "data": "x", "idempotencyKey": "key-1"})
    status, reply, _ = post(events_post(body))
    assert status == 400 and reply["error"] == "invalid_event"
    assert reply["message"].startswith("body must contain ['timestamp'] properties; send {")
    assert workflow.calls == []
    [(message, attributes)] = events_cloud.dlq_messages()
    assert message["body"] == body and message["bodyTruncated"] is False
    assert message["error"] == {"Error": "invalid_event", "Cause": reply["message"]}
    assert message["principal"] == PRINCIPAL
    assert attributes["outcome"] == "rejected"


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "empty_body"), ("{not json", "invalid_json"), ('{"timestamp": NaN}', "invalid_json")],
)
def test_a_body_that_is_not_a_json_event_is_refused_400(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow, body: str, code: str
) -> None:
    status, reply, _ = post(events_post(body))
    assert (status, reply["error"]) == (400, code) and workflow.calls == []
    assert len(events_cloud.dlq_messages()) == 1


def test_a_base64_encoded_body_is_accepted(events_cloud: EventsCloud, workflow: ProcessorWorkflow) -> None:
    status, reply, _ = post(events_post(event_document(data="héllo ✓"), base64_encoded=True))
    assert status == 200 and reply["item"]["dataBytes"] == len("héllo ✓".encode())


def test_a_body_within_the_limit_whose_workflow_input_would_not_fit_is_refused_413(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN a compact body just under MAX_BODY_BYTES: the input's "receivedAt" would take it over 256 KB
    document = event_document(key="key-1", data="")
    padding = MAX_BODY_BYTES - len(json.dumps(document, separators=(",", ":")).encode())
    document["data"] = "€" * (padding // 3) + "x" * (padding % 3)
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert len(body.encode()) == MAX_BODY_BYTES
    # WHEN it is posted, THEN Step Functions is never asked to take it
    status, reply, _ = post(events_post(body))
    assert status == 413 and f"the limit is {STEP_FUNCTIONS_MAX_INPUT_BYTES} bytes" in reply["message"]
    assert workflow.calls == []


def test_a_hostile_body_of_control_characters_still_fits_on_the_dlq(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN a body of control characters (six bytes each once escaped in the DLQ message's JSON)
    body = "\x01" * MAX_BODY_BYTES
    status, reply, _ = post(events_post(body))
    # THEN it is refused and still kept: its first characters, within 200 KB as JSON
    assert status == 400 and reply["deadLetter"] is True
    [(message, _)] = events_cloud.dlq_messages()
    assert message["bodyTruncated"] is True and body.startswith(message["body"])
    assert len(json.dumps(message["body"])) <= MAX_DEAD_LETTER_BODY_BYTES


# 5,000 levels is the depth first reported; 100,000 (200 KB, within the body limit) is deep enough for
# CPython's json.loads to raise RecursionError, which used to escape as a 500 and keep nothing.
@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_json_body_nested_deeper_than_the_limit_is_refused_400_and_kept_on_the_dlq(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow, depth: int
) -> None:
    # GIVEN an event whose data is arrays nested thousands deep instead of a string
    nested = "[" * depth + "]" * depth
    body = f'{{"id": "{EVENT_ID}", "data": {nested}, "timestamp": {T0}, "idempotencyKey": "key-1"}}'
    assert len(body.encode()) <= MAX_BODY_BYTES
    # WHEN it is posted
    status, reply, _ = post(events_post(body))
    # THEN 400 too_deep names the nesting limit, and no workflow ran
    assert (status, reply["error"]) == (400, "too_deep")
    assert f"deeper than the limit of {MAX_JSON_DEPTH} levels" in reply["message"]
    assert workflow.calls == []
    # AND the DLQ keeps the raw body and the reason under the reply's reference, as for any refused body
    [(message, attributes)] = events_cloud.dlq_messages()
    assert attributes == {"outcome": "rejected", "errorType": "too_deep"}
    assert message["body"] == body and message["bodyTruncated"] is False
    assert message["error"] == {"Error": "too_deep", "Cause": reply["message"]}
    assert message["reference"] == reply["reference"] and reply["deadLetter"] is True


def test_non_ascii_data_travels_to_the_workflow_as_utf8_not_escapes() -> None:
    # GIVEN an event of non-ASCII data, WHEN its workflow input is built
    incoming, _ = api.parse_body(json.dumps(event_document(data="€" * 1000)).encode())
    text = api.workflow_input(incoming, received_at=datetime(2024, 6, 1, tzinfo=UTC), principal=PRINCIPAL)
    # THEN the data is in UTF-8 (3 bytes a character), not \\u20ac escapes (6), as Step Functions counts
    assert "€" * 1000 in text and "\\u20ac" not in text


def _without_authorizer(event: dict[str, Any]) -> dict[str, Any]:
    del event["requestContext"]["authorizer"]
    return event


def _with_empty_iam(event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = {"iam": {}}
    return event


def _with_arn_claimed_in_a_header(event: dict[str, Any]) -> dict[str, Any]:
    del event["requestContext"]["authorizer"]
    event["headers"]["x-amz-user-arn"] = PRINCIPAL
    return event


@pytest.mark.parametrize(
    "unauthenticated",
    [_without_authorizer, _with_empty_iam, _with_arn_claimed_in_a_header],
    ids=["no-authorizer", "empty-iam-block", "arn-only-in-a-header"],
)
def test_a_request_without_an_authenticated_caller_is_refused_401_and_nothing_is_started_or_kept(
    events_cloud: EventsCloud,
    workflow: ProcessorWorkflow,
    capsys: pytest.CaptureFixture[str],
    unauthenticated: Any,
) -> None:
    # GIVEN a valid event that reached the function without the gateway vouching for a caller (a route
    # that lost its AWS_IAM authorization)
    event = unauthenticated(events_post(event_document(key="key-anonymous")))
    # WHEN it is posted
    status, reply, _ = post(event)
    # THEN 401 unauthenticated says how to call
    assert (status, reply["error"]) == (401, "unauthenticated")
    assert "signed with SigV4 (AWS_IAM)" in reply["message"] and reply["reference"]
    # AND no workflow ran, nothing was written, and nothing went to the DLQ (no one to keep it for)
    assert workflow.calls == []
    assert events_cloud.items() == [] and events_cloud.dlq_messages() == []
    # AND it is counted
    assert emf_metrics(capsys.readouterr().out).get("EventsUnauthenticated") == [1.0]


def test_a_write_to_an_id_another_principal_created_is_refused_403_naming_the_problem_not_the_owner(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN an id created by another principal
    created = post(events_post(event_document(data="theirs", key="key-theirs"), principal=OTHER_PRINCIPAL))
    assert created[0] == 200
    before = events_cloud.current()
    # WHEN this principal writes it, later by the client's clock (which used to win)
    status, reply, headers = post(events_post(event_document(timestamp=T0 + 1, data="mine", key="key-mine")))
    # THEN 403 event_owned_by_another_principal: the workflow failed, so the event is on the DLQ
    assert (status, reply["error"]) == (403, "event_owned_by_another_principal")
    assert reply["deadLetter"] is True and reply["reference"] and ":" not in reply["reference"]
    assert "Retry-After" not in headers
    # AND the message names the id and the problem, but neither the owner nor any table
    assert f"event {EVENT_ID!r} was created by another principal" in reply["message"]
    assert OTHER_PRINCIPAL not in json.dumps(reply) and EVENTS_TABLE not in reply["message"]
    # AND the item is the owner's still
    assert events_cloud.current() == before


def test_the_same_idempotency_key_from_two_principals_is_two_requests(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN one principal's event with key K
    mine = post(events_post(event_document(id="order-1", key="key-K")))
    # WHEN another principal sends its own event with the same key K
    theirs = post(events_post(event_document(id="order-2", key="key-K"), principal=OTHER_PRINCIPAL))
    # THEN both are applied (neither is a replay nor a reused key), each owned by its sender
    assert (mine[0], mine[1]["status"], mine[1]["replayed"]) == (200, "applied", False)
    assert (theirs[0], theirs[1]["status"], theirs[1]["replayed"]) == (200, "applied", False)
    assert events_cloud.current("order-1").owner == OWNER  # type: ignore[union-attr]
    assert events_cloud.current("order-2").owner == OTHER_PRINCIPAL  # type: ignore[union-attr]
    # AND from the first principal again, K is a replay of its own first result
    status, repeat, _ = post(events_post(event_document(id="order-1", key="key-K")))
    assert status == 200 and repeat == {**mine[1], "replayed": True}


def test_another_principal_replaying_a_request_gets_no_copy_of_its_result(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN an applied event
    document = event_document(key="key-K")
    post(events_post(document))
    # WHEN another principal sends the very same body (same id and idempotency key)
    status, reply, _ = post(events_post(document, principal=OTHER_PRINCIPAL))
    # THEN it is not answered with the first result (a key is no secret shared across principals): the
    # id is another principal's, so it is refused
    assert (status, reply["error"]) == (403, "event_owned_by_another_principal")
    assert "item" not in reply


def test_a_new_session_of_the_same_role_replays_and_writes_the_roles_ids(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN an event applied by one session of a role
    first = post(events_post(event_document(key="key-K")))[1]
    renewed = PRINCIPAL.replace("/producer-1", "/producer-2")
    # WHEN a later session of the same role (renewed credentials) repeats it, then updates the id
    status, repeat, _ = post(events_post(event_document(key="key-K"), principal=renewed))
    update = post(events_post(event_document(timestamp=T0 + 1, key="key-next"), principal=renewed))
    # THEN the repeat is a replay, and the update applies: the role owns the id, not the session
    assert status == 200 and repeat == {**first, "replayed": True}
    assert (update[0], update[1]["status"], update[1]["item"]["owner"]) == (200, "applied", OWNER)


# ---- TMF688 envelopes (handlers/events/tmf688.py, docs/event-schema.md) --------------------------------


def plain_equivalent(envelope: dict[str, Any]) -> dict[str, Any]:
    """The plain body that means what `envelope` means: the document the workflow gets for it."""
    return parse_tmf688(envelope).incoming().document()


def test_a_tmf688_event_is_applied_and_its_item_carries_the_whole_envelope(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN the sample TMF688 POST /events (tests/events/events_post_tmf688.json)
    event = load_event("events_post_tmf688.json")
    envelope = json.loads(event["body"])
    # WHEN it is posted
    status, reply, _ = post(event)
    # THEN it is applied as version 1 of item eventId, at its occurrence time, owned by the signer's role
    assert status == 200 and reply["status"] == "applied" and reply["replayed"] is False
    stored = events_cloud.current(envelope["eventId"])
    assert stored is not None and reply["item"] == stored.summary()
    assert (stored.version, stored.timestamp, stored.owner) == (1, T0, OWNER)
    assert stored.idempotency_key.startswith("tmf688-")
    # AND the item holds the envelope: its descriptive fields and its event body, as a reader sees them
    assert stored_envelope(stored.data) == envelope
    assert json.loads(stored.data)["correlationId"] == envelope["correlationId"]
    # AND the workflow got the plain document it means, nothing went to the DLQ
    assert workflow.only_input()["event"] == plain_equivalent(envelope)
    assert events_cloud.dlq_messages() == []


def test_a_tmf688_event_and_its_plain_equivalent_are_one_write(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN an applied envelope
    envelope = tmf688_document()
    first = post(events_post(envelope))[1]
    # WHEN the same envelope comes again with its fields in another order, then as its plain equivalent
    reordered = dict(reversed(list(envelope.items())))
    again = post(events_post(reordered))
    as_plain = post(events_post(plain_equivalent(envelope)))
    # THEN both are replays of the first result, and nothing is written again
    assert again[0] == as_plain[0] == 200
    assert again[1] == as_plain[1] == {**first, "replayed": True}
    assert events_cloud.current().version == 1  # type: ignore[union-attr]


def test_a_tmf688_event_sent_again_at_the_same_time_with_other_content_is_answered_422_in_its_terms(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow
) -> None:
    # GIVEN an applied envelope
    post(events_post(tmf688_document()))
    # WHEN the same eventId and occurrence time come with another event body
    changed = tmf688_document(event={"productOrder": {"id": "42", "state": "shipped"}})
    status, reply, _ = post(events_post(changed))
    # THEN 422 idempotency_key_reused says what a TMF688 sender changes: the time
    assert (status, reply["error"]) == (422, "idempotency_key_reused")
    assert "derived from its eventId and its timeOccurred" in reply["message"]
    assert "send the change with a later time" in reply["message"]
    assert json.loads(events_cloud.current().data)["event"]["productOrder"]["state"] == "packed"  # type: ignore[union-attr]


@pytest.mark.parametrize("shape", ["plain", "tmf688"])
def test_against_the_other_regions_write_an_envelope_loses_and_wins_exactly_as_the_plain_event_does(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow, shape: str
) -> None:
    # GIVEN the other region's write of the item at T0 + 500
    winner = item(version=2, region=OTHER_REGION, timestamp=T0 + 500, key="key-winner")
    events_cloud.put(winner)

    def body(occurred_ms: int, state: str) -> dict[str, Any]:
        envelope = tmf688_document(
            eventTime=None,
            timeOccurred=f"2024-06-01T10:00:{occurred_ms // 1000:02d}.{occurred_ms % 1000:03d}Z",
            event={"productOrder": {"id": "42", "state": state}},
        )
        return envelope if shape == "tmf688" else plain_equivalent(envelope)

    # WHEN an event that occurred earlier is posted here, THEN it is stale: 409 naming the winner
    status, reply, _ = post(events_post(body(0, "packed")))
    assert (status, reply["error"], reply["current"]) == (409, "stale_write", winner.summary())
    assert ("later timeOccurred" in reply["message"]) == (shape == "tmf688")
    assert events_cloud.current() == winner
    # AND one that occurred later wins: the item's next version, from this region
    status, reply, _ = post(events_post(body(1000, "shipped")))
    assert status == 200 and reply["previous"] == winner.summary()
    current = events_cloud.current()
    assert current is not None
    assert (current.version, current.last_updated_region, current.timestamp) == (3, REGION, T0 + 1000)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"eventType": None}, "body must contain ['eventType'] properties"),
        (
            {"timeOccurred": "2024-06-01 10:00:00Z"},
            "body.timeOccurred is '2024-06-01 10:00:00Z', not an RFC 3339",
        ),
        ({"priority": 3}, "body.priority must be string"),
        ({"id": EVENT_ID}, "body mixes the plain shape's fields (id) with TMF688's"),
    ],
)
def test_a_bad_envelope_is_refused_400_naming_the_field_and_kept_on_the_dlq(
    events_cloud: EventsCloud, workflow: ProcessorWorkflow, change: dict[str, Any], named: str
) -> None:
    # GIVEN an envelope with one thing wrong
    body = json.dumps(tmf688_document(**change))
    # WHEN it is posted
    status, reply, _ = post(events_post(body))
    # THEN 400 invalid_event names it, and no workflow ran
    assert (status, reply["error"]) == (400, "invalid_event")
    assert reply["message"].startswith(named), reply["message"]
    assert workflow.calls == [] and events_cloud.items() == []
    # AND the raw body is on the DLQ with the reason, under the reply's reference
    [(message, attributes)] = events_cloud.dlq_messages()
    assert attributes == {"outcome": "rejected", "errorType": "invalid_event"}
    assert message["body"] == body and message["reference"] == reply["reference"]
    assert message["error"] == {"Error": "invalid_event", "Cause": reply["message"]}


@pytest.mark.parametrize(
    ("stepfunctions", "status", "told"),
    [
        (
            {"error": ClientError({"Error": {"Code": "ThrottlingException"}}, "StartSyncExecution")},
            503,
            "send the same envelope again",
        ),
        ({"answer": {"status": "TIMED_OUT"}}, 504, "the same envelope sent again is applied at most once"),
    ],
    ids=["unavailable", "timed-out"],
)
def test_a_tmf688_event_whose_outcome_is_unknown_is_told_to_send_the_same_envelope_again(
    events_cloud: EventsCloud,
    monkeypatch: pytest.MonkeyPatch,
    stepfunctions: dict[str, Any],
    status: int,
    told: str,
) -> None:
    # GIVEN a workflow that cannot be reached or times out
    canned(monkeypatch, **stepfunctions)
    # WHEN an envelope is posted, THEN the reply speaks of what its sender has: the envelope, not a key
    answered, reply, _ = post(events_post(tmf688_document()))
    assert answered == status and reply["message"].endswith(f"(for a TMF688 event: {told})")
    # AND a plain event's reply is as it was
    assert "TMF688" not in post(events_post(event_document()))[1]["message"]
