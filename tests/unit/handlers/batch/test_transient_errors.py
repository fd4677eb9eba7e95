"""The batch workflows retry transient errors by name: each name is the class name a task really raises.

Lambda reports an exception as its class name (the errorType) and Step Functions matches a Retrier's
ErrorEquals against exactly that string, so a misspelt name in handlers/batch/contract.py would silently
never be retried.
"""

from __future__ import annotations

import boto3
import botocore.exceptions

from handlers.batch import financials
from handlers.batch.contract import TRANSIENT_ERRORS

from .chunk_fixtures import REGION


def raised_class(name: str) -> type | None:
    """The exception class a batch task raises under `name`: its own, DynamoDB's or botocore's."""
    dynamodb_errors = boto3.client("dynamodb", region_name=REGION).exceptions
    for source in (financials, dynamodb_errors, botocore.exceptions):
        found = getattr(source, name, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return found
    return None


def test_every_transient_error_name_is_the_class_name_of_an_error_a_task_raises() -> None:
    # GIVEN each name the batch workflows retry
    # WHEN it is looked up among the errors a task can raise (its own, DynamoDB's, botocore's)
    unknown = [
        name for name in TRANSIENT_ERRORS if (found := raised_class(name)) is None or found.__name__ != name
    ]
    # THEN every one is an exception class's own name
    assert unknown == []
    assert raised_class("FinancialsUnavailabeError") is None  # the lookup does fail on a misspelling
    # AND none is the catch-all ClientError, which would retry AccessDenied and ValidationException too
    assert botocore.exceptions.ClientError.__name__ not in TRANSIENT_ERRORS
