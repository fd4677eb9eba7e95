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

import contextlib
import copy
import functools
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from localcloud.core.listeners import Listeners
from localcloud.core.moto_version import require_supported_moto
from localcloud.services.s3 import post_policy

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


class _ListingCopy:
    """moto's `copy` module as seen by S3Backend.list_object_versions, minus the copy of every object's bytes.

    moto deep-copies every version of every key in the bucket (whatever the prefix) on each call, only to
    set `is_latest` on the copies; FakeKey pickles its value into a new buffer, so one listing copies the
    whole bucket's bytes and leaves that much garbage. A poller listing versions (our S3 replicator) then
    grows the process by gigabytes over a 100,000-row batch. A clone sharing the value buffer carries the
    same fields for the listing and keeps `is_latest` on the clone.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, list):
            return [_clone_sharing_value(version) for version in value]
        return copy.deepcopy(value, memo)


@functools.cache
def _listed_type(stored_type: Any) -> Any:
    """The stored class without disposal: a FakeKey closes its value buffer when collected."""

    def dispose(self: Any, garbage: bool = False) -> None:
        """A listing clone owns nothing: the stored version keeps its buffer."""

    return type(f"Listed{stored_type.__name__}", (stored_type,), {"dispose": dispose, "__del__": dispose})


def _clone_sharing_value(version: Any) -> Any:
    stored_type: Any = type(version)
    clone: Any = object.__new__(_listed_type(stored_type))
    clone.__dict__.update(version.__dict__)
    return clone


# Every put or delete of an object (copies and completed uploads included), with its bucket's name: the
# replicator wakes for its source buckets' writes instead of polling idle ones.
OBJECT_WRITES: Listeners[[str]] = Listeners()


def _announcing_writes(write: Any) -> Any:
    """An S3Backend write (put_object, which copies and completed uploads go through, or delete_object)
    that tells OBJECT_WRITES its bucket afterwards."""

    @functools.wraps(write)
    def announced(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        result = write(self, bucket_name, *args, **kwargs)
        OBJECT_WRITES.notify(bucket_name)
        return result

    announced.localcloud_announces_writes = True  # type: ignore[attr-defined]
    return announced


class ObjectRequestsInFlight:
    """Object write requests (PUT, POST) in progress, by (bucket, key).

    moto stores a new version before the request that wrote it has set its metadata, ACL and tags. On S3
    a version appears whole; a reader that must see it so (the replicator) passes over a key while a
    write to it is in flight."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def busy(self, bucket: str, key: str) -> bool:
        with self._lock:
            return (bucket, key) in self._counts

    @contextlib.contextmanager
    def writing(self, bucket: str, key: str) -> Iterator[None]:
        with self._lock:
            self._counts[(bucket, key)] = self._counts.get((bucket, key), 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._counts.pop((bucket, key)) - 1
                if left:
                    self._counts[(bucket, key)] = left


OBJECT_REQUESTS_IN_FLIGHT = ObjectRequestsInFlight()
_this_thread = threading.local()


def after_this_write(send: Callable[[], None]) -> bool:
    """Queue `send` (an event notification) to run once this thread's write request is done, as S3
    announces a version once it is whole; False when the thread serves no write (the caller sends now)."""
    pending: list[Callable[[], None]] | None = getattr(_this_thread, "pending", None)
    if pending is None:
        return False
    pending.append(send)
    return True


@contextlib.contextmanager
def _announcing_when_done() -> Iterator[None]:
    outer = getattr(_this_thread, "pending", None)
    pending: list[Callable[[], None]] = []
    _this_thread.pending = pending
    try:
        yield
    finally:
        _this_thread.pending = outer
        for send in pending:
            send()


def _whole_when_seen(key_response: Any) -> Any:
    """moto's object-level request handler: a write's (bucket, key) is in OBJECT_REQUESTS_IN_FLIGHT, and its
    event notifications wait, until the request is done."""

    @functools.wraps(key_response)
    def tracked(self: Any, request: Any, full_url: str) -> Any:
        if request.method not in ("PUT", "POST"):
            return key_response(self, request, full_url)
        bucket = self.parse_bucket_name_from_url(request, full_url)
        with _announcing_when_done(), OBJECT_REQUESTS_IN_FLIGHT.writing(bucket, self.parse_key_name()):
            return key_response(self, request, full_url)

    return tracked


def _announced_when_done(bucket_post: Any) -> Any:
    """moto's bucket POST handler (a browser upload among others): its event notifications wait until the
    request has also stored the form's metadata."""

    @functools.wraps(bucket_post)
    def announced(self: Any, request: Any, bucket_name: str) -> Any:
        with _announcing_when_done():
            return bucket_post(self, request, bucket_name)

    return announced


_patched = False


def apply() -> None:
    """Idempotent: bucket policies see the loopback request context; events carry version and sequencer;
    listing versions copies no object bytes; browser-based uploads are checked against their POST policy
    (post_policy.py); writes are announced to OBJECT_WRITES."""
    global _patched  # noqa: PLW0603 - patching is process-global by nature
    require_supported_moto(__name__)
    post_policy.apply()
    from moto.s3 import models as s3_models  # noqa: PLC0415
    from moto.s3 import notifications  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415
    from moto.s3.responses import S3Response  # noqa: PLC0415

    FakeBucket.get_permission = _get_permission  # type: ignore[method-assign]
    # Only list_object_versions copies lists of versions; copy_object and the rest keep the real deepcopy.
    s3_models.copy = _ListingCopy()  # type: ignore[assignment]
    if not _patched:
        notifications._get_s3_event = _with_version_and_sequencer(notifications._get_s3_event)
        for name in ("put_object", "delete_object"):
            setattr(s3_models.S3Backend, name, _announcing_writes(getattr(s3_models.S3Backend, name)))
        S3Response._key_response = _whole_when_seen(S3Response._key_response)  # type: ignore[method-assign]
        S3Response._bucket_response_post = _announced_when_done(S3Response._bucket_response_post)  # type: ignore[method-assign]
        _patched = True
