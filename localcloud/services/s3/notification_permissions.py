"""S3 event notifications reach a queue or topic only as its policy allows, as on AWS (while an emulator
enforces IAM; moto alone keeps its own behaviour).

moto delivers a bucket's events to any queue or topic its configuration names. S3 sends them as the
service principal s3.amazonaws.com, so the queue's (sqs:SendMessage) or topic's (sns:Publish) policy must
allow that principal for the bucket (aws:SourceArn, aws:SourceAccount); otherwise S3 does not deliver.
Each decision is counted with the emulator's IAM decisions, a refusal as a denial naming the bucket.
Lambda targets are decided by the function's policy (lambda_/patches.py); EventBridge needs no policy.

AWS also checks every destination when the configuration is put, and refuses it (InvalidArgument, "Unable
to validate the following destination configurations") while a queue, topic or function does not yet let
S3 send; so does this, which catches a program that creates a notification before the permission it
needs (a `pulumi up` that fails, or fails sometimes, on AWS).
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.core.moto_version import applied_once
from localcloud.services.iam.enforcement import active, record_service_decision
from localcloud.services.iam.policy_evaluation import AuthorizationRequest, NamedPolicy, evaluate
from localcloud.services.lambda_.patches import active_runtime
from localcloud.services.s3 import patches as s3_patches

S3_SERVICE_PRINCIPAL = "s3.amazonaws.com"


def may_deliver(target_arn: str, target_policy: str | None, bucket_name: str, account: str) -> bool:
    """Whether S3 may send the bucket's events to the queue or topic `target_arn`, under its policy."""
    service = target_arn.split(":")[2]
    action = "sqs:SendMessage" if service == "sqs" else "sns:Publish"
    request = AuthorizationRequest(
        principal_arn=S3_SERVICE_PRINCIPAL,
        principal_account=account,
        action=action,
        resource=target_arn,
        service_principal=S3_SERVICE_PRINCIPAL,
        context={"aws:SourceArn": f"arn:aws:s3:::{bucket_name}", "aws:SourceAccount": account},
    )
    kind = "queue policy" if service == "sqs" else "topic policy"
    decision = evaluate(request, [], NamedPolicy(kind, target_policy) if target_policy else None)
    record_service_decision(S3_SERVICE_PRINCIPAL, action, target_arn, decision)
    return decision.allowed


def _target_policy(account: str, target_arn: str) -> str | None:
    service, region = target_arn.split(":")[2:4]
    if service == "sqs":
        from moto.sqs.models import sqs_backends  # noqa: PLC0415 - moto is slow to import

        queue = sqs_backends[account][region].queues.get(target_arn.rsplit(":", 1)[-1])
        policy = queue.policy if queue is not None else None
    else:
        from moto.sns.models import sns_backends  # noqa: PLC0415

        topic = sns_backends[account][region].topics.get(target_arn)
        policy = topic.policy if topic is not None else None
    return policy if policy is None or isinstance(policy, str) else json.dumps(policy)


def unvalidated_destinations(account: str, bucket_name: str, configuration: Any) -> list[str]:
    """The destinations of a notification configuration that do not let S3 send the bucket's events."""
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    refused = [
        target.arn
        for target in [*configuration.queue, *configuration.topic]
        if not may_deliver(target.arn, _target_policy(account, target.arn), bucket_name, account)
    ]
    runtime = active_runtime()
    refused += [
        function.arn
        for function in configuration.cloud_function
        if not runtime.service_may_invoke(
            function.arn, function.arn.split(":")[3], S3_SERVICE_PRINCIPAL, bucket_arn
        )
    ]
    return refused


@applied_once
def apply() -> None:
    """Idempotent: queue and topic notifications are delivered only where their policies allow S3."""
    from moto.s3 import notifications  # noqa: PLC0415
    from moto.s3.exceptions import S3ClientError  # noqa: PLC0415
    from moto.s3.models import FakeBucket, NotificationConfiguration  # noqa: PLC0415

    set_notification_configuration = FakeBucket.set_notification_configuration

    def validated_set_notification_configuration(self: Any, notification_config: Any) -> None:
        if notification_config and active() is not None:
            # Checked before moto stores it and sends its test events, as S3 validates first.
            proposed = NotificationConfiguration(
                topic=notification_config.get("TopicConfiguration"),
                queue=notification_config.get("QueueConfiguration"),
                cloud_function=notification_config.get("CloudFunctionConfiguration"),
                event_bridge=notification_config.get("EventBridgeConfiguration"),
            )
            refused = unvalidated_destinations(self.account_id, self.name, proposed)
            if refused:
                raise S3ClientError(
                    "InvalidArgument",
                    "Unable to validate the following destination configurations: "
                    + ", ".join(refused)
                    + " (their policies do not let s3.amazonaws.com send this bucket's events)",
                )
        set_notification_configuration(self, notification_config)

    original = notifications.send_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        # Once the request that wrote the version is done: moto calls this before it sets the
        # version's metadata and tags.
        if not s3_patches.after_this_write(lambda: send_event_now(account_id, event_name, bucket, key)):
            send_event_now(account_id, event_name, bucket, key)

    def send_event_now(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        # moto's send_event, with the policy check before each queue and topic delivery; the other
        # steps are looked up on the module at call time, so their own patches apply.
        configuration = bucket.notification_configuration
        if configuration is None:
            return
        if active() is None:  # no emulator enforces IAM (moto alone): moto's own delivery
            original(account_id, event_name, bucket, key)
            return
        for function in configuration.cloud_function:
            if function.matches(event_name, key.name):
                event = notifications._get_s3_event(event_name, bucket, key, function.id)
                region = notifications._get_region_from_arn(function.arn)
                notifications._invoke_awslambda(account_id, event, function.arn, region)
        for queue in configuration.queue:
            if queue.matches(event_name, key.name) and may_deliver(
                queue.arn, _target_policy(account_id, queue.arn), bucket.name, account_id
            ):
                event = notifications._get_s3_event(event_name, bucket, key, queue.id)
                region = notifications._get_region_from_arn(queue.arn)
                notifications._send_sqs_message(account_id, event, queue.arn.split(":")[-1], region)
        for topic in configuration.topic:
            if topic.matches(event_name, key.name) and may_deliver(
                topic.arn, _target_policy(account_id, topic.arn), bucket.name, account_id
            ):
                event = notifications._get_s3_event(event_name, bucket, key, topic.id)
                region = notifications._get_region_from_arn(topic.arn)
                notifications._send_sns_message(account_id, event, topic.arn, region)
        if configuration.event_bridge is not None:
            notifications._send_event_bridge_message(account_id, bucket, event_name, key)

    notifications.send_event = send_event
    FakeBucket.set_notification_configuration = validated_set_notification_configuration  # type: ignore[method-assign]
