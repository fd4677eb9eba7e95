"""Cross-origin requests answered as AWS answers them, not as moto's server does.

moto's server lets every origin call every service (flask_cors on each backend). AWS's service APIs do
answer browsers of any origin (the requests still need a signature or a token), but S3 answers only as
the bucket's CORS rules say: moto implements those rules once its allow-all is off for S3.

One port serves every service here, so a preflight (OPTIONS, no signature) at the endpoint's root names no
service moto can dispatch on; on AWS it reaches a service's own host (e.g. cognito-idp.<region>.
amazonaws.com, where the browser's sign-in goes). `preflight_route` answers those as the service APIs do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from localcloud.core.server_routes import Environ

# Services whose answers to browsers follow a resource's own CORS rules, not an allow-all.
RULE_BASED_SERVICES = frozenset({"s3"})
PREFLIGHT_MAX_AGE_SECONDS = 600

BackendAppFactory = Callable[[Any], Any]  # moto's create_backend_app: service -> its Flask app
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def backend_apps_with_aws_cors(create_backend_app: BackendAppFactory) -> BackendAppFactory:
    """moto's backend app factory with its allow-all CORS for every service but RULE_BASED_SERVICES."""
    from flask_cors import CORS  # noqa: PLC0415 - moto's server dependency, slow to import
    from moto.moto_server import werkzeug_app  # noqa: PLC0415

    # Read by create_backend_app on every call: one emulator per process, so process-wide is right.
    werkzeug_app.DISABLE_GLOBAL_CORS = True

    def create(service: Any) -> Any:
        app = create_backend_app(service)
        if service not in RULE_BASED_SERVICES:
            CORS(app)
        return app

    return create


def preflight_route(environ: Environ) -> Any:
    """A browser's preflight at the endpoint's root (a service API's, never a bucket's): the WSGI app
    answering it, or None for any other request."""
    if (
        environ.get("REQUEST_METHOD") != "OPTIONS"
        or environ.get("PATH_INFO", "/") not in ("", "/")
        or not environ.get("HTTP_ORIGIN")
        or not environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
    ):
        return None
    return _answer_preflight


def _answer_preflight(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    headers = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD"),
        ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_SECONDS)),
        ("Content-Length", "0"),
    ]
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if requested:
        headers.append(("Access-Control-Allow-Headers", requested))
    start_response("200 OK", headers)
    return [b""]
