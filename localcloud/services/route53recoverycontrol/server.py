"""ARC on the emulator's port: requests signed for ARC's two services reach its response classes.

moto has no ARC and its server picks a backend from the request's signing service, so the dispatcher is
taught two more: route53-recovery-control-config (the control plane) and route53-recovery-cluster (a
cluster's data plane, whose five regional endpoints are paths under the emulator's URL). An unsigned
request to a cluster endpoint still reaches ARC, where IAM enforcement refuses it as AWS would.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from localcloud.core.server_routes import add_route
from localcloud.services.route53recoverycontrol.models import ArcBackend
from localcloud.services.route53recoverycontrol.responses import (
    ControlConfigResponse,
    RecoveryClusterResponse,
    use_backend,
)

_RESPONSES: dict[str, type[ControlConfigResponse] | type[RecoveryClusterResponse]] = {
    "route53-recovery-control-config": ControlConfigResponse,
    "route53-recovery-cluster": RecoveryClusterResponse,
}
CLUSTER_PATH_PREFIX = "/route53-recovery-cluster/"
_apps: dict[str, Any] = {}
_apps_lock = threading.Lock()


def install(backend: ArcBackend) -> None:
    """Serve `backend` on the emulator's moto server (process-global, like moto's own state)."""
    use_backend(backend)
    add_route(_arc_app)


def uninstall() -> None:
    use_backend(None)


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service a request is signed for (header or presigned), or ARC's data plane by its path."""
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        scope = (parse_qs(str(environ.get("QUERY_STRING") or "")).get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    if len(parts) >= 4:
        return parts[3]
    if str(environ.get("PATH_INFO") or "").startswith(CLUSTER_PATH_PREFIX):
        return "route53-recovery-cluster"
    return None


def _arc_app(environ: dict[str, Any]) -> Any:
    """The app for a request signed for one of ARC's services (or sent to a cluster endpoint), else None."""
    service = signing_service(environ)
    return _app(service) if service in _RESPONSES else None


def _app(service: str) -> Any:
    """A Flask app answering every path with the service's response class, built as moto builds its own."""
    with _apps_lock:
        if service not in _apps:
            from flask import Flask  # noqa: PLC0415 - moto's server dependency, loaded with it
            from moto.core.utils import convert_to_flask_response  # noqa: PLC0415
            from moto.moto_server.werkzeug_app import BackendRequest  # noqa: PLC0415

            app = Flask(f"localcloud-{service}")
            app.request_class = BackendRequest
            view = convert_to_flask_response(_RESPONSES[service].dispatch)
            methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
            app.add_url_rule("/", "dispatch", view, methods=methods)
            app.add_url_rule("/<path:path>", "dispatch-path", view, methods=methods)
            _apps[service] = app
        return _apps[service]
