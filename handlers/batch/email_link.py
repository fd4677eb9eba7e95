"""Step Functions task "Email download link": a presigned GET for the merged output, mailed through SES.

With ACCESS_POINT_ARN (an S3 Multi-Region Access Point) the link goes through the access point, so it
works from whichever region's bucket is closest and still works after a failover; MRAP requests must be
signed with SigV4A (botocore does that through awscrt). Without it the link names the regional bucket.

A URL signed with the Lambda role's temporary credentials stops working when those credentials expire
(the role session, a few hours at most), whatever expiry was asked for: for links that must last longer,
sign with long-term credentials.

Any SES error raises: an email that was not sent fails the batch. The URL never leaves this function
except in the email: the task returns only the message id, so the link is not kept in the workflow's
state or history.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from handlers.batch import contract
from handlers.batch.contract import EmailSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client

logger = Logger(service="batch-email-link")
tracer = Tracer(service="batch-email-link")
metrics = Metrics(namespace=contract.METRICS_NAMESPACE, service=contract.METRICS_SERVICE)


class InvalidEmailInputError(Exception):
    """The task input lacks a field the workflow should always pass."""


@dataclass(frozen=True)
class EmailDependencies:
    s3: S3Client  # a client that presigns (see presigning_client)
    ses: SESV2Client
    settings: EmailSettings


def presigning_client(access_point_arn: str | None) -> S3Client:
    """An S3 client whose presigned URLs the link's endpoint accepts."""
    if access_point_arn:
        # A Multi-Region Access Point only accepts SigV4A; forcing "s3v4" would give a SigV4 URL it refuses.
        return boto3.client("s3", config=Config(signature_version="s3v4a"))
    # SigV4 (botocore's default presigner is still SigV2, which newer regions refuse) on the bucket's
    # regional virtual-host endpoint, which needs no redirect for a bucket outside us-east-1.
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))


@functools.cache
def dependencies() -> EmailDependencies:
    """Clients built on first use (not at import) so tests can import the module under moto."""
    settings = EmailSettings.from_environment(os.environ)
    return EmailDependencies(
        s3=presigning_client(settings.access_point_arn), ses=boto3.client("sesv2"), settings=settings
    )


def download_link(s3: S3Client, *, bucket: str, key: str, settings: EmailSettings) -> str:
    """A presigned GET for `key`, through the Multi-Region Access Point when one is configured."""
    return str(
        s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.access_point_arn or bucket, "Key": key},
            ExpiresIn=settings.link_expiry_seconds,
        )
    )


def _duration(seconds: int) -> str:
    for unit_seconds, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % unit_seconds == 0:
            count = seconds // unit_seconds
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def message_text(
    *,
    key: str,
    output_key: str,
    url: str,
    rows: int,
    invalid_rows: int,
    missing_financials: int,
    expiry_seconds: int,
    now: datetime,
) -> tuple[str, str]:
    """(subject, plain-text body) of the email."""
    expires_at = (now + timedelta(seconds=expiry_seconds)).astimezone(UTC)
    subject = f"Batch {key} is ready: {rows} rows"
    body = (
        f"The batch {key} has been processed.\n"
        f"\n"
        f"Download the result ({output_key}):\n"
        f"{url}\n"
        f"\n"
        f"Rows written: {rows}\n"
        f"Rows that failed validation (not written): {invalid_rows}\n"
        f"Rows without financial data (written with blank financial columns): {missing_financials}\n"
        f"\n"
        f"The link expires in {_duration(expiry_seconds)}, at {expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    return subject, body


def email_download_link(
    s3: S3Client,
    ses: SESV2Client,
    settings: EmailSettings,
    *,
    bucket: str,
    key: str,
    output_key: str,
    rows: int,
    invalid_rows: int,
    missing_financials: int,
    now: datetime | None = None,
) -> dict[str, str]:
    """Presign the output and mail the link to the recipients; returns {"messageId"}. SES errors raise."""
    url = download_link(s3, bucket=bucket, key=output_key, settings=settings)
    subject, body = message_text(
        key=key,
        output_key=output_key,
        url=url,
        rows=rows,
        invalid_rows=invalid_rows,
        missing_financials=missing_financials,
        expiry_seconds=settings.link_expiry_seconds,
        now=now or datetime.now(UTC),
    )
    response = ses.send_email(
        FromEmailAddress=settings.sender_email,
        Destination={"ToAddresses": list(settings.recipient_emails)},
        Content={
            "Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            }
        },
    )
    message_id = str(response["MessageId"])
    logger.info(
        "download link sent",
        extra={
            "key": key,
            "outputKey": output_key,
            "messageId": message_id,
            "recipients": len(settings.recipient_emails),
        },
    )
    return {"messageId": message_id}


def _text_field(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidEmailInputError(f"email input has no {name} (got {value!r})")
    return value


def _count_field(event: dict[str, Any], name: str) -> int:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEmailInputError(f"email input {name} must be a count (got {value!r})")
    return value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    deps = dependencies()
    return email_download_link(
        deps.s3,
        deps.ses,
        deps.settings,
        bucket=_text_field(event, "bucket"),
        key=_text_field(event, "key"),
        output_key=_text_field(event, "outputKey"),
        rows=_count_field(event, "rows"),
        invalid_rows=_count_field(event, "invalidRows"),
        missing_financials=_count_field(event, "missingFinancials"),
    )
