"""The console's snapshot: what it reads from moto's backends, and that reading changes nothing."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import lambda_backends
from moto.logs.models import logs_backends
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.parser.utils import TMP_THREADS

from localcloud.console import state
from localcloud.console.executions import execution_history, state_machines
from localcloud.console.logs import lambda_logs
from localcloud.console.messages import dead_letter_queues, sent_emails, sns_messages
from tests.unit.localcloud.conftest import ACCOUNT_ID, ASSUME_LAMBDA, REGION

OTHER_REGION = "us-west-2"
WORKER_JOIN_SECONDS = 30.0  # a bound on a hung interpreter thread, not a timing the test depends on

Clients = Callable[..., Any]


@pytest.fixture
def aws() -> Iterator[Clients]:
    """moto in this process, executing state machines as localcloud's emulator does; a client factory."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):

        def client(service: str, region: str = REGION) -> Any:
            new_client: Callable[..., Any] = boto3.client
            return new_client(service, region_name=region)

        yield client


def queue_with_dlq(aws: Clients, name: str) -> tuple[str, str]:
    """A queue whose messages go to `<name>-dead` after one receive; (queue URL, DLQ URL)."""
    sqs = aws("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    return url, dlq_url


def shown_queue(name: str) -> dict[str, Any]:
    (queue,) = [queue for queue in dead_letter_queues(limit=10) if queue["queue"] == name]
    return queue


# ------------------------------------------------------------------------------------ dead letters
def test_a_dead_letter_queue_shows_its_messages_and_what_feeds_it(aws: Clients) -> None:
    # GIVEN a queue with a DLQ holding one message, and a queue that is no one's DLQ
    _, dlq_url = queue_with_dlq(aws, "orders")
    aws("sqs").send_message(
        QueueUrl=dlq_url,
        MessageBody='{"order": 7}',
        MessageAttributes={"reason": {"DataType": "String", "StringValue": "timeout"}},
    )
    aws("sqs").create_queue(QueueName="plain-work")
    # WHEN the console reads the dead-letter queues
    queues = dead_letter_queues(limit=10)
    # THEN the DLQ shows with the queue that feeds it and its message, and the plain queue does not show
    assert [queue["queue"] for queue in queues] == ["orders-dead"]
    (queue,) = queues
    assert queue["sources"] == ["queue orders"]
    assert queue["total"] == 1
    (message,) = queue["messages"]
    assert (message["body"], message["attributes"], message["receiveCount"]) == (
        '{"order": 7}',
        {"reason": "timeout"},
        0,
    )


def test_a_queue_named_like_a_dlq_shows_though_nothing_sends_it_dead_letters(aws: Clients) -> None:
    # GIVEN a queue named as a DLQ but no one's redrive target
    aws("sqs").create_queue(QueueName="audit-DLQ")
    # WHEN the console reads the dead-letter queues
    # THEN it shows, fed by nothing configured
    assert shown_queue("audit-DLQ")["sources"] == []


def test_a_functions_dead_letter_target_is_a_dead_letter_queue(aws: Clients) -> None:
    # GIVEN a function whose failed asynchronous events go to a queue (localcloud's Lambda keeps
    # DeadLetterConfig on the function's model, as the console reads it)
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="async-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    function = create_function(aws, "resize")
    function.localcloud_dead_letter_config = {"TargetArn": arn}
    # WHEN the console reads the dead-letter queues
    # THEN that queue shows, fed by the function
    assert shown_queue("async-failures")["sources"] == ["function resize"]


def test_a_stream_mappings_on_failure_destination_is_a_dead_letter_queue(aws: Clients) -> None:
    # GIVEN a function reading a table's stream, whose failed batches go to a queue
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    table = aws("dynamodb").create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    create_function(aws, "processor")
    aws("lambda").create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"],
        FunctionName="processor",
        StartingPosition="LATEST",
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    # WHEN the console reads the dead-letter queues
    # THEN that queue shows, fed by the function's mapping
    assert shown_queue("stream-failures")["sources"] == ["event source mapping of function processor"]


def test_reading_a_dead_letter_queue_receives_none_of_its_messages(aws: Clients) -> None:
    # GIVEN a DLQ holding a message, and a source queue holding one received once already (one more
    # receive would move it to the DLQ)
    sqs = aws("sqs")
    url, dlq_url = queue_with_dlq(aws, "payments")
    sqs.send_message(QueueUrl=dlq_url, MessageBody="dead letter")
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    # WHEN the console takes its snapshot, twice
    state.snapshot(stack="test", exports={}, resources=[])
    state.snapshot(stack="test", exports={}, resources=[])
    # THEN the dead letter was never received: the first receive now is its first, and it is still there
    received = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [(message["Body"], message["Attributes"]["ApproximateReceiveCount"]) for message in received] == [
        ("dead letter", "1")
    ]
    # AND the source queue's message stayed where it was, not moved to the DLQ
    assert shown_queue("payments-dead")["total"] == 1
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_taking_a_snapshot_creates_no_region_of_any_service(aws: Clients) -> None:
    # GIVEN moto holding SQS in one region only (moto creates a region's backend on first lookup)
    aws("sqs").create_queue(QueueName="only-here")

    services: list[Any] = [
        sqs_backends,
        sns_backends,
        ses_backends,
        logs_backends,
        lambda_backends,
        stepfunctions_parser_backends,
    ]

    def regions() -> list[list[str]]:
        return [
            sorted(region for account in dict.values(backends) for region in dict.keys(account))
            for backends in services
        ]

    before = regions()
    # WHEN the console takes its snapshot
    state.snapshot(stack="test", exports={}, resources=[])
    # THEN every service has the regions it had
    assert regions() == before


# ------------------------------------------------------------------------------------------ SNS, SES
def test_messages_published_to_a_topic_show_newest_first_with_their_subject_and_attributes(
    aws: Clients,
) -> None:
    # GIVEN a topic with two messages published, and a topic with none
    sns = aws("sns")
    arn = sns.create_topic(Name="outcomes")["TopicArn"]
    sns.create_topic(Name="quiet")
    sns.publish(TopicArn=arn, Message="first", Subject="done")
    sns.publish(
        TopicArn=arn,
        Message="<b>second</b>",
        MessageAttributes={"status": {"DataType": "String", "StringValue": "failed"}},
    )
    # WHEN the console reads SNS
    topics = {topic["topic"]: topic for topic in sns_messages(limit=10)}
    # THEN each topic shows how many messages it got, and the latest first
    assert topics["quiet"]["total"] == 0
    outcome = topics["outcomes"]
    assert outcome["total"] == 2
    assert [(item["message"], item["subject"], item["attributes"]) for item in outcome["messages"]] == [
        ("<b>second</b>", None, {"status": "failed"}),
        ("first", "done", {}),
    ]


def test_a_topics_messages_are_cut_to_the_latest_but_counted_in_full(aws: Clients) -> None:
    # GIVEN a topic with three messages
    sns = aws("sns")
    arn = sns.create_topic(Name="busy")["TopicArn"]
    for number in range(3):
        sns.publish(TopicArn=arn, Message=f"message {number}")
    # WHEN the console reads two per topic
    (topic,) = sns_messages(limit=2)
    # THEN it shows the latest two and says there are three
    assert (topic["total"], [item["message"] for item in topic["messages"]]) == (
        3,
        ["message 2", "message 1"],
    )


def test_an_email_ses_sent_shows_its_sender_recipients_subject_and_body(aws: Clients) -> None:
    # GIVEN SES sent a simple email in one region and a raw MIME email in another
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="batch@example.com")
    ses.send_email(
        Source="batch@example.com",
        Destination={"ToAddresses": ["ana@example.com"], "CcAddresses": ["ops@example.com"]},
        Message={"Subject": {"Data": "Batch sales.csv done"}, "Body": {"Text": {"Data": "Download: link"}}},
    )
    raw = EmailMessage()
    raw["Subject"], raw["From"], raw["To"] = "Raw report", "batch@example.com", "bo@example.com"
    raw.set_content("Plain text part")
    raw.add_alternative("<p>HTML part</p>", subtype="html")
    other_ses = aws("ses", OTHER_REGION)
    other_ses.verify_email_identity(EmailAddress="batch@example.com")
    other_ses.send_raw_email(RawMessage={"Data": raw.as_bytes()})
    # WHEN the console reads the sent emails
    sent = sent_emails(limit=10)
    # THEN both show, each with what was sent, the plain-text part of the raw one as its body
    assert sent["total"] == 2
    shown = {email["subject"]: email for email in sent["emails"]}
    simple = shown["Batch sales.csv done"]
    assert (simple["source"], simple["to"], simple["body"], simple["region"]) == (
        "batch@example.com",
        ["ana@example.com", "ops@example.com"],
        "Download: link",
        REGION,
    )
    assert (shown["Raw report"]["to"], shown["Raw report"]["body"].strip()) == (
        ["bo@example.com"],
        "Plain text part",
    )


# ---------------------------------------------------------------------------------------- Lambda logs
def create_function(aws: Clients, name: str) -> Any:
    """A function (never invoked) and its moto model."""
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # an empty zip: it is never run
    )
    return lambda_backends[ACCOUNT_ID][REGION].get_function(name)


def test_a_functions_latest_log_events_show_oldest_first_across_its_streams(aws: Clients) -> None:
    # GIVEN a function whose log group holds five events in two streams (one per invocation), and a
    # function that never logged
    create_function(aws, "worker")
    create_function(aws, "idle")
    logs = aws("logs")
    logs.create_log_group(logGroupName="/aws/lambda/worker")
    # (recent times: CloudWatch Logs drops events older than its retention window)
    start = int(datetime.datetime.now(tz=datetime.UTC).timestamp()) * 1000
    for stream, times in (("first", [start + 1, start + 3, start + 5]), ("second", [start + 2, start + 4])):
        logs.create_log_stream(logGroupName="/aws/lambda/worker", logStreamName=stream)
        logs.put_log_events(
            logGroupName="/aws/lambda/worker",
            logStreamName=stream,
            logEvents=[{"timestamp": moment, "message": f"line at {moment}\n"} for moment in times],
        )
    # WHEN the console reads the latest three events per function
    functions = {function["function"]: function for function in lambda_logs(limit=3)}
    # THEN the worker shows its last three by time, oldest first, and how many it has
    worker = functions["worker"]
    assert (worker["logGroup"], worker["total"]) == ("/aws/lambda/worker", 5)
    assert [event["message"] for event in worker["events"]] == [f"line at {start + ms}" for ms in (3, 4, 5)]
    third = datetime.datetime.fromtimestamp((start + 3) / 1000, tz=datetime.UTC)
    assert worker["events"][0]["timestamp"] == third.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # AND the idle function shows with nothing logged
    assert (functions["idle"]["total"], functions["idle"]["events"]) == (0, [])


# -------------------------------------------------------------------------------------- Step Functions
FAILING_MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"ready": True}, "Next": "Give up"},
        "Give up": {"Type": "Fail", "Error": "BatchFailed", "Cause": "the header is missing"},
    },
}


def run_to_the_end(aws: Clients, definition: dict[str, Any], name: str) -> str:
    """Start an execution of a new machine and wait for its interpreter thread; its ARN."""
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role["Arn"])
    arn: str = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")["executionArn"]
    for thread in list(TMP_THREADS):
        thread.join(WORKER_JOIN_SECONDS)
    return arn


def test_executions_show_per_state_machine_with_their_status_and_error(aws: Clients) -> None:
    # GIVEN a machine whose execution failed, and a machine never run
    arn = run_to_the_end(aws, FAILING_MACHINE, "batch")
    role = aws("iam").get_role(RoleName="batch-role")["Role"]["Arn"]
    aws("stepfunctions").create_state_machine(
        name="unused", definition=json.dumps(FAILING_MACHINE), roleArn=role
    )
    # WHEN the console reads the executions
    machines = {machine["name"]: machine for machine in state_machines(limit=10)}
    # THEN the failed execution shows with its status, times, error and cause
    (execution,) = machines["batch"]["executions"]
    assert (execution["arn"], execution["name"], execution["status"]) == (arn, "run-1", "FAILED")
    assert execution["started"] and execution["stopped"] and execution["started"] <= execution["stopped"]
    assert (execution["error"], execution["cause"]) == ("BatchFailed", "the header is missing")
    # AND the machine never run shows with none
    assert (machines["unused"]["total"], machines["unused"]["executions"]) == (0, [])


def test_an_executions_history_names_each_events_state_and_the_failure(aws: Clients) -> None:
    # GIVEN an execution that passed one state and failed in the next
    arn = run_to_the_end(aws, FAILING_MACHINE, "chunk")
    # WHEN the console reads its history
    history = execution_history(arn)
    # THEN the events come oldest first, each with the state it belongs to
    assert history is not None and history["machine"] == "chunk"
    rows = [(event["type"], event["state"]) for event in history["events"]]
    assert rows == [
        ("ExecutionStarted", None),
        ("PassStateEntered", "Prepare"),
        ("PassStateExited", "Prepare"),
        ("FailStateEntered", "Give up"),
        ("ExecutionFailed", "Give up"),
    ]
    # AND the failure carries its error and cause
    failed = history["events"][-1]
    assert (failed["error"], failed["cause"]) == ("BatchFailed", "the header is missing")


def test_an_unknown_execution_has_no_history(aws: Clients) -> None:
    run_to_the_end(aws, FAILING_MACHINE, "known")
    assert execution_history(f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:known:other-run") is None


# ------------------------------------------------------------------------------------------- snapshot
def test_the_snapshot_holds_every_part_and_its_json_carries_no_markup(aws: Clients) -> None:
    # GIVEN a topic that received a message written to break out of a page
    sns = aws("sns")
    hostile = '</script><img src=x onerror="alert(1)">&amp;'
    sns.publish(TopicArn=sns.create_topic(Name="alerts")["TopicArn"], Message=hostile)
    # WHEN the console takes its snapshot and encodes it
    taken = state.snapshot(stack="local", exports={"bucket": "b-1", "regions": ["us-east-1"]}, resources=[])
    encoded = state.to_json(taken)
    # THEN every part is there, none failed
    assert taken["errors"] == {}
    assert taken["outputs"] == [
        {"name": "bucket", "value": "b-1"},
        {"name": "regions", "value": '["us-east-1"]'},
    ]
    # AND the JSON holds no <, > or &, yet decodes to the message as published
    assert not {"<", ">", "&"} & set(encoded.decode())
    decoded = json.loads(encoded)
    assert decoded["topics"][0]["messages"][0]["message"] == hostile


def test_a_part_that_cannot_be_read_is_named_while_the_others_show(
    aws: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SES's model cannot be read (a moto that changed shape)
    def unreadable(limit: int) -> Any:
        raise AttributeError("'SESBackend' object has no attribute 'sent_messages'")

    monkeypatch.setattr(state, "sent_emails", unreadable)
    # WHEN the console takes its snapshot
    taken = state.snapshot(stack="local", exports={"bucket": "b-1"}, resources=[])
    # THEN the emails part says why it is missing, and the others are there
    assert taken["emails"] is None
    assert taken["errors"] == {
        "emails": "AttributeError: 'SESBackend' object has no attribute 'sent_messages'"
    }
    assert taken["outputs"] == [{"name": "bucket", "value": "b-1"}]
