"""Serving the page: `python -m app.serve [options of solara run]` is `solara run app.page` with
the requests' Host and the websocket's Origin checked (`make app`).

Solara accepts a websocket from any web page the browser has open: a page of another site could
drive this one (run models, read what it shows) through a visitor's browser, and a site that
rebinds its DNS name to 127.0.0.1 could reach a server bound to localhost. So every request
must name an allowed host (127.0.0.1, localhost, and the names in `APP_ALLOWED_HOSTS`, for a
server shared with a team), and a websocket must come from a page of that same host and port.
A client that sends no Origin (not a browser) is not affected: anyone who can reach the port
can use the page (docs/safety.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def allowed_hosts() -> set[str]:
    """Host names a request may address: this machine's, and `APP_ALLOWED_HOSTS` (commas)."""
    extra = os.environ.get("APP_ALLOWED_HOSTS", "")
    return {*LOCAL_HOSTS, *(h.strip().lower() for h in extra.split(",") if h.strip())}


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


def refusal(scope: Scope) -> str | None:
    """Why a request is refused, or None: its Host is not allowed, or a websocket's Origin is
    not the page's own (scheme aside: the same host and port)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers", [])}
    host = headers.get("host", "")
    if _hostname(host) not in allowed_hosts():
        return f"host {host!r} is not served (APP_ALLOWED_HOSTS)"
    origin = headers.get("origin")
    if (scope["type"] == "websocket" and origin is not None
            and urlsplit(origin).netloc.lower() != host.lower()):
        return f"websocket from origin {origin!r}, not from this page ({host})"
    return None


class OriginCheck:
    """ASGI middleware: refuse requests that `refusal` names (HTTP 403; a websocket is closed
    before it is accepted, which the server answers with 403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            reason = refusal(scope)
            if reason is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": reason})
                    return
                body = f"forbidden: {reason}\n".encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


SOLARA_APP = "solara.server.starlette:app"


def install() -> None:
    """Make uvicorn wrap Solara's ASGI app when it loads it. The wrapping waits for that moment:
    importing Solara's server module before `solara run` has set itself up stalls its start."""
    import uvicorn.config

    original = uvicorn.config.import_from_string
    if getattr(original, "wraps_solara", False):
        return

    def import_from_string(import_str: Any) -> Any:
        loaded = original(import_str)
        return OriginCheck(loaded) if import_str == SOLARA_APP else loaded

    import_from_string.wraps_solara = True  # type: ignore[attr-defined]
    uvicorn.config.import_from_string = import_from_string


def main(argv: list[str] | None = None) -> None:
    from solara.__main__ import main as solara_main

    install()
    sys.argv = ["solara", "run", "app.page", *(sys.argv[1:] if argv is None else argv)]
    solara_main()


if __name__ == "__main__":
    main()
