"""Requests moto's server has no backend for, routed to localcloud's own services on the same port.

moto's dispatcher picks a backend from the request (signing service, host, path); services moto lacks
(Route 53 ARC, S3 Multi-Region Access Points) register a route here: given a request's WSGI environ, it
returns the WSGI app that serves it, or None. One patch of the dispatcher serves them all; routes are
asked in registration order, then moto's own dispatch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Environ = dict[str, Any]
Route = Callable[[Environ], Any]  # environ -> a WSGI app, or None when the request is not the route's

_routes: list[Route] = []
_lock = threading.Lock()
_patched = False


def add_route(route: Route) -> None:
    """Serve the requests `route` claims (idempotent per route)."""
    with _lock:
        if route not in _routes:
            _routes.append(route)
        _patch_dispatcher()


def _patch_dispatcher() -> None:
    global _patched  # noqa: PLW0603 - patching moto's dispatcher is process-global by nature
    if _patched:
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: PLC0415 - slow

    original = DomainDispatcherApplication.get_application

    def get_application(self: Any, environ: Environ) -> Any:
        for route in _routes:
            app = route(environ)
            if app is not None:
                return app
        return original(self, environ)

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
    _patched = True
