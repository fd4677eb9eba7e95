"""S3 replicates as the replication configuration's role: a version is copied only if S3 may assume the
role and the role (and the buckets' policies) allow every replication action; otherwise its replication
FAILED, as on AWS, and the denial is recorded with the emulator's IAM decisions."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.s3.models import S3Backend

from localcloud.core.emulator import Emulator
from localcloud.services.iam.enforcement import Denial
from localcloud.services.s3.replication import COMPLETED, FAILED, ReplicationConfig, S3Replicator
from tests.unit.localcloud.conftest import ACCOUNT_ID, role_with
from tests.unit.localcloud.services.s3.test_replication import (
    ASSUME_S3,
    DESTINATION_OBJECT_ACTIONS,
    EAST,
    REPLICATION_ACTIONS,
    SOURCE_BUCKET_ACTIONS,
    SOURCE_OBJECT_ACTIONS,
    WEST,
    make_bucket,
    replication_permissions,
    rule,
)

Replicate = Callable[[str, str, str], S3Replicator]


@pytest.fixture
def replicate(emulator: Emulator) -> Iterator[Replicate]:
    """Replicate everything from a bucket in us-east-1 to one in us-west-2 as `role`, markers too."""
    started: list[S3Replicator] = []

    def _replicate(role: str, source: str, destination: str) -> S3Replicator:
        bucket_rule = rule(destination, markers="Enabled")
        emulator.client("s3", EAST).put_bucket_replication(
            Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [bucket_rule]}
        )
        config = ReplicationConfig(bucket=source, region=EAST, role_arn=role, rules=(bucket_rule,))
        replicator = S3Replicator(emulator.client, [config])
        started.append(replicator)
        return replicator.start()

    yield _replicate
    for replicator in started:
        replicator.stop()


def session_of(role: str) -> str:
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.rsplit('/', 1)[-1]}/s3-replication"


def denials_of(emulator: Emulator, principal: str) -> list[Denial]:
    return [denial for denial in emulator.iam.denials if denial.principal == principal]


def replica_exists(emulator: Emulator, bucket: str, key: str) -> bool:
    try:
        emulator.client("s3", WEST).head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def test_an_object_replicates_as_a_role_that_may_replicate_it(
    emulator: Emulator, replicate: Replicate
) -> None:
    # GIVEN a replication role S3 may assume, allowed every replication action
    role = role_with(emulator, replication_permissions(), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    allowed_before = emulator.iam.decisions["allowed"]
    # WHEN a tagged object is written to the source
    put = emulator.client("s3", EAST).put_object(Bucket=source, Key="a.txt", Body=b"a", Tagging="team=ops")
    replicator.wait_replicated(timeout=10)
    # THEN it is replicated, and every action S3 took as the role was evaluated and allowed
    assert replicator.replication_status(source, "a.txt", put["VersionId"]) == COMPLETED
    assert replica_exists(emulator, destination, "a.txt")
    assert emulator.iam.decisions["allowed"] >= allowed_before + len(REPLICATION_ACTIONS) - 1  # no delete
    assert denials_of(emulator, session_of(role)) == []


@pytest.mark.parametrize(
    "missing", [action for action in REPLICATION_ACTIONS if action != "s3:ReplicateDelete"]
)
def test_a_role_without_a_replication_action_leaves_the_version_failed_and_the_denial_recorded(
    emulator: Emulator, replicate: Replicate, missing: str
) -> None:
    # GIVEN a replication role allowed every replication action but one
    role = role_with(emulator, replication_permissions(without=missing), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    # WHEN a tagged object is written to the source
    put = emulator.client("s3", EAST).put_object(Bucket=source, Key="a.txt", Body=b"a", Tagging="team=ops")
    replicator.wait_replicated(timeout=10)
    # THEN its replication FAILED and nothing reached the destination
    assert replicator.replication_status(source, "a.txt", put["VersionId"]) == FAILED
    assert not replica_exists(emulator, destination, "a.txt")
    # AND the denial names the role's session and the missing action
    [denial] = denials_of(emulator, session_of(role))
    assert denial.action == missing
    # AND its resource is the source bucket, the source object or the replica, as the action applies to
    resources = {
        **dict.fromkeys(SOURCE_BUCKET_ACTIONS, f"arn:aws:s3:::{source}"),
        **dict.fromkeys(SOURCE_OBJECT_ACTIONS, f"arn:aws:s3:::{source}/a.txt"),
        **dict.fromkeys(DESTINATION_OBJECT_ACTIONS, f"arn:aws:s3:::{destination}/a.txt"),
    }
    assert denial.resource == resources[missing]


def test_a_role_without_replicate_delete_leaves_the_delete_marker_failed(
    emulator: Emulator, replicate: Replicate
) -> None:
    # GIVEN a replicated object and a role allowed everything but s3:ReplicateDelete
    role = role_with(emulator, replication_permissions(without="s3:ReplicateDelete"), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    s3 = emulator.client("s3", EAST)
    s3.put_object(Bucket=source, Key="gone.txt", Body=b"x")
    replicator.wait_replicated(timeout=10)
    # WHEN the object is deleted (a delete marker is written)
    marker = s3.delete_object(Bucket=source, Key="gone.txt")
    replicator.wait_replicated(timeout=10)
    # THEN the marker's replication FAILED: the replica is still there
    assert replicator.replication_status(source, "gone.txt", marker["VersionId"]) == FAILED
    assert replica_exists(emulator, destination, "gone.txt")
    [denial] = denials_of(emulator, session_of(role))
    assert (denial.action, denial.resource) == ("s3:ReplicateDelete", f"arn:aws:s3:::{destination}/gone.txt")


def test_a_destination_bucket_policy_denying_the_role_fails_the_replication(
    emulator: Emulator, replicate: Replicate
) -> None:
    # GIVEN a role allowed every replication action, and a destination whose policy denies it replicas
    role = role_with(emulator, replication_permissions(), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoReplicas",
                "Effect": "Deny",
                "Principal": {"AWS": role},
                "Action": "s3:ReplicateObject",
                "Resource": f"arn:aws:s3:::{destination}/*",
            }
        ],
    }
    emulator.client("s3", WEST).put_bucket_policy(Bucket=destination, Policy=json.dumps(policy))
    replicator = replicate(role, source, destination)
    # WHEN an object is written to the source
    put = emulator.client("s3", EAST).put_object(Bucket=source, Key="a.txt", Body=b"a")
    replicator.wait_replicated(timeout=10)
    # THEN its replication FAILED, explicitly denied by the destination's bucket policy
    assert replicator.replication_status(source, "a.txt", put["VersionId"]) == FAILED
    assert not replica_exists(emulator, destination, "a.txt")
    [denial] = denials_of(emulator, session_of(role))
    assert denial.action == "s3:ReplicateObject"
    assert "NoReplicas" in denial.reason and "bucket policy" in denial.reason


@pytest.mark.parametrize("role_kind", ["untrusting", "missing"])
def test_a_role_s3_cannot_assume_replicates_nothing(
    emulator: Emulator, replicate: Replicate, role_kind: str
) -> None:
    # GIVEN a replication role that trusts only Lambda, or does not exist
    roles: dict[str, Callable[[], str]] = {
        "untrusting": lambda: role_with(emulator, replication_permissions()),
        "missing": lambda: f"arn:aws:iam::{ACCOUNT_ID}:role/gone-{uuid.uuid4().hex[:8]}",
    }
    role = roles[role_kind]()
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    # WHEN an object is written to the source
    put = emulator.client("s3", EAST).put_object(Bucket=source, Key="a.txt", Body=b"a")
    replicator.wait_replicated(timeout=10)
    # THEN its replication FAILED and S3's refused AssumeRole is recorded
    assert replicator.replication_status(source, "a.txt", put["VersionId"]) == FAILED
    assert not replica_exists(emulator, destination, "a.txt")
    refusals = [
        denial
        for denial in emulator.iam.denials
        if (denial.principal, denial.action, denial.resource) == ("s3.amazonaws.com", "sts:AssumeRole", role)
    ]
    assert refusals


@pytest.mark.parametrize("may_decrypt", [True, False], ids=["with-kms-decrypt", "without-kms-decrypt"])
def test_an_sse_kms_object_replicates_only_if_the_role_may_decrypt_it(
    emulator: Emulator, replicate: Replicate, may_decrypt: bool
) -> None:
    # GIVEN an object encrypted under a KMS key, and a replication role that may or may not decrypt with it
    key_arn = emulator.client("kms", EAST).create_key()["KeyMetadata"]["Arn"]
    decrypt = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}] if may_decrypt else []
    role = role_with(emulator, replication_permissions() + decrypt, trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    # WHEN the object is written to the source
    put = emulator.client("s3", EAST).put_object(
        Bucket=source, Key="a.txt", Body=b"a", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    replicator.wait_replicated(timeout=10)
    # THEN it replicates only if the role may decrypt it; otherwise the kms:Decrypt denial is recorded
    status = replicator.replication_status(source, "a.txt", put["VersionId"])
    assert (status, replica_exists(emulator, destination, "a.txt")) == (
        (COMPLETED, True) if may_decrypt else (FAILED, False)
    )
    denials = [(denial.action, denial.resource) for denial in denials_of(emulator, session_of(role))]
    assert denials == ([] if may_decrypt else [("kms:Decrypt", key_arn)])


def stall_puts_before_their_tags(
    monkeypatch: pytest.MonkeyPatch, bucket: str
) -> tuple[threading.Event, threading.Event]:
    """Make a PUT to `bucket` stop after moto stored its version, before it sets its tags: the first event
    is set when one stops there, the second lets it go on."""
    stored, release = threading.Event(), threading.Event()
    set_tags = S3Backend.put_object_tagging

    def stalling(self: Any, key: Any, tags: dict[str, str] | None) -> Any:
        if key.bucket_name == bucket:
            stored.set()
            release.wait(10)
        return set_tags(self, key, tags)

    monkeypatch.setattr(S3Backend, "put_object_tagging", stalling)
    return stored, release


def test_a_version_is_replicated_as_its_put_wrote_it_even_when_a_pass_lists_it_midway(
    emulator: Emulator, replicate: Replicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a role allowed every replication action but s3:ReplicateTags
    role = role_with(emulator, replication_permissions(without="s3:ReplicateTags"), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    replicator = replicate(role, source, destination)
    # AND a PUT of a tagged object that stalls after moto stored its version, before it set its tags
    stored, release = stall_puts_before_their_tags(monkeypatch, source)
    s3 = emulator.client("s3", EAST)
    with ThreadPoolExecutor(max_workers=1) as pool:
        putting = pool.submit(s3.put_object, Bucket=source, Key="a.txt", Body=b"a", Tagging="team=ops")
        assert stored.wait(10)
        # WHEN replication passes run while that PUT is still being written
        replicator.wait_replicated(timeout=10)
        release.set()
        put = putting.result(timeout=10)
    replicator.wait_replicated(timeout=10)
    # THEN the version was replicated as written, tags and all: s3:ReplicateTags was needed, so it FAILED
    assert replicator.replication_status(source, "a.txt", put["VersionId"]) == FAILED
    assert not replica_exists(emulator, destination, "a.txt")


def test_a_pass_that_passes_over_a_version_being_written_comes_again_without_an_idle_back_off(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a replicator (driven pass by pass here) whose passes have found nothing for a while
    role = role_with(emulator, replication_permissions(), trust=ASSUME_S3)
    source, destination = make_bucket(emulator, EAST), make_bucket(emulator, WEST)
    bucket_rule = rule(destination)
    emulator.client("s3", EAST).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [bucket_rule]}
    )
    config = ReplicationConfig(bucket=source, region=EAST, role_arn=role, rules=(bucket_rule,))
    replicator = S3Replicator(emulator.client, [config], poll_interval=0.05)
    idle_waits = [replicator.run_once() for _ in range(4)]
    assert idle_waits == [0.1, 0.2, 0.4, 0.8]
    # AND a PUT stalled after moto stored its version, before it set its tags
    stored, release = stall_puts_before_their_tags(monkeypatch, source)
    with ThreadPoolExecutor(max_workers=1) as pool:
        putting = pool.submit(emulator.client("s3", EAST).put_object, Bucket=source, Key="a.txt", Body=b"a")
        assert stored.wait(10)
        # WHEN a pass runs meanwhile
        wait = replicator.run_once()
        release.set()
        putting.result(timeout=10)
    replicator.stop()
    # THEN the next pass comes after the busy interval, not the idle back-off's
    assert wait == 0.05
