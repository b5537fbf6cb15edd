"""A tiny threaded HTTP server for provider stubs: each stub module supplies a ``handle`` function
that speaks one provider's documented wire format (and checks its request signing); tests point the
adapter's endpoint at ``server.url``. Loopback only. It speaks HTTP/1.1 and keeps connections
open, as the providers do; each request records the client's port, so a test can tell whether two
calls shared one connection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class StubRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    client_port: int = 0  # one TCP connection, one port


@dataclass
class StubResponse:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


Handler = Callable[[StubRequest], StubResponse]


class StubServer:
    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.requests: list[StubRequest] = []
        outer = self

        class _Http(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = StubRequest(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                    self.client_address[1],
                )
                outer.requests.append(request)
                try:
                    response = outer.handle(request)
                except Exception as exc:  # a stub bug shows up as a 599 the test will see
                    response = StubResponse(599, f"stub error: {exc!r}".encode())
                body = response.body.encode() if isinstance(response.body, str) else response.body
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Http)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serving(handle: Handler) -> Iterator[StubServer]:
    server = StubServer(handle).start()
    try:
        yield server
    finally:
        server.stop()
