"""handlers/transform/contract.py: url_origin, what the upload page's CORS rules and Origin checks name."""

from __future__ import annotations

import pytest

from handlers.transform.contract import url_origin


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (
            "https://regionflow-transform-input.s3.eu-west-1.amazonaws.com/",
            "https://regionflow-transform-input.s3.eu-west-1.amazonaws.com",
        ),
        (
            "https://abc123.execute-api.eu-west-1.amazonaws.com/page/app.js?v=2#top",
            "https://abc123.execute-api.eu-west-1.amazonaws.com",
        ),
        ("http://localhost:4566/regionflow-transform-input", "http://localhost:4566"),
    ],
    ids=["bucket", "path-query-fragment", "port"],
)
def test_a_url_origin_is_its_scheme_and_host_with_any_port_and_nothing_after(url: str, origin: str) -> None:
    # GIVEN a URL
    # WHEN its origin is taken
    # THEN it is scheme://host[:port], without path, query or fragment
    assert url_origin(url) == origin
