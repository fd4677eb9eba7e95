"""POST /events with its DLQ down: every request is still answered, and the answer says what was not kept.

The API sends to the DLQ what it refuses (the raw body and the reason) and what the workflow left without
an answer (timed out, no result). handlers/events/api.py's dead_letter() catches the send's failure, logs
it and counts it (EventsDeadLetterFailed) and returns False, which the reply carries as "deadLetter". So
a DLQ outage never turns a clear answer into a bare 500: a refused body is still refused with its own
status and the message naming what is wrong with it (that is what the client must fix), and an event
whose outcome is unknown is not claimed to be kept when it was not: its sender is told to send it again.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.events import api

from .conftest import (
    EVENT_ID,
    MAX_BODY_BYTES,
    CannedStepFunctions,
    EventsCloud,
    emf_metrics,
    event_document,
    events_post,
    log_records,
    post,
    use_stepfunctions,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def dlq_is_down(
    cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch, stepfunctions: CannedStepFunctions
) -> None:
    """Point the API at a queue that does not exist (SQS refuses every send, as during an outage or after
    the queue was deleted) and at a stand-in workflow (moto has no StartSyncExecution)."""
    monkeypatch.setenv("DLQ_URL", cloud.dlq_url + "-gone")
    api.dependencies.cache_clear()
    use_stepfunctions(monkeypatch, stepfunctions)


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        (
            json.dumps({"id": EVENT_ID, "data": "x", "idempotencyKey": "key-1"}),
            400,
            "invalid_event",
            "body must contain ['timestamp'] properties",
        ),
        ("{not json", 400, "invalid_json", "JSON"),
        (
            json.dumps(event_document(data="x" * (MAX_BODY_BYTES + 10))),
            413,
            "payload_too_large",
            f"the limit is {MAX_BODY_BYTES} bytes",
        ),
    ],
    ids=["missing-field", "not-json", "too-large"],
)
def test_a_refused_body_is_answered_with_its_own_problem_when_the_dlq_cannot_keep_it(
    events_cloud: EventsCloud,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    body: str,
    status: int,
    code: str,
    says: str,
) -> None:
    # GIVEN the DLQ refuses every send
    workflow = CannedStepFunctions()
    dlq_is_down(events_cloud, monkeypatch, workflow)
    # WHEN a body the API refuses is posted
    answered, reply, _ = post(events_post(body))
    # THEN it is refused with the status and message of the body's problem, as with a working DLQ
    assert (answered, reply["error"]) == (status, code) and says in reply["message"]
    # AND the reply says the body was not kept (deadLetter false) while still giving its reference
    assert reply["deadLetter"] is False and reply["reference"]
    # AND no workflow ran, and nothing reached the real DLQ
    assert workflow.calls == [] and events_cloud.dlq_messages() == []
    # AND the failed send is logged and counted for the alarm
    [logged] = log_records(caplog, "could not send to the DLQ")
    assert (vars(logged)["outcome"], vars(logged)["errorType"]) == ("rejected", code)
    counted = emf_metrics(capsys.readouterr().out)
    assert counted.get("EventsDeadLetterFailed") == [1.0] and counted.get("EventsRejected") == [1.0]


def test_a_timed_out_event_the_dlq_cannot_keep_is_answered_504_asking_for_it_again(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 504 of a timed-out workflow tells the client its event was kept for redrive; when the DLQ
    refused it that would be false, and a client that believes it never resends: the event would be
    lost. The reply must then ask for the event again (its idempotencyKey makes a repeat safe)."""
    # GIVEN the workflow times out and the DLQ refuses every send
    dlq_is_down(events_cloud, monkeypatch, CannedStepFunctions(answer={"status": "TIMED_OUT"}))
    # WHEN an event is posted
    status, reply, _ = post(events_post(event_document()))
    # THEN the client gets the 504, told that nothing kept the event and to send it again with its key
    assert (status, reply["error"], reply["deadLetter"]) == (504, "processing_timed_out", False)
    assert "was kept" not in reply["message"]
    assert reply["message"] == (
        "the event workflow timed out; the outcome is unknown, and the event could not be kept for redrive: "
        "send it again with the same idempotencyKey (a repeat is applied at most once)"
    )
    assert events_cloud.dlq_messages() == []


def test_a_workflow_without_a_result_the_dlq_cannot_keep_is_answered_502_without_claiming_it_kept(
    events_cloud: EventsCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the workflow answers something that is not a result, and the DLQ refuses every send
    answer: dict[str, Any] = {"status": "SUCCEEDED", "output": json.dumps({"Payload": {}})}
    dlq_is_down(events_cloud, monkeypatch, CannedStepFunctions(answer=answer))
    # WHEN an event is posted
    status, reply, _ = post(events_post(event_document()))
    # THEN 502 names what happened, and deadLetter says the event was not kept
    assert (status, reply["error"], reply["deadLetter"]) == (502, "processing_failed", False)
    assert reply["message"] == (
        "the event workflow ended SUCCEEDED without a result (UnexpectedWorkflowOutput)"
    )
