"""localcloud's Lambda runtime runs deployed handlers as AWS does, on every invocation path."""

from __future__ import annotations

import json
import os
import threading
import uuid

import pytest
from moto.awslambda.exceptions import UnknownFunctionException

from localcloud.services.lambda_.runtime import InvocationResult
from tests.unit.localcloud.conftest import REGION, create_queue, drain, wait_for

ALWAYS_FAILS = """
def handler(event, context):
    record(event)
    raise KeyError("no such rule")
"""


def allow_service(emulator, fn, service, source_arn):
    """The permission a trigger needs: the service may invoke the function for this source."""
    emulator.client("lambda", REGION).add_permission(
        FunctionName=fn.name,
        StatementId=f"{service.split('.')[0]}-invoke",
        Action="lambda:InvokeFunction",
        Principal=service,
        SourceArn=source_arn,
    )


def sends_to(queue_arn):
    """What Lambda needs of a function's role to deliver its dead letters: it sends them as that role."""
    return {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}


def invoke(emulator, name, event=None):
    response = emulator.client("lambda", REGION).invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_direct_invoke_returns_the_handlers_result(emulator, deploy):
    fn = deploy("""
        def handler(event, context):
            return {"doubled": event["n"] * 2, "function": context.function_name}
    """)
    error, payload = invoke(emulator, fn.name, {"n": 21})
    assert error is None
    assert payload == {"doubled": 42, "function": fn.name}


def test_handler_exception_gives_error_type_and_message(emulator, deploy):
    fn = deploy("""
        class RuleNotFound(Exception):
            pass
        def handler(event, context):
            raise RuleNotFound("rule 'orders-v2' not found")
    """)
    error, payload = invoke(emulator, fn.name)
    assert error == "Unhandled"
    assert payload["errorType"] == "RuleNotFound"
    assert payload["errorMessage"] == "rule 'orders-v2' not found"
    # AND the runtime API reports the same
    result = emulator.lambda_runtime.invoke(fn.name, REGION, {})
    assert (result.error_type, result.error_message) == ("RuleNotFound", "rule 'orders-v2' not found")


def test_timeout_kills_the_invocation_and_the_next_one_gets_a_fresh_environment(emulator, deploy):
    # GIVEN a function with a 1 s timeout that, when asked, records its process and sleeps 30 s
    fn = deploy(
        """
        import os, time
        def handler(event, context):
            if event.get("sleep"):
                record(os.getpid())
                time.sleep(30)
                record("woke")
            return os.getpid()
        """,
        timeout=1,
    )
    # WHEN it is invoked to sleep
    error, payload = invoke(emulator, fn.name, {"sleep": True})
    # THEN the invocation fails as Lambda reports a timeout
    assert error == "Unhandled"
    assert payload == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds"}
    # AND the environment that ran it is gone: its process was killed mid-sleep (and reaped)
    [timed_out_pid] = fn.records()
    assert timed_out_pid not in emulator.lambda_runtime.worker_pids()
    with pytest.raises(ProcessLookupError):
        os.kill(timed_out_pid, 0)
    # AND the next invocation runs in a fresh one, and the killed handler never woke to finish
    error, fresh_pid = invoke(emulator, fn.name)
    assert error is None and fresh_pid != timed_out_pid
    assert fn.records() == [timed_out_pid]


def test_handler_sees_its_environment_and_can_call_the_emulator(emulator, deploy):
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    emulator.client("s3", REGION).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    fn = deploy(
        """
        import os, boto3
        def handler(event, context):
            s3 = boto3.client("s3")
            s3.put_object(Bucket=os.environ["BUCKET"], Key="from-lambda", Body=b"hi")
            return {name: os.environ.get(name) for name in
                    ("BUCKET", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                     "POWERTOOLS_TRACE_DISABLED")}
        """,
        env={"BUCKET": bucket},
        permissions=[{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    )
    error, payload = invoke(emulator, fn.name)
    assert error is None, payload
    assert payload == {
        "BUCKET": bucket,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    body = emulator.client("s3", REGION).get_object(Bucket=bucket, Key="from-lambda")["Body"].read()
    assert body == b"hi"


def _log_messages(emulator, group):
    logs = emulator.client("logs", REGION)
    events = logs.filter_log_events(logGroupName=group)["events"]
    return [event["message"] for event in events]


def test_logs_land_in_the_functions_log_group(emulator, deploy):
    source = """
        def handler(event, context):
            print("processing", event["id"])
            return None
    """
    default = deploy(source)
    custom = deploy(source, LoggingConfig={"LogFormat": "Text", "LogGroup": "/regionflow/custom"})
    invoke(emulator, default.name, {"id": "first"})
    invoke(emulator, custom.name, {"id": "second"})
    assert "processing first" in _log_messages(emulator, f"/aws/lambda/{default.name}")
    assert "processing second" in _log_messages(emulator, "/regionflow/custom")
    config = emulator.client("lambda", REGION).get_function_configuration(FunctionName=custom.name)
    assert config["LoggingConfig"]["LogGroup"] == "/regionflow/custom"


def test_second_invoke_reuses_the_warm_environment(emulator, deploy):
    fn = deploy("""
        import os
        imports = 0
        imports += 1
        calls = 0
        def handler(event, context):
            global calls
            calls += 1
            return {"imports": imports, "calls": calls, "pid": os.getpid()}
    """)
    _, first = invoke(emulator, fn.name)
    _, second = invoke(emulator, fn.name)
    assert (first["imports"], first["calls"]) == (1, 1)
    assert (second["imports"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"]


SLOW_PID = """
    import os, time
    def handler(event, context):
        time.sleep(0.3)
        return os.getpid()
"""


def _invoke_in_parallel(emulator, name, count):
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(emulator.lambda_runtime.invoke(name, REGION, {})))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == count and not any(r.failed for r in results)
    return {r.payload for r in results}


def test_reserved_concurrency_caps_parallel_environments(emulator, deploy):
    fn = deploy(SLOW_PID)
    emulator.client("lambda", REGION).put_function_concurrency(
        FunctionName=fn.name, ReservedConcurrentExecutions=2
    )
    pids = _invoke_in_parallel(emulator, fn.name, 6)
    assert len(pids) == 2


def test_default_concurrency_cap_applies_without_reserved_concurrency(emulator, deploy, monkeypatch):
    monkeypatch.setattr(emulator.lambda_runtime, "concurrency_per_function", 3)
    fn = deploy(SLOW_PID)
    pids = _invoke_in_parallel(emulator, fn.name, 8)
    assert 2 <= len(pids) <= 3


def test_async_invoke_retries_twice_then_calls_on_failure_and_the_dlq(emulator, deploy):
    dlq_url, dlq_arn = create_queue(emulator, f"dlq-{uuid.uuid4().hex[:8]}")
    fn = deploy(ALWAYS_FAILS, DeadLetterConfig={"TargetArn": dlq_arn}, permissions=[sends_to(dlq_arn)])
    failures = []
    future = emulator.lambda_runtime.invoke_async(
        fn.name, REGION, {"order": 7}, on_failure=lambda event, result: failures.append((event, result))
    )
    result = future.result(timeout=20)
    assert result.error_type == "KeyError"
    assert fn.records() == [{"order": 7}] * 3  # the first attempt and two retries
    assert failures == [({"order": 7}, result)]
    [message] = drain(emulator, dlq_url, expected=1)
    assert json.loads(message["Body"]) == {"order": 7}
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "200"
    assert "no such rule" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]


# A handler that cannot finish before the test opens its gate (creates GATE_FILE): an invocation that answers
# while the gate is shut was not waiting for its handler.
GATED = """
    import os, time
    def handler(event, context):
        while not os.path.exists(os.environ["GATE_FILE"]):
            time.sleep(0.01)
"""


def test_event_invocation_type_is_queued_not_run_inline(emulator, deploy, tmp_path):
    # GIVEN a function that waits for a gate the test opens
    gate = tmp_path / "gate"
    fn = deploy(GATED + "        record(event)\n", timeout=10, env={"GATE_FILE": str(gate)})
    # WHEN it is invoked with InvocationType=Event while the gate is shut
    response = emulator.client("lambda", REGION).invoke(
        FunctionName=fn.name, InvocationType="Event", Payload=json.dumps({"k": 1})
    )
    # THEN 202 comes back while the handler is still waiting: queued, in flight, and not finished
    assert response["StatusCode"] == 202
    assert emulator.lambda_runtime.busy and fn.records() == []
    # AND once the gate opens the queued invocation runs to the end
    gate.touch()
    wait_for(lambda: fn.records() == [{"k": 1}], what="the queued invocation")


def test_s3_notification_is_async_retried_and_dead_lettered(emulator, deploy, tmp_path):
    # GIVEN a function that fails every event, once a gate the test opens is open
    gate = tmp_path / "gate"
    dlq_url, dlq_arn = create_queue(emulator, f"dlq-{uuid.uuid4().hex[:8]}")
    fn = deploy(
        GATED
        + """
        record(event["Records"][0]["s3"]["object"]["key"])
        raise RuntimeError("cannot parse upload")
        """,
        timeout=10,
        env={"GATE_FILE": str(gate)},
        DeadLetterConfig={"TargetArn": dlq_arn},
        permissions=[sends_to(dlq_arn)],
    )
    s3 = emulator.client("s3", REGION)
    bucket = f"uploads-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    allow_service(emulator, fn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn.arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    # WHEN an object is put while the gate is shut
    s3.put_object(Bucket=bucket, Key="a.xml", Body=b"<a/>")
    # THEN put_object has answered while the notified function is still waiting: S3 does not wait for it
    assert emulator.lambda_runtime.busy and fn.records() == []
    # AND once the gate opens, the event is tried three times and then dead-lettered
    gate.touch()
    [message] = drain(emulator, dlq_url, expected=1, timeout=20)
    assert fn.records() == ["a.xml"] * 3
    event = json.loads(message["Body"])
    assert event["Records"][0]["s3"]["bucket"]["name"] == bucket


def test_sns_delivers_the_real_notification_asynchronously(emulator, deploy):
    fn = deploy("""
        def handler(event, context):
            sns = event["Records"][0]["Sns"]
            record({"topic": sns["TopicArn"], "message": sns["Message"], "subject": sns["Subject"],
                    "attrs": sns["MessageAttributes"]})
    """)
    sns = emulator.client("sns", REGION)
    topic_arn = sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    allow_service(emulator, fn, "sns.amazonaws.com", topic_arn)
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=fn.arn)
    sns.publish(
        TopicArn=topic_arn,
        Message="disk full",
        Subject="ops",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )
    [delivered] = wait_for(fn.records, what="the SNS delivery")
    assert delivered == {
        "topic": topic_arn,
        "message": "disk full",
        "subject": "ops",
        "attrs": {"severity": {"Type": "String", "Value": "high"}},
    }


def test_unknown_function_is_a_clear_error(emulator):
    with pytest.raises(UnknownFunctionException, match=r"Function not found: .*does-not-exist"):
        emulator.lambda_runtime.invoke("does-not-exist", REGION, {})


RETURNS_BYTES = """
def handler(event, context):
    return "x" * event["size"]
"""


def test_a_response_over_6_mb_is_lambdas_response_size_error_and_one_under_is_returned(emulator, deploy):
    fn = deploy(RETURNS_BYTES, timeout=10)
    limit = 6_291_556  # bytes, as Lambda's error message states
    # WHEN the serialised result ("..." with its two quotes) is just under the limit THEN it is returned
    error, payload = invoke(emulator, fn.name, {"size": limit - 2})
    assert error is None and len(payload) == limit - 2, str(payload)[:300]
    # WHEN it is one byte over THEN the invocation fails as Lambda's does
    error, payload = invoke(emulator, fn.name, {"size": limit - 1})
    assert error == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"


@pytest.mark.parametrize("permitted_source", [None, "arn:aws:sns:eu-west-1:123456789012:another-topic"])
def test_sns_does_not_invoke_a_function_whose_policy_does_not_let_it(emulator, deploy, permitted_source):
    # GIVEN a function subscribed to a topic, without a permission for SNS, or with one for another topic
    fn = deploy("""
        def handler(event, context):
            record(event["Records"][0]["Sns"]["Message"])
    """)
    watcher = deploy("""
        def handler(event, context):
            record(event["Records"][0]["Sns"]["Message"])
    """)
    sns = emulator.client("sns", REGION)
    topic_arn = sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    if permitted_source:
        allow_service(emulator, fn, "sns.amazonaws.com", permitted_source)
    allow_service(emulator, watcher, "sns.amazonaws.com", topic_arn)
    for subscriber in (fn, watcher):
        sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=subscriber.arn)
    denials_before = len(emulator.iam.denials)
    # WHEN a message is published (and the permitted watcher has received it)
    sns.publish(TopicArn=topic_arn, Message="disk full")
    wait_for(watcher.records, what="the permitted delivery")
    # THEN the function without the permission never ran, and the refusal is an IAM denial naming SNS
    assert fn.records() == []
    [denial] = emulator.iam.denials[denials_before:]
    refused = (denial.principal, denial.action, denial.resource)
    assert refused == ("sns.amazonaws.com", "lambda:InvokeFunction", fn.arn)


@pytest.mark.parametrize(("invocation_type", "limit"), [("RequestResponse", 6_291_456), ("Event", 1_048_576)])
def test_an_invoke_request_over_lambdas_payload_limit_is_refused_with_413(
    emulator, deploy, invocation_type, limit
):
    # GIVEN a function, and payloads of exactly the limit and one byte more (JSON strings: 2 bytes of quotes)
    fn = deploy("""
        def handler(event, context):
            record(len(event))
            return len(event)
    """)
    lambda_client = emulator.client("lambda", REGION)
    at_limit = json.dumps("x" * (limit - 2))
    over_limit = json.dumps("x" * (limit - 1))
    assert (len(at_limit), len(over_limit)) == (limit, limit + 1)

    # WHEN the payload is at the limit THEN Lambda accepts it
    accepted = lambda_client.invoke(FunctionName=fn.name, InvocationType=invocation_type, Payload=at_limit)
    assert accepted["StatusCode"] in {200, 202}
    wait_for(fn.records, what="the accepted invocation")

    # WHEN it is one byte over THEN Invoke answers 413 RequestTooLargeException naming the limit
    with pytest.raises(
        lambda_client.exceptions.RequestTooLargeException, match=f"smaller than {limit} bytes"
    ):
        lambda_client.invoke(FunctionName=fn.name, InvocationType=invocation_type, Payload=over_limit)
    assert fn.records() == [limit - 2]


def test_dead_letters_are_sent_as_the_functions_role_so_a_role_that_may_not_send_loses_them(emulator, deploy):
    # GIVEN a failing function with a dead-letter queue its role may not send to
    dlq_url, dlq_arn = create_queue(emulator, f"dlq-{uuid.uuid4().hex[:8]}")
    fn = deploy(ALWAYS_FAILS, DeadLetterConfig={"TargetArn": dlq_arn}, permissions=[])
    denials_before = len(emulator.iam.denials)

    # WHEN an asynchronous invocation fails for good (three attempts)
    emulator.client("lambda", REGION).invoke(FunctionName=fn.name, InvocationType="Event", Payload=b"{}")
    wait_for(lambda: len(fn.records()) == 3, what="three attempts")

    # THEN the send to the DLQ is denied as the role's, as AWS denies it, and the queue stays empty
    denial = wait_for(
        lambda: next((d for d in emulator.iam.denials[denials_before:] if d.resource == dlq_arn), None),
        what="the denied dead letter",
    )
    assert denial.action == "sqs:SendMessage" and f"/{fn.name}" in denial.principal
    attributes = emulator.client("sqs", REGION).get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
