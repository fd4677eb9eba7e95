"""behind_function_url: a function URL's payload 2.0 event names its route "$default"; an HTTP API route
names its method and path. Only the first is behind a function URL, and an event without a usable
requestContext is not."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.http_request import behind_function_url


def test_a_request_whose_route_is_default_came_through_a_function_url() -> None:
    # GIVEN a function URL's event: payload 2.0, its route key "$default" at the top and in requestContext
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "requestContext": {"routeKey": "$default", "domainName": "abc123.lambda-url.eu-west-1.on.aws"},
    }
    # WHEN it is asked where the request came from
    # THEN it came through a function URL
    assert behind_function_url(event) is True


@pytest.mark.parametrize("route_key", ["POST /upload", "GET /uploads/{id}", "$DEFAULT", "", None])
def test_a_request_on_any_other_route_did_not_come_through_a_function_url(route_key: str | None) -> None:
    # GIVEN an HTTP API route's event, its requestContext naming another route (or none)
    event = {"version": "2.0", "requestContext": {"routeKey": route_key}}
    # WHEN it is asked where the request came from
    # THEN not through a function URL
    assert behind_function_url(event) is False


def test_only_the_request_context_names_the_route_not_the_top_level_copy() -> None:
    # GIVEN an event whose top-level routeKey says "$default" but whose requestContext names a route
    event = {"routeKey": "$default", "requestContext": {"routeKey": "POST /uploads"}}
    # WHEN it is asked where the request came from
    # THEN the requestContext's route counts: not through a function URL
    assert behind_function_url(event) is False


@pytest.mark.parametrize(
    "event",
    [{}, {"requestContext": None}, {"requestContext": "$default"}, {"requestContext": ["$default"]}],
    ids=["no-request-context", "null-request-context", "string-request-context", "list-request-context"],
)
def test_an_event_without_a_request_context_mapping_did_not_come_through_a_function_url(
    event: dict[str, Any],
) -> None:
    # GIVEN an event with no requestContext, or one that is not a mapping
    # WHEN it is asked where the request came from
    # THEN not through a function URL, and nothing is raised
    assert behind_function_url(event) is False
