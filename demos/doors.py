"""Calling the stack's doors as their callers do: producers sign as their system's caller role (SigV4);
people sign in to the upload routes' user pool (or, behind function URLs, sign as its caller role).

The demo and the e2e tests use `call(cloud, system, ...)`; each system's caller is made once per cloud.
"""

from __future__ import annotations

import secrets
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from localcloud.core.cloud import LocalCloud
from localcloud.core.http_client import HttpResponse, request
from scripts.api_auth import Caller, assume_caller_role, sign_in

System = Literal["artifact", "audit", "batch", "events", "transform"]
DEMO_USER = "demo-uploader@example.com"

# Per cloud (a test session starts several, one after another): its callers die with it.
_callers: weakref.WeakKeyDictionary[LocalCloud, dict[System, Caller]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def caller(cloud: LocalCloud, system: System) -> Caller:
    """Who calls `system`'s doors in the demo: a session of its caller role, or the demo user."""
    with _lock:
        known = _callers.setdefault(cloud, {})
        if system not in known:
            known[system] = _new_caller(cloud, system)
        return known[system]


def _new_caller(cloud: LocalCloud, system: System) -> Caller:
    if system == "transform" and cloud.exports.get("transformUserPoolId"):
        return demo_user(cloud)
    return assume_caller_role(
        cloud.client("sts"),
        cloud.exports[f"{system}CallerRoleArn"],
        session_name=f"demo-{system}",
        region=cloud.exports["regions"][0],
    )


def person_with_password(cloud: LocalCloud, username: str = DEMO_USER) -> str:
    """A person of the upload routes' user pool, created if new, given a fresh password (returned), as
    an administrator does it: the people who may upload are invited, never signed up."""
    cognito = cloud.client("cognito-idp")
    pool_id = cloud.exports["transformUserPoolId"]
    # Meets the pool's policy (12+ characters, every class) and is never written anywhere.
    password = f"Aa1!{secrets.token_urlsafe(18)}"
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return password


def demo_user(cloud: LocalCloud, username: str = DEMO_USER) -> Caller:
    """A person of the upload routes' user pool (created with a fresh password), signed in."""
    password = person_with_password(cloud, username)
    return sign_in(
        cloud.client("cognito-idp"),
        user_pool_id=cloud.exports["transformUserPoolId"],
        client_id=cloud.exports["transformUserPoolClientId"],
        username=username,
        password=password,
    )


def call(
    cloud: LocalCloud,
    system: System,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str | None = None,
) -> HttpResponse:
    """One request to a door of `system` in `region` (default: the stack's primary), authenticated as its
    caller."""
    signed = caller(cloud, system).headers(method, url, body, headers or {}, region=region)
    return request(method, url, body=body or None, headers=signed)


@dataclass(frozen=True)
class Door:
    """One route of the stack, with a request its caller could send (path parameters filled in)."""

    system: System
    method: str
    url: str
    region: str
    body: bytes = b""

    @property
    def name(self) -> str:
        last_segment = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        return f"{self.system}: {self.method} .../{last_segment} in {self.region}"


def every_door(cloud: LocalCloud) -> list[Door]:
    """Every route the stack exports, in every region it is served in (its deployed systems' only)."""
    exports = cloud.exports
    home = exports["regions"][0]
    sample_id = "00000000-0000-4000-8000-000000000000"
    doors: list[Door] = []
    if "artifactBuildsUrl" in exports:
        doors.append(
            Door("artifact", "POST", exports["artifactBuildsUrl"], home, b'{"commit": "0123456789abcdef"}')
        )
    if "auditUrl" in exports:
        doors.append(Door("audit", "POST", exports["auditUrl"], home, b'{"payload": "QQ==", "metadata": {}}'))
    if "transformUploadUrl" in exports:
        doors += [
            Door(
                "transform", "POST", f"{exports['transformUploadUrl']}?rule=orders&name=x.xml", home, b"<a/>"
            ),
            Door("transform", "GET", exports["transformStatusUrl"].replace("{id}", sample_id), home),
            Door("transform", "POST", f"{exports['transformUploadsUrl']}?rule=orders&name=x.xml", home),
            Door("transform", "GET", exports["transformRulesUrl"], home),
        ]
    doors += [
        Door("events", "POST", url, region, b'{"id": "e", "data": {}, "timestamp": 1, "idempotencyKey": "k"}')
        for region, url in exports.get("eventsUrls", {}).items()
    ]
    doors += [
        Door("batch", "GET", url.replace("{uuid}", "535113847"), region)
        for region, url in exports.get("batchFinancialsUrls", {}).items()
    ]
    return doors


def refused_anonymously(door: Door) -> HttpResponse:
    """The door's answer to the request sent with no credentials at all."""
    return request(
        door.method, door.url, body=door.body or None, headers={"Content-Type": "application/json"}
    )


def run(cloud: LocalCloud, report: Callable[[str], None]) -> bool:
    """The demo's check that no door is open: each refuses a request without credentials (401/403)."""
    answers = {door.name: refused_anonymously(door).status for door in every_door(cloud)}
    opened = {name: status for name, status in answers.items() if status not in (401, 403)}
    for name, status in answers.items():
        report(f"  [{'FAILED' if name in opened else 'ok'}] {name}: anonymous request answered {status}")
    report(f"doors: {len(answers) - len(opened)} of {len(answers)} refuse anonymous requests")
    return not opened
