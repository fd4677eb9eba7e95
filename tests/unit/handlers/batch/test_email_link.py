"""Email: a presigned link to the merged output reaches the recipients; SES failures fail the batch."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from handlers.batch import email_link
from handlers.batch.contract import EmailSettings
from handlers.batch.email_link import presigning_client
from handlers.environment import SettingError

from ..conftest import FakeLambdaContext
from .conftest import BUCKET, LINK_EXPIRY_SECONDS, RECIPIENTS, SENDER, BatchCloud

KEY = "input/sales.csv"
OUTPUT_KEY = "output/sales.csv"
OUTPUT = b"uuid,Country\r\n535113847,Azerbaijan\r\n"
MRAP_ARN = "arn:aws:s3::123456789012:accesspoint/abc123.mrap"
MRAP_HOST = "abc123.mrap.accesspoint.s3-global.amazonaws.com"  # <alias>.accesspoint.s3-global.amazonaws.com
EVENT = {
    "bucket": BUCKET,
    "key": KEY,
    "outputKey": OUTPUT_KEY,
    "rows": 963,
    "invalidRows": 36,
    "missingFinancials": 1,
}
URL = re.compile(r"https://\S+")

# The task emits no metric of its own (FilesProcessed is counted by the merge), so Powertools warns.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def link_in(body: str) -> str:
    [url] = URL.findall(body)
    return url


def send(cloud: BatchCloud, settings: EmailSettings, **overrides: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {
        "bucket": BUCKET,
        "key": KEY,
        "output_key": OUTPUT_KEY,
        "rows": 963,
        "invalid_rows": 36,
        "missing_financials": 1,
        "now": datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
        **overrides,
    }
    return email_link.email_download_link(
        presigning_client(settings.access_point_arn), cloud.sesv2, settings, **arguments
    )


def settings(**changes: Any) -> EmailSettings:
    defaults: dict[str, Any] = {
        "sender_email": SENDER,
        "recipient_emails": RECIPIENTS,
        "link_expiry_seconds": LINK_EXPIRY_SECONDS,
    }
    return EmailSettings(**{**defaults, **changes})


def test_the_recipients_get_a_link_that_downloads_the_output(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the merged output in the regional bucket
    batch_cloud.s3.put_object(Bucket=BUCKET, Key=OUTPUT_KEY, Body=OUTPUT)
    # WHEN the task runs with the workflow's input
    result = email_link.lambda_handler(dict(EVENT), lambda_context)
    # THEN one email went from the sender to every recipient, with the file and counts in it
    [message] = batch_cloud.sent_emails()
    assert result == {"messageId": message.id}
    assert message.source == SENDER and message.destinations["ToAddresses"] == list(RECIPIENTS)
    assert message.subject == "Batch input/sales.csv is ready: 963 rows"
    assert "Rows written: 963" in message.body and "failed validation (not written): 36" in message.body
    assert "without financial data (written with blank financial columns): 1" in message.body
    assert "The link expires in 1 day" in message.body
    # AND its link is a SigV4 URL for the output object that downloads it
    url = link_in(message.body)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname == f"{BUCKET}.s3.eu-west-1.amazonaws.com" and parts.path == f"/{OUTPUT_KEY}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == [
        str(LINK_EXPIRY_SECONDS)
    ]
    download = requests.get(url, timeout=10)
    assert download.status_code == 200 and download.content == OUTPUT


def test_the_task_result_carries_no_link(batch_cloud: BatchCloud) -> None:
    # GIVEN / WHEN the email is sent
    result = send(batch_cloud, settings())
    # THEN the workflow state gets the message id only: the URL stays out of the execution history
    assert list(result) == ["messageId"] and "http" not in result["messageId"]


def test_with_a_multi_region_access_point_the_link_is_sigv4a_signed_for_its_global_host(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the function configured with the Multi-Region Access Point
    monkeypatch.setenv("ACCESS_POINT_ARN", MRAP_ARN)
    # WHEN the task runs
    email_link.lambda_handler(dict(EVENT), lambda_context)
    # THEN the mailed link goes to the access point's global host, signed with SigV4A for every region
    [message] = batch_cloud.sent_emails()
    parts = urlsplit(link_in(message.body))
    query = parse_qs(parts.query)
    assert parts.hostname == MRAP_HOST and parts.path == f"/{OUTPUT_KEY}"
    assert query["X-Amz-Algorithm"] == ["AWS4-ECDSA-P256-SHA256"]
    assert query["X-Amz-Region-Set"] == ["*"]
    assert query["X-Amz-Expires"] == [str(LINK_EXPIRY_SECONDS)]
    assert BUCKET not in parts.hostname


def test_an_unverified_sender_fails_the_task_and_sends_nothing(batch_cloud: BatchCloud) -> None:
    # GIVEN a sender SES has not verified
    # WHEN / THEN SES's refusal propagates (the workflow marks the batch FAILED with it)
    with pytest.raises(ClientError, match="MessageRejected"):
        send(batch_cloud, settings(sender_email="someone-else@example.com"))
    assert batch_cloud.sent_emails() == []


def test_the_expiry_is_stated_in_the_email() -> None:
    # GIVEN a 15-minute link created at 10:00 UTC
    _, body = email_link.message_text(
        key=KEY,
        output_key=OUTPUT_KEY,
        url="https://example.com/x",
        rows=1,
        invalid_rows=0,
        missing_financials=0,
        expiry_seconds=900,
        now=datetime(2024, 6, 1, 10, 0, tzinfo=UTC),
    )
    # THEN the email says how long it lasts and until when
    assert "The link expires in 15 minutes, at 2024-06-01 10:15 UTC." in body


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"RECIPIENT_EMAILS": "ops@example.com"}, "RECIPIENT_EMAILS is not JSON"),
        ({"RECIPIENT_EMAILS": "[]"}, "RECIPIENT_EMAILS must be a JSON list"),
        ({"RECIPIENT_EMAILS": '["not-an-address"]'}, "RECIPIENT_EMAILS must be a JSON list"),
        ({"RECIPIENT_EMAILS": str([f"u{n}@example.com" for n in range(51)]).replace("'", '"')}, "at most 50"),
        ({"LINK_EXPIRY_SECONDS": "604801"}, "LINK_EXPIRY_SECONDS must be between 1 and 604800"),
        ({"LINK_EXPIRY_SECONDS": "0"}, "LINK_EXPIRY_SECONDS must be between"),
    ],
)
def test_a_misconfigured_environment_is_refused(changes: dict[str, str], problem: str) -> None:
    env = {
        "SENDER_EMAIL": SENDER,
        "RECIPIENT_EMAILS": '["ops@example.com"]',
        "LINK_EXPIRY_SECONDS": "3600",
        **changes,
    }
    with pytest.raises(SettingError, match=problem):
        EmailSettings.from_environment(env)


def test_the_environment_the_component_sets_is_read() -> None:
    env = {
        "SENDER_EMAIL": SENDER,
        "RECIPIENT_EMAILS": '["ops@example.com", "finance@example.com"]',
        "LINK_EXPIRY_SECONDS": "3600",
        "ACCESS_POINT_ARN": MRAP_ARN,
    }
    assert EmailSettings.from_environment(env) == EmailSettings(
        sender_email=SENDER, recipient_emails=RECIPIENTS, link_expiry_seconds=3600, access_point_arn=MRAP_ARN
    )


def test_the_handler_refuses_an_input_without_counts(
    batch_cloud: BatchCloud, lambda_context: FakeLambdaContext
) -> None:
    event = {key: value for key, value in EVENT.items() if key != "rows"}
    with pytest.raises(email_link.InvalidEmailInputError, match="rows must be a count"):
        email_link.lambda_handler(event, lambda_context)
