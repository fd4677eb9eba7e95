"""moto 5.2.5 evaluates bucket policies without request context; this fix gives it the context we know.

moto's `FakeBucket.get_permission` passes no condition values, its condition engine treats operators it
does not know (e.g. Bool) as satisfied, and a Deny whose condition does not hold comes back DENIED
instead of not applying. So the house TLS-only policy (`Deny s3:* when aws:SecureTransport is false`)
denies every request. localcloud's clients reach the emulator over loopback inside one process, standing
in for AWS's HTTPS endpoints, so requests carry `aws:SecureTransport = true`; statements whose conditions
on known keys do not hold are dropped before moto evaluates the rest. Conditions on keys we do not know
keep moto's behaviour (treated as holding), which errs towards denying.
"""

from __future__ import annotations

import json
from typing import Any

# What a request to the emulator looks like to a bucket policy: loopback stands in for AWS's TLS.
LOOPBACK_REQUEST_CONTEXT = {"aws:securetransport": "true"}
_COMPARISONS = {"Bool", "StringEquals", "StringEqualsIgnoreCase"}


def condition_holds(condition: dict[str, dict[str, Any]]) -> bool:
    """Every operator/key pair we can evaluate must hold; pairs we cannot evaluate count as holding."""
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            actual = LOOPBACK_REQUEST_CONTEXT.get(key.lower())
            if operator not in _COMPARISONS or actual is None:
                continue
            allowed = expected if isinstance(expected, list) else [expected]
            if not any(str(value).lower() == actual for value in allowed):
                return False
    return True


def applicable_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with statements whose conditions fail removed and the remaining conditions resolved."""
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [
        {key: value for key, value in statement.items() if key != "Condition"}
        for statement in statements
        if condition_holds(statement.get("Condition", {}))
    ]
    return {**policy, "Statement": kept}


def _get_permission(self: Any, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicy, PermissionResult  # noqa: PLC0415 - moto is slow to import

    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = applicable_policy(json.loads(self.policy))
    if not policy["Statement"]:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


def _with_version_and_sequencer(original: Any) -> Any:
    """moto's event notifications lack `versionId` and `sequencer`, which S3 sends for every new object.

    Consumers key idempotency on them (e.g. deterministic Step Functions execution names from
    bucket/key/versionId), so an event without them would not match its own redelivery.
    """

    def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event: dict[str, Any] = original(event_name, bucket, key, notification_id)
        s3_object = event["Records"][0]["s3"]["object"]
        version_id = getattr(key, "version_id", None)
        if version_id and version_id != "null":
            s3_object["versionId"] = version_id
        s3_object["sequencer"] = f"{int(key.last_modified.timestamp() * 1_000_000):016X}"
        return event

    return _get_s3_event


_patched = False


def apply() -> None:
    """Idempotent: bucket policies see the loopback request context; events carry version and sequencer."""
    global _patched  # noqa: PLW0603 - patching is process-global by nature
    from moto.s3 import notifications  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    FakeBucket.get_permission = _get_permission  # type: ignore[method-assign]
    if not _patched:
        notifications._get_s3_event = _with_version_and_sequencer(notifications._get_s3_event)
        _patched = True
