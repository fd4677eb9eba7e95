"""GET /financials/{uuid}: 200 with the item, 404 for an unknown uuid, 400 for something that is no uuid;
traces keep no reply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.batch import financials_api

from ..conftest import FakeLambdaContext, load_event
from ..recording_tracer import record_traces
from .chunk_fixtures import ChunkCloud, chunk_cloud_fixture, financials_event  # noqa: F401

FINANCIALS_CSV = (
    b"uuid,unitsSold,unitPrice,unitCost,totalRevenue,totalCost,totalProfit\r\n"
    b"535113847,934,152.58,97.44,142509.72,91008.96,51500.76\r\n"
    b"AB-12,10,9.50,7.00,95.00,70.00,25.00\r\n"
)


def get(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any]]:
    response = financials_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_known_uuid_returns_its_financial_data_as_loaded(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the seed's financial line in the table
    chunk_cloud.load_financials(FINANCIALS_CSV)
    # WHEN the recorded API Gateway event asks for its uuid
    status_code, body = get(load_event("batch_financials_get.json"), lambda_context)
    # THEN the reply is the uuid and its six fields as the strings loaded
    assert status_code == 200
    assert body == {
        "uuid": "535113847",
        "unitsSold": "934",
        "unitPrice": "152.58",
        "unitCost": "97.44",
        "totalRevenue": "142509.72",
        "totalCost": "91008.96",
        "totalProfit": "51500.76",
    }


def test_a_uuid_with_letters_and_a_dash_is_a_uuid(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext
) -> None:
    chunk_cloud.load_financials(FINANCIALS_CSV)
    status_code, body = get(financials_event("AB-12"), lambda_context)
    assert (status_code, body["uuid"], body["unitPrice"]) == (200, "AB-12", "9.50")


def test_an_unknown_uuid_is_404_naming_it(chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext) -> None:
    chunk_cloud.load_financials(FINANCIALS_CSV)
    assert get(financials_event("123"), lambda_context) == (
        404,
        {"message": "no financial data for uuid 123"},
    )


@pytest.mark.parametrize("uuid", ["1234567890", "12$4", "12.4", "%20"])
def test_something_that_is_no_uuid_is_400_naming_the_rule(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext, uuid: str
) -> None:
    status_code, body = get(financials_event(uuid), lambda_context)
    assert status_code == 400
    assert body["message"] == (
        f"{uuid!r} is not a uuid: a uuid is 1 to 9 characters, each a digit, a letter (A-Z, a-z) or '-'"
    )


def test_traces_keep_no_financial_data(
    chunk_cloud: ChunkCloud, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the seed's financial line in the table, and a tracer whose traces are recorded
    chunk_cloud.load_financials(FINANCIALS_CSV)
    traces = record_traces(financials_api.tracer, monkeypatch)
    # WHEN its financial data is read
    status_code, body = get(load_event("batch_financials_get.json"), lambda_context)
    # THEN the handler and the route were traced
    assert (status_code, body["totalRevenue"]) == (200, "142509.72")
    traced = [subsegment.name for subsegment in traces.subsegments]
    assert "## lambda_handler" in traced and any(name.endswith("get_financials") for name in traced)
    # AND no trace kept a response: revenue, cost and profit stay out of X-Ray
    assert not [name for name in traces.recorded() if name.endswith(" response")]
    assert "142509.72" not in repr(traces.recorded())
