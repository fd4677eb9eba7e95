"""AWS us-east-1 list prices the batch cost benchmark bills with (as published; not fetched)."""

from __future__ import annotations

from dataclasses import dataclass

# ---- prices ---------------------------------------------------------------------------------------------
PRICES_CHECKED = "2026-11"
STEP_FUNCTIONS_PRICING = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
API_GATEWAY_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float  # per one unit
    published: str  # the figure as the page publishes it (us-east-1)
    url: str


PRICES: dict[str, Price] = {
    "standard_transitions": Price(
        0.025 / 1000, "Standard workflows: $0.025 per 1,000 state transitions", STEP_FUNCTIONS_PRICING
    ),
    "express_requests": Price(
        1.00 / 1_000_000, "Express workflows: $1.00 per 1M requests", STEP_FUNCTIONS_PRICING
    ),
    "express_gb_seconds": Price(
        0.00001667,
        "Express workflows: $0.00001667 per GB-second ($0.06 per GB-hour), first 1,000 GB-hours",
        STEP_FUNCTIONS_PRICING,
    ),
    "lambda_requests": Price(0.20 / 1_000_000, "Lambda: $0.20 per 1M requests", LAMBDA_PRICING),
    "lambda_gb_seconds": Price(
        0.0000166667, "Lambda x86: $0.0000166667 for every GB-second (first 6 billion)", LAMBDA_PRICING
    ),
    "api_gateway_requests": Price(
        3.50 / 1_000_000, "REST APIs: $3.50 per million requests (first 333 million)", API_GATEWAY_PRICING
    ),
    "dynamodb_rru": Price(
        0.125 / 1_000_000, "on-demand: $0.125 per million read request units", DYNAMODB_PRICING
    ),
    "dynamodb_wru": Price(
        0.625 / 1_000_000, "on-demand: $0.625 per million write request units", DYNAMODB_PRICING
    ),
    "dynamodb_replicated_wru": Price(
        0.625 / 1_000_000,
        "global tables on-demand: $0.625 per million replicated write request units",
        DYNAMODB_PRICING,
    ),
    "s3_put_requests": Price(
        0.005 / 1000, "S3 Standard: PUT, COPY, POST, LIST requests $0.005 per 1,000", S3_PRICING
    ),
    "s3_get_requests": Price(
        0.0004 / 1000, "S3 Standard: GET, SELECT and all other requests $0.0004 per 1,000", S3_PRICING
    ),
}

# S3 operations billed at the PUT, COPY, POST, LIST price; every other request is billed as a GET.
S3_PUT_CLASS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjects",
        "ListObjectsV2",
    }
)
