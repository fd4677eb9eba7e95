"""Nothing fails unseen: every dead-letter queue and every workflow alarms to its system's alarm topic.

The dead-letter queues are found in the recorded resources, not listed here: a queue another queue
redrives to, a function's asynchronous DLQ, a stream mapping's on-failure destination, and any queue no
event source mapping reads (nothing drains it, so whatever lands there waits for a person). A new one
without an alarm fails these tests.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.core.recording import ACCOUNT_ID, BuiltStack, RecordedResource, build_stack

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KEY = "aws:kms/key:Key"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
# Components whose alarms go to another system's topic: the failover runbook fails batch over.
ALARM_OWNER = {"failover": "batch"}
# "> 0 in the last minute", quiet when there is no data: what every alarm of the program means.
FIRST_BAD_MINUTE = {
    "period": 60.0,
    "evaluationPeriods": 1.0,
    "threshold": 0.0,
    "comparisonOperator": "GreaterThanThreshold",
    "treatMissingData": "notBreaching",
}


def dead_letter_queues(stack: BuiltStack) -> list[RecordedResource]:
    queues = stack.resources_of(QUEUE)
    mappings = stack.resources_of(MAPPING)
    targets: set[str] = set()
    for queue in queues:
        if queue.inputs.get("redrivePolicy"):
            targets.add(json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"])
    for function in stack.resources_of(FUNCTION):
        targets.add((function.inputs.get("deadLetterConfig") or {}).get("targetArn", ""))
    for mapping in mappings:
        on_failure = (mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}
        targets.add(on_failure.get("destinationArn", ""))
    polled = {mapping.inputs["eventSourceArn"] for mapping in mappings}
    targets |= {queue.outputs["arn"] for queue in queues if queue.outputs["arn"] not in polled}
    return [queue for queue in queues if queue.outputs["arn"] in targets]


def system_of(resource: RecordedResource) -> str:
    """The system a resource belongs to: its logical name's first word (transform-buffer-dlq -> transform)."""
    first = resource.name.split("-", 1)[0]
    return ALARM_OWNER.get(first, first)


def alarms_on(stack: BuiltStack, dimension: str, value: str) -> list[RecordedResource]:
    return [
        alarm for alarm in stack.resources_of(ALARM) if alarm.inputs["dimensions"].get(dimension) == value
    ]


def the_alarm_topic_of(stack: BuiltStack, system: str, region: str | None) -> RecordedResource:
    """The system's alarm topic in a region: `<system>[-<region>]-alarms`."""
    [topic] = [
        topic
        for topic in stack.resources_of(TOPIC, f"{system}-")
        if topic.name.endswith("-alarms") and topic.region == region
    ]
    return topic


def assert_alarms_first_bad_minute(alarm: dict[str, Any]) -> None:
    assert {key: alarm[key] for key in FIRST_BAD_MINUTE} == FIRST_BAD_MINUTE


def test_the_dead_letter_queues_found_include_every_one_the_program_exports(stack: BuiltStack) -> None:
    # GIVEN the program's exported dead-letter queue URLs (the derivation must not silently find none)
    exported = [
        stack.exports["transformDlqUrl"],
        stack.exports["artifactBuildDlqUrl"],
        stack.exports["auditDlqUrl"],
        *stack.exports["eventsDlqUrls"].values(),
    ]
    # WHEN the dead-letter queues are derived from the recorded resources
    found = {queue.outputs["url"] for queue in dead_letter_queues(stack)}
    # THEN each exported one is among them, as are the Lambda asynchronous DLQs of artifacts and batch
    assert set(exported) <= found
    names = {queue.name for queue in dead_letter_queues(stack)}
    assert {name for name in names if "async-dlq" in name or "trigger-dlq" in name}
    # AND the queues functions consume are not dead-letter queues
    assert not names & {"transform-buffer-queue", "artifacts-builds-queue"}


def test_every_dead_letter_queue_has_exactly_one_alarm_on_any_visible_message(stack: BuiltStack) -> None:
    for queue in dead_letter_queues(stack):
        # GIVEN a dead-letter queue of the program
        # WHEN its alarms are looked up by queue name
        alarms = alarms_on(stack, "QueueName", queue.outputs["name"])
        # THEN exactly one watches it, in its region: any visible message for a minute fires it
        assert len(alarms) == 1, f"{queue.name} has {len(alarms)} alarms"
        alarm = alarms[0].inputs
        assert alarms[0].region == queue.region
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        )
        assert_alarms_first_bad_minute(alarm)
        # AND it notifies the owning system's alarm topic in the queue's region
        topic = the_alarm_topic_of(stack, system_of(queue), queue.region)
        assert alarm["alarmActions"] == [topic.outputs["arn"]], queue.name


def test_every_state_machine_has_an_alarm_on_failed_executions(stack: BuiltStack) -> None:
    machines = stack.resources_of(STATE_MACHINE)
    assert machines
    for machine in machines:
        # GIVEN a state machine of the program (batch, chunks, file distribution, audit, events, runbooks)
        # WHEN its alarms are looked up by ARN
        alarms = alarms_on(stack, "StateMachineArn", machine.outputs["arn"])
        # THEN exactly one fires on any failed execution in the last minute
        assert len(alarms) == 1, f"{machine.name} has {len(alarms)} alarms"
        alarm = alarms[0].inputs
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            "AWS/States",
            "ExecutionsFailed",
            "Sum",
        )
        assert_alarms_first_bad_minute(alarm)
        # AND it notifies the owning system's alarm topic in the machine's region
        topic = the_alarm_topic_of(stack, system_of(machine), machine.region)
        assert alarm["alarmActions"] == [topic.outputs["arn"]], machine.name


def test_transforms_api_functions_alarm_on_errors_as_it_has_no_workflow(stack: BuiltStack) -> None:
    # GIVEN the transform pipeline, whose API functions answer callers directly (no state machine)
    for role in ("upload", "status"):
        function = stack.named(f"transform-{role}-function")
        # WHEN its alarms are looked up by function name
        alarms = alarms_on(stack, "FunctionName", function.outputs["name"])
        # THEN one fires on any error in the last minute, to the transform alarm topic
        assert len(alarms) == 1
        alarm = alarms[0].inputs
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            "AWS/Lambda",
            "Errors",
            "Sum",
        )
        assert_alarms_first_bad_minute(alarm)
        assert alarm["alarmActions"] == [
            the_alarm_topic_of(stack, "transform", function.region).outputs["arn"]
        ]


def test_every_alarm_notifies_a_topic_cloudwatch_can_publish_to_in_its_own_region(stack: BuiltStack) -> None:
    topics = {topic.outputs["arn"]: topic for topic in stack.resources_of(TOPIC)}
    policies = {policy.inputs["arn"]: policy for policy in stack.resources_of(TOPIC_POLICY)}
    keys = {key.outputs["arn"]: key for key in stack.resources_of(KEY)}
    for alarm in stack.resources_of(ALARM):
        # GIVEN an alarm and the topic it notifies
        [action] = alarm.inputs["alarmActions"]
        topic = topics[action]
        # THEN the topic is in the alarm's region (CloudWatch notifies no other)
        assert topic.region == alarm.region, alarm.name
        # AND it is encrypted with a key CloudWatch may use (not alias/aws/sns, which it cannot)
        key_statements = json.loads(keys[topic.inputs["kmsMasterKeyId"]].inputs["policy"])["Statement"]
        cloudwatch_key_use = [
            grant for grant in key_statements if grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        ]
        assert cloudwatch_key_use, alarm.name
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch_key_use[0]["Action"])
        # AND its policy lets CloudWatch publish for this account's alarms in that region only
        # (the CloudWatch grant first, then the deny of anything not sent over TLS)
        statement, tls_only = json.loads(policies[action].inputs["policy"])["Statement"]
        assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
            "Allow",
            "sns:Publish",
            action,
        )
        assert statement["Condition"] == {
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{alarm.region}:{ACCOUNT_ID}:alarm:*"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        }


def test_each_systems_alarm_topic_reaches_that_systems_configured_addresses() -> None:
    # GIVEN an address per system in config (the stack files leave them empty)
    keys = {
        "transform": "transformNotifyEmails",
        "artifacts": "artifactFailureEmails",
        "batch": "batchAlarmEmails",
        "audit": "auditSubscriberEmails",
        "events": "eventsAlarmEmails",
    }
    stack = build_stack(
        "primary",
        {f"regionflow:{key}": json.dumps([f"{system}-ops@example.com"]) for system, key in keys.items()},
    )
    topics = {
        topic.outputs["arn"]: topic for topic in stack.resources_of(TOPIC) if topic.name.endswith("-alarms")
    }
    subscriptions = stack.resources_of("aws:sns/topicSubscription:TopicSubscription")
    for arn, topic in topics.items():
        # WHEN the subscriptions of an alarm topic are read
        endpoints = {sub.inputs["endpoint"] for sub in subscriptions if sub.inputs["topic"] == arn}
        # THEN its system's address is subscribed by email, and no other system's
        assert endpoints == {f"{system_of(topic)}-ops@example.com"}, topic.name
    assert {system_of(topic) for topic in topics.values()} == set(keys)


def test_every_cache_node_alarms_on_its_memory_before_it_is_full(primary_stack: BuiltStack) -> None:
    # The local stack names a Redis endpoint instead of a group: the AWS stack has the groups.
    stack = primary_stack
    groups = stack.resources_of("aws:elasticache/replicationGroup:ReplicationGroup")
    assert groups
    for group in groups:
        # GIVEN a replication group of the program, and the member clusters ElastiCache names for it
        members = [f"{group.name}-id-{n:03d}" for n in range(1, 1 + int(group.inputs["numCacheClusters"]))]
        for member in members:
            # WHEN the alarms on a member's memory are looked up
            alarms = [
                alarm.inputs
                for alarm in alarms_on(stack, "CacheClusterId", member)
                if alarm.inputs["metricName"] == "DatabaseMemoryUsagePercentage"
            ]
            # THEN exactly one fires on the node's highest reading in a minute over a threshold below 100%
            assert len(alarms) == 1, f"{member} has {len(alarms)} memory alarms"
            [alarm] = alarms
            assert (alarm["namespace"], alarm["statistic"]) == ("AWS/ElastiCache", "Maximum")
            assert alarm["comparisonOperator"] == "GreaterThanThreshold" and 0 < alarm["threshold"] < 100
            # AND it notifies the owning system's alarm topic in the group's region
            topic = the_alarm_topic_of(stack, system_of(group), group.region)
            assert alarm["alarmActions"] == [topic.outputs["arn"]], member
