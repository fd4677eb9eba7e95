"""The upload status table, shared by the upload API, the status API and the transform worker.

One row per upload, keyed by `uploadId` (S). A row is created `pending` and moves exactly once to
`done` or `failed`: both transitions are conditional on `pending`, so a duplicate event or a retry
cannot overwrite the outcome. `notifiedAt` is set once the outcome was published: a retry that finds
an outcome without it publishes it. `noticeClaimedAt` keeps two deliveries at once from both publishing
(a claim whose delivery died lapses after NOTICE_CLAIM_SECONDS; then the notice may go out twice).

A large upload (POST /uploads, the file posted straight to S3) is created `awaiting_upload`; the
staged-upload validator moves it once, conditionally, to `pending` (the file passed the upload API's
checks and goes on like a direct upload) or to `rejected` (it did not; the reason says why). One whose
validation never finished (its event dead-lettered) is marked `failed` from `awaiting_upload`.

A file dropped straight into incoming/ gets the same life as a large upload: created `awaiting_upload`
with `sourceKey` (where it was put, where it stays) and `outputKey` (where its JSON will go, named after
it), then checked by the staged-upload validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from handlers.transform.contract import STATUS_TABLE_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STATUS_AWAITING_UPLOAD = "awaiting_upload"
STATUS_PENDING = "pending"
STATUS_DONE = "done"
STATUS_FAILED = "failed"
STATUS_REJECTED = "rejected"
# An upload in one of these has its outcome: it is announced once, and never changes again.
FINAL_STATUSES = frozenset({STATUS_DONE, STATUS_FAILED, STATUS_REJECTED})
# Outcomes that come with a reason for the uploader.
STATUSES_WITH_REASON = frozenset({STATUS_FAILED, STATUS_REJECTED})
# Keeps a row far below DynamoDB's 400 KB item limit whatever an exception message contains.
MAX_REASON_CHARS = 2000
NOTIFIED_AT = "notifiedAt"
NOTICE_CLAIMED_AT = "noticeClaimedAt"
# A delivery that claimed the notice and died before recording it leaves its claim this long; a later
# delivery then publishes it.
NOTICE_CLAIM_SECONDS = 60


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class UploadStatus:
    upload_id: str
    status: str
    rule_id: str
    file_name: str
    input_key: str
    size_bytes: int
    created_at: str
    updated_at: str
    output_key: str | None = None
    reason: str | None = None
    notified_at: str | None = None
    owner: str | None = None  # who uploaded it (handlers/http_request.principal_of); None before owners
    source_key: str | None = None  # a file dropped into incoming/: its key, where it stays

    def visible_to(self, caller: str | None) -> bool:
        """Only its uploader sees an upload; one stored before uploads had owners, anyone signed in."""
        return self.owner is None or self.owner == caller

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> UploadStatus:
        return cls(
            upload_id=str(item[STATUS_TABLE_KEY]),
            status=str(item["status"]),
            rule_id=str(item.get("ruleId", "")),
            file_name=str(item.get("fileName", "")),
            input_key=str(item.get("inputKey", "")),
            size_bytes=int(item.get("sizeBytes", 0)),
            created_at=str(item.get("createdAt", "")),
            updated_at=str(item.get("updatedAt", "")),
            output_key=item.get("outputKey"),
            reason=item.get("reason"),
            notified_at=item.get(NOTIFIED_AT),
            owner=item.get("owner"),
            source_key=item.get("sourceKey"),
        )


class UploadStatusTable:
    """Typed access to the status table through a boto3 DynamoDB Table resource."""

    def __init__(self, table: Table) -> None:
        self.table = table

    @property
    def name(self) -> str:
        return str(self.table.name)

    def create_pending(
        self,
        *,
        upload_id: str,
        rule_id: str,
        file_name: str,
        input_key: str,
        size_bytes: int,
        now: datetime,
        owner: str | None = None,
    ) -> UploadStatus:
        return self._create(
            STATUS_PENDING,
            upload_id=upload_id,
            rule_id=rule_id,
            file_name=file_name,
            input_key=input_key,
            size_bytes=size_bytes,
            now=now,
            owner=owner,
        )

    def create_awaiting_upload(
        self,
        *,
        upload_id: str,
        rule_id: str,
        file_name: str,
        staged_key: str,
        now: datetime,
        owner: str | None = None,
        dropped_output_key: str | None = None,
    ) -> UploadStatus:
        """A large upload's row, before its file reached S3: `inputKey` names where it is to be posted, its
        size is unknown (0) until the validator reads it. A dropped file's row (`dropped_output_key` given)
        names the file as `sourceKey` too, and where its JSON will go."""
        dropped = {"sourceKey": staged_key, "outputKey": dropped_output_key or ""}
        return self._create(
            STATUS_AWAITING_UPLOAD,
            upload_id=upload_id,
            rule_id=rule_id,
            file_name=file_name,
            input_key=staged_key,
            size_bytes=0,
            now=now,
            owner=owner,
            extra=dropped if dropped_output_key is not None else {},
        )

    def _create(
        self,
        status: str,
        *,
        upload_id: str,
        rule_id: str,
        file_name: str,
        input_key: str,
        size_bytes: int,
        now: datetime,
        owner: str | None,
        extra: dict[str, str] | None = None,
    ) -> UploadStatus:
        stamp = iso_utc(now)
        item: dict[str, str | int] = {
            STATUS_TABLE_KEY: upload_id,
            "status": status,
            "ruleId": rule_id,
            "fileName": file_name,
            "inputKey": input_key,
            "sizeBytes": size_bytes,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        if owner is not None:
            item["owner"] = owner
        item.update(extra or {})
        # uuid4 collisions do not happen; the condition turns a bug that reused an id into an error.
        self.table.put_item(Item=item, ConditionExpression=f"attribute_not_exists({STATUS_TABLE_KEY})")
        return UploadStatus.from_item(item)

    def get(self, upload_id: str) -> UploadStatus | None:
        item = self.table.get_item(Key={STATUS_TABLE_KEY: upload_id}, ConsistentRead=True).get("Item")
        return None if item is None else UploadStatus.from_item(item)

    def mark_done(self, upload_id: str, *, output_key: str, now: datetime) -> bool:
        """True if this call moved the upload from pending to done."""
        return self._finish(upload_id, STATUS_DONE, "outputKey", output_key, now)

    def mark_failed(self, upload_id: str, *, reason: str, now: datetime) -> bool:
        """True if this call moved the upload from pending (or awaiting_upload) to failed."""
        return self._finish(
            upload_id,
            STATUS_FAILED,
            "reason",
            reason[:MAX_REASON_CHARS],
            now,
            from_statuses=(STATUS_PENDING, STATUS_AWAITING_UPLOAD),
        )

    def mark_rejected(self, upload_id: str, *, reason: str, now: datetime) -> bool:
        """True if this call moved a large upload from awaiting_upload to rejected (its file failed the
        checks)."""
        return self._finish(
            upload_id,
            STATUS_REJECTED,
            "reason",
            reason[:MAX_REASON_CHARS],
            now,
            from_statuses=(STATUS_AWAITING_UPLOAD,),
        )

    def mark_staged_accepted(self, upload_id: str, *, input_key: str, size_bytes: int, now: datetime) -> bool:
        """True if this call moved a large upload from awaiting_upload to pending: its file passed the checks
        and is stored (normalised, `size_bytes`) as `input_key`, where the worker reads it."""
        return self._updated_if(
            Key={STATUS_TABLE_KEY: upload_id},
            UpdateExpression="SET #status = :pending, inputKey = :key, sizeBytes = :size, updatedAt = :now",
            ConditionExpression=f"attribute_exists({STATUS_TABLE_KEY}) AND #status = :awaiting",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":pending": STATUS_PENDING,
                ":key": input_key,
                ":size": size_bytes,
                ":now": iso_utc(now),
                ":awaiting": STATUS_AWAITING_UPLOAD,
            },
        )

    def claim_notice(self, upload_id: str, *, now: datetime) -> bool:
        """True if this delivery may publish the upload's outcome: it was not recorded as published, and no
        other delivery is publishing it (a claim older than NOTICE_CLAIM_SECONDS was abandoned)."""
        return self._updated_if(
            Key={STATUS_TABLE_KEY: upload_id},
            UpdateExpression="SET #claimed = :now",
            ConditionExpression=(
                f"attribute_exists({STATUS_TABLE_KEY}) AND attribute_not_exists(#notified) "
                "AND (attribute_not_exists(#claimed) OR #claimed < :stale)"
            ),
            ExpressionAttributeNames={"#claimed": NOTICE_CLAIMED_AT, "#notified": NOTIFIED_AT},
            ExpressionAttributeValues={
                ":now": iso_utc(now),
                ":stale": iso_utc(now - timedelta(seconds=NOTICE_CLAIM_SECONDS)),
            },
        )

    def release_notice(self, upload_id: str) -> None:
        """Give up a claim whose publish failed, so the next delivery publishes at once."""
        self.table.update_item(
            Key={STATUS_TABLE_KEY: upload_id},
            UpdateExpression="REMOVE #claimed",
            ExpressionAttributeNames={"#claimed": NOTICE_CLAIMED_AT},
        )

    def mark_notified(self, upload_id: str, *, now: datetime) -> None:
        """Record that the outcome was published, so later deliveries do not publish it again."""
        finals = {f":final{index}": status for index, status in enumerate(sorted(FINAL_STATUSES))}
        self.table.update_item(
            Key={STATUS_TABLE_KEY: upload_id},
            UpdateExpression="SET #notified = :now",
            ConditionExpression=(
                f"attribute_exists({STATUS_TABLE_KEY}) AND #status IN ({', '.join(finals)})"
            ),
            ExpressionAttributeNames={"#notified": NOTIFIED_AT, "#status": "status"},
            ExpressionAttributeValues={":now": iso_utc(now), **finals},
        )

    def _updated_if(self, **update: Any) -> bool:
        """True if the conditional update_item was applied, False if its condition did not hold."""
        try:
            self.table.update_item(**update)
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def _finish(
        self,
        upload_id: str,
        status: str,
        attribute: str,
        value: str,
        now: datetime,
        *,
        from_statuses: tuple[str, ...] = (STATUS_PENDING,),
    ) -> bool:
        sources = {f":from{index}": source for index, source in enumerate(from_statuses)}
        return self._updated_if(
            Key={STATUS_TABLE_KEY: upload_id},
            UpdateExpression="SET #status = :status, #detail = :detail, updatedAt = :now",
            ConditionExpression=(
                f"attribute_exists({STATUS_TABLE_KEY}) AND #status IN ({', '.join(sources)})"
            ),
            ExpressionAttributeNames={"#status": "status", "#detail": attribute},
            ExpressionAttributeValues={
                ":status": status,
                ":detail": value,
                ":now": iso_utc(now),
                **sources,
            },
        )


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
