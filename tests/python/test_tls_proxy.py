"""TLS with a private CA (`ca_file`) and an explicit proxy, over real sockets: an HTTPS
server whose certificate a CA made in the test signs, and the canned server as the proxy."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Server, wire_json
from grantex import Grantex, GrantexNetworkError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def test_ca(tmp_path: Path) -> Path:
    """A CA and a certificate for 127.0.0.1 that it signs (ca.pem, server.pem, server.key)."""
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=tmp_path,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr", cwd=tmp_path,
    )  # fmt: skip
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "server.pem", cwd=tmp_path,
    )  # fmt: skip
    return tmp_path


@pytest.fixture
def https_server(test_ca: Path) -> Iterator[str]:
    body = json.dumps(wire_json("list-200")).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(test_ca / "server.pem", test_ca / "server.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_a_private_ca_is_trusted_with_ca_file(https_server: str, test_ca: Path) -> None:
    with Grantex(api_key="k", base_url=https_server, ca_file=test_ca / "ca.pem") as client:
        assert client.anomalies.list().total == 4


def test_without_the_ca_the_certificate_is_refused(https_server: str) -> None:
    with (
        Grantex(api_key="k", base_url=https_server, max_retries=0) as client,
        pytest.raises(GrantexNetworkError, match="certificate"),
    ):
        client.anomalies.list()


def test_an_unreadable_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="could not read ca_file"):
        Grantex(api_key="k", ca_file=tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        Grantex(api_key="k", ca_file=tmp_path / "empty.pem")


def test_requests_go_through_the_proxy(server: Server) -> None:
    """The canned server plays the proxy: a plain-HTTP request through a proxy carries the
    absolute URL."""
    server.wire("list-200")
    with Grantex(api_key="k", base_url="http://grantex.invalid", proxy=server.url) as client:
        assert client.anomalies.list().total == 4
    assert server.last.path == "http://grantex.invalid/v1/anomalies"
    with pytest.raises(ValueError, match="proxy is not a valid proxy URL") as info:
        Grantex(api_key="k", proxy="http://user:s3cret@[bad")
    assert "s3cret" not in str(info.value)
