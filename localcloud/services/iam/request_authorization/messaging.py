"""SQS, SNS, EventBridge and SES (v1 and v2).

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.services.iam.request_authorization.model import (
    Call,
    Check,
    Rule,
    Service,
    anywhere,
    each,
    on,
    param,
    uniform,
    unique,
)

# -- SQS ----------------------------------------------------------------------------------------------

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com; a local host (localcloud's) names no region.
_QUEUE_HOST_REGION = re.compile(rf"(?:^|\.)sqs\.(?P<modern>{_REGION})\.|^(?P<legacy>{_REGION})\.queue\.")


def queue_arn(call: Call, queue_url: str | None) -> str | None:
    """arn:aws:sqs:REGION:ACCOUNT:NAME from http(s)://host[:port]/ACCOUNT/NAME, AWS's or localcloud's."""
    if not queue_url:
        return None
    parts = urlsplit(queue_url)
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if not segments:
        return None
    account = segments[-2] if len(segments) >= 2 else call.account
    found = _QUEUE_HOST_REGION.search(parts.hostname or "")
    region = (found.group("modern") or found.group("legacy")) if found else call.region
    return call.arn("sqs", segments[-1], region=region, account=account)


def _queue(action: str | None = None) -> Rule:
    """The queue of QueueUrl; query-protocol clients may instead post to the queue's URL (/ACCOUNT/NAME)."""
    return on(lambda call: queue_arn(call, call.text("QueueUrl") or urlsplit(call.request.path).path), action)


def _create_queue(call: Call) -> list[Check]:
    name = call.text("QueueName")
    queue = call.arn("sqs", name) if name else None
    # Tagging a queue as it is created needs sqs:TagQueue too (JSON: tags; query: Tag.N.Key).
    tagged = call.has("tags") or call.has("Tag")
    return [call.check(queue), *([call.check(queue, "TagQueue")] if tagged else [])]


def _queue_by_name(call: Call) -> str | None:
    name = call.text("QueueName")
    return call.arn("sqs", name, account=call.text("QueueOwnerAWSAccountId")) if name else None


_QUEUE_OPERATIONS = (
    *("SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "PurgeQueue"),
    *("GetQueueAttributes", "SetQueueAttributes", "DeleteQueue", "ListDeadLetterSourceQueues"),
    *("ListQueueTags", "TagQueue", "UntagQueue", "AddPermission", "RemovePermission"),
)
_SQS_RULES: dict[str, Rule] = {
    **uniform(_QUEUE_OPERATIONS, _queue()),
    "SendMessageBatch": _queue("SendMessage"),
    "DeleteMessageBatch": _queue("DeleteMessage"),
    "ChangeMessageVisibilityBatch": _queue("ChangeMessageVisibility"),
    "CreateQueue": _create_queue,
    "GetQueueUrl": on(_queue_by_name),
    "ListQueues": anywhere(),
    **uniform(("StartMessageMoveTask", "ListMessageMoveTasks"), on(param("SourceArn"))),
    "CancelMessageMoveTask": anywhere(),  # its TaskHandle is opaque
}

# -- SNS ----------------------------------------------------------------------------------------------


def _subscription_topic(call: Call) -> str | None:
    """A subscription is authorized on its topic: arn:aws:sns:R:A:TOPIC:SUBSCRIPTION-ID -> ...:TOPIC."""
    subscription = call.text("SubscriptionArn") or ""
    return (
        subscription.rpartition(":")[0]
        if subscription.startswith("arn:") and subscription.count(":") >= 6
        else None
    )


def _create_topic(call: Call) -> list[Check]:
    name = call.text("Name")
    topic = call.arn("sns", name) if name else None
    return [call.check(topic), *([call.check(topic, "TagResource")] if call.has("Tags") else [])]


_TOPIC_OPERATIONS = (
    *("Subscribe", "ConfirmSubscription", "GetTopicAttributes", "SetTopicAttributes", "DeleteTopic"),
    *("ListSubscriptionsByTopic", "AddPermission", "RemovePermission"),
)
_SNS_RULES: dict[str, Rule] = {
    # Publish names a topic (TopicArn), a platform endpoint (TargetArn) or a phone number ("*").
    "Publish": on(param("TopicArn", "TargetArn")),
    "PublishBatch": on(param("TopicArn"), "Publish"),
    "CreateTopic": _create_topic,
    **uniform(_TOPIC_OPERATIONS, on(param("TopicArn"))),
    **uniform(
        ("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"), on(_subscription_topic)
    ),
    **uniform(("TagResource", "UntagResource", "ListTagsForResource"), on(param("ResourceArn"))),
    **uniform(("GetDataProtectionPolicy", "PutDataProtectionPolicy"), on(param("ResourceArn"))),
    **uniform(
        ("ListTopics", "ListSubscriptions", "ListPlatformApplications", "GetSMSAttributes"), anywhere()
    ),
    **uniform(("SetSMSAttributes", "CheckIfPhoneNumberIsOptedOut", "ListPhoneNumbersOptedOut"), anywhere()),
    **uniform(("OptInPhoneNumber", "GetSMSSandboxAccountStatus", "CreatePlatformApplication"), anywhere()),
}

# -- EventBridge --------------------------------------------------------------------------------------


def event_bus_arn(call: Call, bus: str | None) -> str:
    """A bus's ARN from its name or ARN; no name means the account's default bus."""
    if bus and bus.startswith("arn:"):
        return bus
    return call.arn("events", f"event-bus/{bus or 'default'}")


def _rule_arn(call: Call) -> str | None:
    """arn:aws:events:R:A:rule/NAME on the default bus, rule/BUS/NAME on a custom one."""
    name = call.text("Name", "Rule")
    if name is None or name.startswith("arn:"):
        return name
    scope, _, bus = event_bus_arn(call, call.text("EventBusName")).partition(":event-bus/")
    return f"{scope}:rule/{name}" if bus == "default" else f"{scope}:rule/{bus}/{name}"


def _entry_buses(call: Call) -> list[str]:
    entries = [entry for entry in call.items("Entries") if isinstance(entry, Mapping)] or [{}]
    return [event_bus_arn(call, entry.get("EventBusName")) for entry in entries]


def _put_targets(call: Call) -> list[Check]:
    roles = [target.get("RoleArn") for target in call.items("Targets") if isinstance(target, Mapping)]
    return [call.check(_rule_arn(call)), *unique(Check("iam:PassRole", role) for role in roles if role)]


_RULE_OPERATIONS = ("PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule")
_BUS_OPERATIONS = ("CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus")
_EVENTS_RULES: dict[str, Rule] = {
    "PutEvents": each(_entry_buses),
    **uniform(_RULE_OPERATIONS, on(_rule_arn)),
    **uniform(("ListTargetsByRule", "RemoveTargets"), on(_rule_arn)),
    "PutTargets": _put_targets,
    **uniform(_BUS_OPERATIONS, on(lambda call: event_bus_arn(call, call.text("Name")))),
    **uniform(
        ("PutPermission", "RemovePermission"), on(lambda call: event_bus_arn(call, call.text("EventBusName")))
    ),
    **uniform(("TagResource", "UntagResource", "ListTagsForResource"), on(param("ResourceARN"))),
    **uniform(("ListRules", "ListEventBuses", "ListRuleNamesByTarget", "TestEventPattern"), anywhere()),
}

# -- SES ----------------------------------------------------------------------------------------------


def _raw_sender(raw: Any) -> str | None:
    """The From header of a raw message (bytes, or base64 text as the query protocol carries it)."""
    data = raw.get("Data") if isinstance(raw, Mapping) else raw
    message: bytes | None = data if isinstance(data, bytes) else None
    if isinstance(data, str):
        try:
            message = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            message = data.encode()
    if message is None:
        return None
    sender = BytesHeaderParser().parsebytes(message).get("From")
    return str(sender) if sender else None


def identity_arn(call: Call, identity: str) -> str:
    """An email address or domain identity; a "Name <address>" sender is reduced to its address."""
    address = parseaddr(identity)[1] or identity
    return call.arn("ses", f"identity/{address}")


def _send(action: str) -> Rule:
    """Sending is authorized on the sender's identity (and on the configuration set, when one is named).

    The identity is the sending-authorization ARN if the request gives one (SourceArn, FromArn,
    FromEmailAddressIdentityArn), else the sender's *address* identity (Source / FromEmailAddress, or the
    raw message's From header). AWS checks whichever identity is verified for the sender, the address or its
    domain; without SES's state this module emits the address.
    """

    def rule(call: Call) -> list[Check]:
        content = call.value("Content")
        raw = content.get("Raw") if isinstance(content, Mapping) else None
        raw = raw if raw is not None else call.value("RawMessage") or call.nested("RawMessage", "Data")
        # SES v2's SendEmail with raw content is authorized as ses:SendRawEmail, as v1's SendRawEmail is.
        chosen = "SendRawEmail" if action == "SendEmail" and raw is not None else action
        identity = call.text("SourceArn", "FromArn", "FromEmailAddressIdentityArn")
        sender = call.text("Source", "FromEmailAddress") or (_raw_sender(raw) if raw is not None else None)
        checks = [call.check(identity or (identity_arn(call, sender) if sender else None), chosen)]
        configuration_set = call.text("ConfigurationSetName")
        if configuration_set:
            checks.append(call.check(call.arn("ses", f"configuration-set/{configuration_set}"), chosen))
        return checks

    return rule


def _configuration_set(call: Call) -> str | None:
    name = call.text("ConfigurationSetName") or call.nested("ConfigurationSet", "Name")
    return call.arn("ses", f"configuration-set/{name}") if isinstance(name, str) and name else None


def _identity(call: Call) -> str | None:
    identity = call.text("EmailIdentity", "Identity")
    return identity_arn(call, identity) if identity else None


_IDENTITY_OPERATIONS = (
    *("CreateEmailIdentity", "GetEmailIdentity", "DeleteEmailIdentity", "DeleteIdentity"),
    *("PutEmailIdentityDkimAttributes", "PutEmailIdentityFeedbackAttributes"),
    *("PutEmailIdentityMailFromAttributes", "PutEmailIdentityConfigurationSetAttributes"),
)
_CONFIGURATION_SET_OPERATIONS = ("CreateConfigurationSet", "GetConfigurationSet", "DeleteConfigurationSet")
_SES_ACCOUNT_OPERATIONS = (
    *("VerifyEmailIdentity", "VerifyEmailAddress", "VerifyDomainIdentity", "VerifyDomainDkim"),
    *("ListIdentities", "ListVerifiedEmailAddresses", "GetIdentityVerificationAttributes"),
    *("GetSendQuota", "GetSendStatistics", "GetAccount", "ListEmailIdentities", "ListConfigurationSets"),
)
_SES_RULES: dict[str, Rule] = {
    # v1 and v2 share the ses prefix and are served by the same endpoints: one table for both.
    **{operation: _send(operation) for operation in ("SendEmail", "SendRawEmail", "SendTemplatedEmail")},
    **{operation: _send(operation) for operation in ("SendBulkTemplatedEmail", "SendBulkEmail")},
    **uniform(_IDENTITY_OPERATIONS, on(_identity)),
    **uniform(_CONFIGURATION_SET_OPERATIONS, on(_configuration_set)),
    **uniform(_SES_ACCOUNT_OPERATIONS, anywhere()),
}

SERVICES = {
    "sqs": Service("sqs", _SQS_RULES),
    "sns": Service("sns", _SNS_RULES),
    "events": Service("events", _EVENTS_RULES),
    "ses": Service("ses", _SES_RULES),
    "sesv2": Service("ses", _SES_RULES),
}
