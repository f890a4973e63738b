"""A real HTTP server on 127.0.0.1 for the Python tests: it answers each request with the
next canned reply of a queue and records what it received. No mocking library: the client
under test talks to a socket, through its own HTTP stack.

The canned replies of `tests/fixtures/wire/*.http` are raw responses captured from the real Grantex
server (copied from the project's wire captures so the tests stand alone).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# The helpers of the `test_testing_*` modules assert, as the tests do: rewrite them too.
pytest.register_assert_rewrite("testing_helpers")

# The captures are shared with the Rust tests.
FIXTURES = Path(__file__).parents[1] / "fixtures" / "wire"
API_KEY = "gx_test_0123456789abcdef"

# Headers the server sets itself, or that describe the original connection.
_HOP_HEADERS = {"content-length", "connection", "keep-alive", "date", "transfer-encoding"}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def wire(name: str) -> Reply:
    """The raw response `fixtures/<name>.http` as a reply."""
    raw = (FIXTURES / f"{name}.http").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = []
    for line in lines:
        name_, _, value = line.partition(":")
        if name_.strip().lower() not in _HOP_HEADERS:
            headers.append((name_.strip(), value.strip()))
    return Reply(status=int(status_line.split()[1]), body=body, headers=headers)


def wire_json(name: str) -> Any:
    """The JSON body of `fixtures/<name>.http`."""
    return json.loads(wire(name).body)


RATE_HEADERS = [
    ("x-ratelimit-limit", "100"),
    ("x-ratelimit-remaining", "42"),
    ("x-ratelimit-reset", "30"),
]


class Server:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with server._lock:
                    server.requests.append(request)
                    reply = server._replies.popleft() if server._replies else None
                if reply is None:
                    reply = Reply(
                        status=599,
                        body=b'{"message":"no canned reply left"}',
                        headers=[("content-type", "application/json")],
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def reply(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
        delay: float = 0.0,
        times: int = 1,
        rate_headers: bool = True,
    ) -> None:
        """Queues a reply; dicts and lists are sent as JSON."""
        all_headers = list(RATE_HEADERS) if rate_headers else []
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            all_headers.append(("content-type", "application/json; charset=utf-8"))
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        all_headers.extend(headers or [])
        for _ in range(times):
            self.add(Reply(status, data, all_headers, delay))

    def add(self, reply: Reply, times: int = 1) -> None:
        with self._lock:
            self._replies.extend([reply] * times)

    def wire(self, name: str, times: int = 1) -> None:
        """Queues the captured response `fixtures/<name>.http`."""
        self.add(wire(name), times)

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRANTEX_API_KEY", "GRANTEX_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(server: Server) -> Iterator[Any]:
    from grantex import Grantex

    with Grantex(api_key=API_KEY, base_url=server.url) as c:
        yield c


def unused_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
