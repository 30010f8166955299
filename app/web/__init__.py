"""Serving the terminal app in a browser (textual-serve), offline.

textual-serve has no authentication of its own. For training (`vigil demo
--web`) it serves on 127.0.0.1. On a live database (`vigil serve
--trusted-header NAME`) it serves only behind the force's authenticating
proxy on this host: each browser session must come from loopback carrying the
header that names the person, and its Vigil process then acts as that
person's database login (``VIGIL_WEB_LOGIN``; the front's own login only
``SET ROLE``s to it). The database URL reaches the sessions through the
environment, never a command line.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
WEB_LOGIN_ENV = "VIGIL_WEB_LOGIN"


def app_command(argv: list[str]) -> str:
    """The command textual-serve runs for each browser session."""
    return shlex.join([sys.executable, "-m", "tui", *argv])


def person_from_request(remote: str | None, headers: Any, trusted_header: str) -> str | None:
    """The person the proxy authenticated, or None (refuse the session): only
    a loopback peer's header is believed."""
    from app.errors import BadInput
    from app.services.users import normalise_username

    if remote not in LOOPBACK:
        return None
    raw = headers.get(trusted_header)
    if not raw:
        return None
    try:
        return normalise_username(raw)
    except BadInput:
        return None


def serve(argv: list[str], *, host: str, port: int, title: str,
          environment: dict[str, str] | None = None, trusted_header: str | None = None) -> None:
    """Serve ``vigil ARGV`` at http://host:port/ with the bundled font."""
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    extra = dict(environment or {})

    class SessionService(AppService):
        def __init__(self, *args: Any, person: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._person = person

        def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
            env = super()._build_environment(width, height)
            env.update(extra)
            env.pop(WEB_LOGIN_ENV, None)
            if self._person:
                env[WEB_LOGIN_ENV] = self._person
            return env

    class VigilServer(Server):
        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's own, with the person the proxy named (each
            session its own process and identity)."""
            import asyncio

            from textual_serve.server import log, to_int

            person = None
            if trusted_header:
                person = person_from_request(request.remote, request.headers, trusted_header)
                if person is None:
                    raise web.HTTPForbidden(text="no authenticated person: Vigil is served "
                                            "only behind the force's proxy")
            websocket = web.WebSocketResponse(heartbeat=15)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: SessionService | None = None
            try:
                await websocket.prepare(request)
                app_service = SessionService(
                    self.command, write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str, close=websocket.close,
                    download_manager=self.download_manager, debug=self.debug, person=person)
                await app_service.start(width, height)
                try:
                    await self._process_messages(websocket, app_service)
                finally:
                    await app_service.stop()
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:  # as textual-serve: log it, end the session
                log.exception(error)
            finally:
                if app_service is not None:
                    await app_service.stop()
            return websocket

    server = VigilServer(app_command(argv), host=host, port=port, title=title,
                         templates_path=TEMPLATES)
    server.serve()
