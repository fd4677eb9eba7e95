"""An S3 bucket with the house's secure defaults: SSE, versioning, no public access, TLS only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.iam import deny_insecure_transport, policy_document


@dataclass(frozen=True, kw_only=True)
class SecureBucketArgs:
    """Settings for one bucket; the defaults are the secure choice."""

    region: str
    versioned: bool = True
    kms_key_arn: pulumi.Input[str] | None = None  # None: SSE-S3 (AES256), which S3 event targets can read
    noncurrent_version_expiration_days: int | None = 90
    # Working data under these key prefixes is deleted this many days after it was written.
    expire_prefix_days: Mapping[str, int] = field(default_factory=dict)
    force_destroy: bool = False
    # When given, objects may be written under these key prefixes only: a put anywhere else is refused
    # (403) by the bucket policy, whoever sends it, rather than stored where nothing reads it.
    writable_prefixes: Sequence[str] = ()


class SecureBucket(pulumi.ComponentResource):
    """Bucket + ownership enforced + versioning + SSE + public access block + TLS-only policy."""

    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    region: str

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("regionflow:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = args.region

        bucket = aws.s3.Bucket(f"{name}-bucket", region=region, force_destroy=args.force_destroy, opts=child)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            region=region,
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off: access is decided by policy alone
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            region=region,
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled" if args.versioned else "Suspended"},
            opts=child,
        )
        default_encryption = (
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms" if args.kms_key_arn is not None else "AES256",
                kms_master_key_id=args.kms_key_arn,
            )
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            region=region,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default_encryption,
                    bucket_key_enabled=args.kms_key_arn is not None,
                )
            ],
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            region=region,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            region=region,
            bucket=bucket.id,
            policy=policy_document(
                [
                    *(
                        [
                            {
                                "Sid": "DenyWritesOutsideTheBucketsPrefixes",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": ["s3:PutObject"],
                                "NotResource": [
                                    pulumi.Output.concat(bucket.arn, "/", prefix, "*")
                                    for prefix in args.writable_prefixes
                                ],
                            }
                        ]
                        if args.writable_prefixes
                        else []
                    ),
                    # Last, as in every resource policy of the program.
                    deny_insecure_transport(["s3:*"], [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")]),
                ]
            ),
            # S3 rejects a bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        rules: list[dict[str, object]] = [
            {
                "id": f"expire-{prefix.strip('/').replace('/', '-')}",
                "status": "Enabled",
                "filter": {"prefix": prefix},
                "expiration": {"days": days},
            }
            for prefix, days in args.expire_prefix_days.items()
        ]
        if args.versioned and args.noncurrent_version_expiration_days is not None:
            rules.append(
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": args.noncurrent_version_expiration_days
                    },
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            )
        if rules:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle",
                region=region,
                bucket=bucket.id,
                rules=rules,  # type: ignore[arg-type]
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )

        self.bucket_name = bucket.bucket
        self.arn = bucket.arn
        self.region = region
        self.register_outputs({"bucket_name": self.bucket_name, "arn": self.arn})

    def objects_arn(self, prefix: str = "") -> pulumi.Output[str]:
        """ARN pattern for the objects under a key prefix, for scoping IAM statements."""
        return pulumi.Output.concat(self.arn, "/", prefix, "*")
