"""Misbehaving servers written here, over real sockets on 127.0.0.1: endless and oversized
bodies (memory stays within the cap), answers that are not usable HTTP (not retried), a
deadline for a whole call, and a machine out of file descriptors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from conftest import Server
from grantex import (
    Grantex,
    GrantexDecodeError,
    GrantexNetworkError,
    GrantexResponseTooLargeError,
    GrantexServerError,
    GrantexTimeoutError,
)

KEY = "gx_test_hostile_python_key"


class RawServer:
    """Accepts connections; for each request head read, runs ``answer(conn)``."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._answer = answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests += 1
            try:
                self._answer(conn)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def endless(status: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            "transfer-encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"10000\r\n" + b"[" * 0x10000 + b"\r\n"
        while True:
            conn.sendall(chunk)

    return answer


def test_an_endless_body_fails_at_the_cap_naming_it(raw: Callable[..., RawServer]) -> None:
    server = raw(endless("200 OK"))
    with (
        Grantex(api_key=KEY, base_url=server.url, max_response_bytes=1 << 20) as client,
        pytest.raises(GrantexResponseTooLargeError) as info,
    ):
        client.anomalies.list()
    error = info.value
    assert isinstance(error, GrantexDecodeError)
    assert error.limit == 1 << 20
    assert error.status_code == 200
    assert "max_response_bytes (1048576 bytes)" in str(error)
    assert server.requests == 1  # not retried


def test_an_error_body_is_capped_and_with_options_sets_the_cap(
    raw: Callable[..., RawServer],
) -> None:
    server = raw(endless("503 Service Unavailable"))
    with Grantex(api_key=KEY, base_url=server.url) as client:
        small = client.with_options(max_response_bytes=50_000)
        with pytest.raises(GrantexResponseTooLargeError) as info:
            small.anomalies.detect()
    assert (info.value.status_code, info.value.limit) == (503, 50_000)
    assert server.requests == 1


def test_max_response_bytes_must_be_a_non_negative_int() -> None:
    with pytest.raises(TypeError, match="max_response_bytes must be an int, not str"):
        Grantex(api_key=KEY, max_response_bytes="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be negative"):
        Grantex(api_key=KEY, max_response_bytes=-1)


def test_memory_stays_within_the_cap_against_an_endless_body(
    raw: Callable[..., RawServer],
) -> None:
    """The default cap (32 MiB) in a fresh process: its peak memory stays below the cap
    plus 100 MB however long the server goes on (without a cap, 12 GB in 15 s)."""
    server = raw(endless("200 OK"))
    script = textwrap.dedent(
        f"""
        import resource, sys
        from grantex import Grantex, GrantexResponseTooLargeError
        client = Grantex(api_key="k", base_url="{server.url}", timeout=60)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            client.anomalies.list()
        except GrantexResponseTooLargeError as e:
            print(e.limit)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(before, after)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    limit_line, rss_line = result.stdout.split("\n")[:2]
    assert int(limit_line) == 32 * 1024 * 1024
    before_kib, after_kib = map(int, rss_line.split())
    assert (after_kib - before_kib) * 1024 < 32 * 1024 * 1024 + 100 * 1000 * 1000


def test_a_101_answer_is_a_network_error_tried_once(raw: Callable[..., RawServer]) -> None:
    def switching(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n")
        time.sleep(2)

    server = raw(switching)
    with (
        Grantex(api_key=KEY, base_url=server.url) as client,
        pytest.raises(GrantexNetworkError, match="Invalid HTTP answer: .*101"),
    ):
        client.anomalies.detect()
    assert server.requests == 1


def test_too_many_headers_is_a_network_error_tried_once(raw: Callable[..., RawServer]) -> None:
    def flood(conn: socket.socket) -> None:
        head = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
        head += "".join(f"x-filler-{i}: {i}\r\n" for i in range(200))
        conn.sendall((head + "\r\n{}").encode())

    server = raw(flood)
    started = time.monotonic()
    with (
        Grantex(api_key=KEY, base_url=server.url) as client,
        pytest.raises(GrantexNetworkError, match="Invalid HTTP answer"),
    ):
        client.anomalies.list()
    assert server.requests == 1
    assert time.monotonic() - started < 2


def test_a_deadline_ends_retries_with_the_last_answer(raw: Callable[..., RawServer]) -> None:
    def busy(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")

    server = raw(busy)
    started = time.monotonic()
    with (
        Grantex(api_key=KEY, base_url=server.url, max_retries=10, deadline=1.2) as client,
        pytest.raises(GrantexServerError),
    ):
        client.anomalies.detect()
    assert time.monotonic() - started < 1.2
    assert 1 <= server.requests <= 2


def test_a_deadline_cuts_a_stalled_call(raw: Callable[..., RawServer]) -> None:
    server = raw(lambda conn: time.sleep(10))
    started = time.monotonic()
    with (
        Grantex(api_key=KEY, base_url=server.url, timeout=20) as client,
        pytest.raises(GrantexTimeoutError, match="deadline"),
    ):
        client.with_options(deadline=0.3).anomalies.detect()
    assert time.monotonic() - started < 3
    with pytest.raises(TypeError, match="deadline must be a number of seconds or None"):
        Grantex(api_key=KEY, deadline="1")  # type: ignore[arg-type]


def test_out_of_file_descriptors_is_a_network_error_with_the_os_error() -> None:
    """With every descriptor taken, building a client fails as the machine's state (a
    network error whose cause is the OSError), not as a configuration mistake."""
    script = textwrap.dedent(
        """
        import resource, os
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        import grantex
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        try:
            client = grantex.Grantex(api_key="k", base_url="http://127.0.0.1:9")
            client.anomalies.list()
        except grantex.GrantexNetworkError as e:
            cause = e.__cause__
            assert isinstance(cause, OSError)
            print(type(e).__name__, type(cause).__name__, cause.errno)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["GrantexNetworkError", "OSError", "24"]  # EMFILE


def test_the_issue_probes_decode_as_json_loads_does(server: Server) -> None:
    """Half an emoji in an agent id (what JavaScript's JSON.stringify writes), an integer
    past 2**64, 1e400 and NaN in detect's metadata, a repeated key: every call of the
    account decodes, with exactly what ``json.loads`` gives."""
    anomaly = (
        '{"id":"anm_1","type":"rate_spike","severity":"high","agentId":"ag_\\ud83d",'
        '"principalId":null,"description":"d","description":"last wins",'
        '"metadata":{"big":123456789012345678901234567890,"huge":1e400,"nan":NaN,'
        '"half":"\\ude00"},"detectedAt":"2026-11-25T00:00:00Z","acknowledgedAt":null}'
    )
    server.reply(200, f'{{"anomalies":[{anomaly}],"total":1}}')
    server.reply(200, f'{{"detectedAt":"x","total":1,"anomalies":[{anomaly}]}}')
    server.reply(200, anomaly)
    with Grantex(api_key=KEY, base_url=server.url) as client:
        results = [
            client.anomalies.list().anomalies[0],
            client.anomalies.detect().anomalies[0],
            client.anomalies.acknowledge("anm_1"),
        ]
    expected = json.loads(anomaly)
    for result in results:
        assert result.agent_id == "ag_\ud83d" == expected["agentId"]
        assert result.description == "last wins"
        metadata = result.metadata
        assert metadata["big"] == 123456789012345678901234567890
        assert isinstance(metadata["big"], int)
        assert metadata["huge"] == float("inf")
        assert metadata["nan"] != metadata["nan"]  # NaN
        assert metadata["half"] == "\ude00"
        assert list(metadata) == ["big", "huge", "nan", "half"]
