"""The console's routes, on their own and behind the gateway: what they answer, and what they refuse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from moto import mock_aws

from localcloud.console.serve import Console, is_loopback_host, static_text
from localcloud.core.cli_up import connection_text
from localcloud.core.deployment import DeployedResource, Deployment
from localcloud.core.http_client import request
from localcloud.core.running_instance import RunningInstance
from localcloud.services.apigateway.gateway import HttpGateway

HOST = "127.0.0.1:4567"


@pytest.fixture
def console() -> Iterator[Console]:
    deployment = Deployment()
    deployment.resources.append(
        DeployedResource(
            urn="urn:pulumi:local::proj::proj:batch:Batch$aws:sqs/queue:Queue::work",
            typ="aws:sqs/queue:Queue",
            logical_name="work",
            region="us-east-1",
            resource_id="work-1a2b",
            skipped=False,
        )
    )
    with mock_aws():  # an empty AWS to read
        yield Console(stack="local", deployment=deployment, exports=lambda: {"bucket": "b-1"})


def header(headers: list[tuple[str, str]], name: str) -> str:
    (value,) = [value for key, value in headers if key.lower() == name.lower()]
    return value


class ScriptsAndHandlers(HTMLParser):
    """Every <script> (with its src) and every on* attribute in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.inline_code: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))
            self._in_script = True
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_code.append(data)


def test_the_page_runs_only_its_own_script_under_a_policy_that_forbids_any_other(console: Console) -> None:
    # WHEN the root is asked for
    page = console.respond("GET", "/", "", HOST)
    # THEN it is the HTML page, with one external script, no inline code and no event handler attributes
    assert page.status == 200 and header(page.headers, "Content-Type").startswith("text/html")
    found = ScriptsAndHandlers()
    found.feed(page.body.decode())
    assert (found.scripts, found.inline_code, found.handlers) == (["/_console/console.js"], [], [])
    # AND its policy allows scripts, styles and fetches from its own origin only, and no framing
    policy = header(page.headers, "Content-Security-Policy")
    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["script-src"] == directives["style-src"] == directives["connect-src"] == "'self'"
    assert directives["default-src"] == directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert header(page.headers, "X-Content-Type-Options") == "nosniff"


def test_the_page_says_it_is_localclouds_own_and_not_deployed_to_aws(console: Console) -> None:
    text = " ".join(console.respond("GET", "/", "", HOST).body.decode().split())
    assert "localcloud's own" in text and "never deployed to AWS" in text


def test_the_script_and_style_sheet_are_served_with_their_types_and_the_same_policy(console: Console) -> None:
    for path, content_type in (
        ("/_console/console.js", "text/javascript"),
        ("/_console/console.css", "text/css"),
    ):
        answer = console.respond("GET", path, "", HOST)
        assert answer.status == 200 and answer.body
        assert header(answer.headers, "Content-Type").startswith(content_type)
        assert header(answer.headers, "X-Content-Type-Options") == "nosniff"


def test_the_script_never_writes_markup_from_data() -> None:
    # GIVEN the page's script (data reaches the page through it alone)
    script = static_text("console.js").decode()
    # THEN it creates elements and text nodes, and never parses a string as HTML
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_the_state_is_json_of_the_stack_and_its_resources(console: Console) -> None:
    answer = console.respond("GET", "/_console/state.json", "", HOST)
    assert answer.status == 200 and header(answer.headers, "Content-Type").startswith("application/json")
    taken = json.loads(answer.body)
    assert (taken["stack"], taken["outputs"], taken["errors"]) == (
        "local",
        [{"name": "bucket", "value": "b-1"}],
        {},
    )
    assert [(group["system"], group["count"]) for group in taken["resources"]] == [("proj:batch", 1)]


def test_an_execution_is_asked_for_by_one_arn(console: Console) -> None:
    assert console.respond("GET", "/_console/execution.json", "", HOST).status == 400
    unknown = console.respond("GET", "/_console/execution.json", "arn=arn:aws:states:x:1:execution:m:e", HOST)
    assert unknown.status == 404 and "arn:aws:states:x:1:execution:m:e" in json.loads(unknown.body)["message"]


def test_the_console_only_reads(console: Console) -> None:
    refused = console.respond("POST", "/_console/state.json", "", HOST)
    assert refused.status == 405 and header(refused.headers, "Allow") == "GET, HEAD"
    assert console.respond("HEAD", "/", "", HOST).status == 200


def test_an_unknown_console_path_is_not_found(console: Console) -> None:
    assert console.respond("GET", "/_console/../../etc/passwd", "", HOST).status == 404


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:4567", True),
        ("localhost:8080", True),
        ("[::1]:4567", True),
        ("127.0.0.2", True),
        ("", True),
        ("attacker.example:4567", False),
        ("127.0.0.1.attacker.example", False),
        ("10.0.0.5:4567", False),
    ],
)
def test_only_a_loopback_host_is_answered(console: Console, host: str, loopback: bool) -> None:
    # (a page elsewhere can point a name of its own at 127.0.0.1: the browser then sends that name)
    assert is_loopback_host(host) is loopback
    assert (console.respond("GET", "/_console/state.json", "", host).status == 200) is loopback


# -------------------------------------------------------------------------------- behind the gateway
def no_invocations(*_args: Any) -> Any:
    raise AssertionError("the console invokes no function")


@pytest.fixture
def gateway(console: Console) -> Iterator[HttpGateway]:
    with HttpGateway(
        invoke=no_invocations, may_invoke=no_invocations, client_factory=no_invocations, console=console
    ) as running:
        yield running


def test_the_gateway_serves_the_console_at_its_root_and_its_apis_as_before(gateway: HttpGateway) -> None:
    # WHEN a browser asks for the root, then the state the page polls
    page = request("GET", f"{gateway.base_url}/")
    polled = request("GET", f"{gateway.base_url}/_console/state.json")
    # THEN the page and its state come back
    assert page.status == 200 and b"localcloud console" in page.body
    assert polled.status == 200 and polled.json()["stack"] == "local"
    # AND a path of no API and no console is still the gateway's 404
    assert request("GET", f"{gateway.base_url}/apis/none/route").status == 404


def test_a_gateway_without_a_console_has_nothing_at_its_root() -> None:
    with HttpGateway(
        invoke=no_invocations, may_invoke=no_invocations, client_factory=no_invocations
    ) as running:
        assert request("GET", f"{running.base_url}/").status == 404


def test_up_prints_where_the_console_is_among_what_other_tools_need() -> None:
    # GIVEN a running `up` whose gateway is on a loopback port
    instance = RunningInstance(
        pid=1,
        stack="local",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        gateway_url="http://127.0.0.1:40000",
    )
    # WHEN it says how to reach it
    lines = connection_text(instance).splitlines()
    # THEN the console's URL is one line, at the gateway's root, saying it is localcloud's alone
    (console,) = [line for line in lines if line.startswith("Console")]
    assert console.endswith(" http://127.0.0.1:40000/")
    assert "localcloud only" in console and "not deployed to AWS" in console
    # AND the endpoint lines are still there
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4566" in lines
