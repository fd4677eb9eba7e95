"""S3 (path-style requests, as localcloud's clients make them: /BUCKET/KEY). Presigned URLs are the same
operations. S3 ARNs name no region or account: arn:aws:s3:::BUCKET and arn:aws:s3:::BUCKET/KEY.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localcloud.services.iam.request_authorization.model import (
    Call,
    Check,
    ResourceResolver,
    Rule,
    Service,
    anywhere,
    scalar,
)


def _location(call: Call) -> tuple[str | None, str | None]:
    """(bucket, key) from the parameters, else from the path-style URL path."""
    bucket, key = call.text("Bucket"), call.text("Key")
    head, _, tail = urlsplit(call.request.path).path.lstrip("/").partition("/")
    bucket = bucket or unquote(head) or None
    if key is None and bucket == unquote(head):
        key = unquote(tail) or None
    return bucket, key


def bucket_arn(bucket: str | None) -> str | None:
    return f"arn:aws:s3:::{bucket}" if bucket else None


def object_arn(bucket: str | None, key: str | None) -> str | None:
    return f"arn:aws:s3:::{bucket}/{key}" if bucket and key is not None else None


def _version(call: Call) -> str | None:
    return call.text("VersionId") or call.query("versionId")


def _bucket(action: str) -> Rule:
    return lambda call: [call.check(bucket_arn(_location(call)[0]), action)]


def _object(action: str, version_action: str | None = None, *extra: str) -> Rule:
    """An object action; `version_action` when the request names a version; `extra` actions always."""

    def rule(call: Call) -> list[Check]:
        resource = object_arn(*_location(call))
        chosen = version_action if version_action and _version(call) else action
        return [call.check(resource, name) for name in (chosen, *extra)]

    return rule


def _writes(call: Call, resource: str | None) -> list[Check]:
    """PutObject, and the tagging / ACL writes its x-amz-tagging / x-amz-acl headers add."""
    extra = [
        name for param, name in (("Tagging", "PutObjectTagging"), ("ACL", "PutObjectAcl")) if call.has(param)
    ]
    return [call.check(resource, name) for name in ("PutObject", *extra)]


def _put(call: Call) -> list[Check]:
    return _writes(call, object_arn(*_location(call)))


def _copy_source(source: Any) -> tuple[str | None, str | None, str | None]:
    """(bucket, key, version) of x-amz-copy-source: "bucket/key[?versionId=V]" (URL-encoded, with or
    without a leading slash) or boto3's {"Bucket", "Key", "VersionId"}."""
    if isinstance(source, Mapping):
        return scalar(source.get("Bucket")), scalar(source.get("Key")), scalar(source.get("VersionId"))
    text = scalar(source)
    if not text:
        return None, None, None
    location, _, query = text.partition("?")
    bucket, _, key = unquote(location).lstrip("/").partition("/")
    versions = parse_qs(query).get("versionId")
    return bucket or None, key or None, versions[0] if versions else None


def _copy(call: Call) -> list[Check]:
    """CopyObject / UploadPartCopy: read the source (its version, if named), write the destination."""
    bucket, key, version = _copy_source(call.value("CopySource"))
    read = call.check(object_arn(bucket, key), "GetObjectVersion" if version else "GetObject")
    return [read, *_writes(call, object_arn(*_location(call)))]


def _delete_objects(call: Call) -> list[Check]:
    """One DeleteObject(Version) per key of the request body, when the caller parsed it into
    params["Delete"]["Objects"]; else DeleteObject on BUCKET/* (only a policy covering the whole bucket
    allows it)."""
    bucket = _location(call)[0]
    listed = call.value("Delete")
    objects = listed.get("Objects") if isinstance(listed, Mapping) else None
    if not isinstance(objects, list) or not objects:
        return [call.check(object_arn(bucket, "*"), "DeleteObject")]
    return [
        call.check(
            object_arn(bucket, scalar(entry.get("Key"))),
            "DeleteObjectVersion" if entry.get("VersionId") else "DeleteObject",
        )
        for entry in objects
        if isinstance(entry, Mapping)
    ]


_VERSIONED_OBJECT_ACTIONS = {
    "GetObject": ("GetObject", "GetObjectVersion"),
    "HeadObject": ("GetObject", "GetObjectVersion"),
    "DeleteObject": ("DeleteObject", "DeleteObjectVersion"),
    "GetObjectTagging": ("GetObjectTagging", "GetObjectVersionTagging"),
    "PutObjectTagging": ("PutObjectTagging", "PutObjectVersionTagging"),
    "DeleteObjectTagging": ("DeleteObjectTagging", "DeleteObjectVersionTagging"),
    "GetObjectAcl": ("GetObjectAcl", "GetObjectVersionAcl"),
    "PutObjectAcl": ("PutObjectAcl", "PutObjectVersionAcl"),
}
_OBJECT_ACTIONS = {
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "ListParts": "ListMultipartUploadParts",
    "RestoreObject": "RestoreObject",
    "SelectObjectContent": "GetObject",
    **{name: name for name in ("GetObjectRetention", "PutObjectRetention")},
    **{name: name for name in ("GetObjectLegalHold", "PutObjectLegalHold")},
}
_BUCKET_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    # Operations whose IAM action has the operation's own name:
    **{
        name: name
        for name in (
            *("CreateBucket", "DeleteBucket", "GetBucketLocation", "GetBucketVersioning"),
            *("PutBucketVersioning", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
            *("GetBucketPolicyStatus", "GetBucketAcl", "PutBucketAcl", "GetBucketTagging"),
            *("PutBucketTagging", "GetBucketOwnershipControls", "PutBucketOwnershipControls"),
            *("GetBucketLogging", "PutBucketLogging", "GetBucketWebsite", "PutBucketWebsite"),
            *("DeleteBucketWebsite", "GetBucketRequestPayment", "PutBucketRequestPayment"),
        )
    },
}


def missing_object_checks(object_resource: str, account: str, resolver: ResourceResolver) -> list[Check]:
    """What a read (GetObject, HeadObject) of `object_resource` (arn:aws:s3:::BUCKET/KEY) needs besides
    s3:GetObject when the key does not exist: S3 tells a missing key apart (404 NoSuchKey) only to a caller
    who may list the bucket, and answers anyone else 403 AccessDenied
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions")."""
    bucket, _, key = object_resource.removeprefix("arn:aws:s3:::").partition("/")
    if not bucket or not key or resolver.object_exists(bucket, key, account):
        return []
    return [Check("s3:ListBucket", f"arn:aws:s3:::{bucket}")]


def _read(call: Call) -> list[Check]:
    """GetObject / HeadObject: a version's read is decided on its own action."""
    checks = _object("GetObject", "GetObjectVersion")(call)
    resource = object_arn(*_location(call))
    if resource is not None and not _version(call):
        checks += missing_object_checks(resource, call.account, call.resolver)
    return checks


_S3_RULES: dict[str, Rule] = {
    **{operation: _object(*actions) for operation, actions in _VERSIONED_OBJECT_ACTIONS.items()},
    "GetObject": _read,
    "HeadObject": _read,
    **{operation: _object(action) for operation, action in _OBJECT_ACTIONS.items()},
    # GetObjectAttributes reads the object and its attributes: both actions, in their version forms.
    "GetObjectAttributes": lambda call: [
        *_object("GetObject", "GetObjectVersion")(call),
        *_object("GetObjectAttributes", "GetObjectVersionAttributes")(call),
    ],
    "PutObject": _put,
    "CreateMultipartUpload": _put,
    "CopyObject": _copy,
    "UploadPartCopy": _copy,
    "DeleteObjects": _delete_objects,
    **{operation: _bucket(action) for operation, action in _BUCKET_ACTIONS.items()},
    "ListBuckets": anywhere("ListAllMyBuckets"),
}

SERVICES = {"s3": Service("s3", _S3_RULES)}
