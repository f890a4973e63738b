"""The `Grantex` client: construction, configuration from the environment, lifecycle."""

from __future__ import annotations

import inspect
import time

import grantex
import pytest
from conftest import API_KEY, Server
from grantex import (
    Grantex,
    GrantexApiError,
    GrantexClosedError,
    GrantexError,
    GrantexTimeoutError,
    RateLimit,
)

MISSING_KEY = (
    "Grantex API key is required. Pass `api_key` or set the GRANTEX_API_KEY environment variable."
)


def test_public_names() -> None:
    for name in (
        "Grantex",
        "Anomaly",
        "DetectAnomaliesResponse",
        "ListAnomaliesResponse",
        "RateLimit",
        "GrantexError",
        "GrantexApiError",
        "GrantexAuthError",
        "GrantexNetworkError",
        "GrantexTokenError",
    ):
        assert name in grantex.__all__
        assert getattr(grantex, name).__module__.startswith("grantex")
    assert isinstance(grantex.__version__, str)


def test_constructor_is_keyword_only_with_the_documented_defaults() -> None:
    params = inspect.signature(Grantex).parameters
    # The documented four, in order, then this client's own.
    assert list(params) == [
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "max_retry_after",
        "proxy",
        "ca_file",
        "deadline",
        "max_response_bytes",
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert params["api_key"].default is None
    assert params["timeout"].default == 30.0
    assert params["max_retries"].default == 3
    assert params["max_retry_after"].default == 120.0
    assert params["deadline"].default is None
    assert params["max_response_bytes"].default == 32 * 1024 * 1024
    with pytest.raises(TypeError):
        Grantex("gx_key")  # type: ignore[call-arg]


def test_default_base_url() -> None:
    with Grantex(api_key="k") as client:
        assert client.base_url == "https://api.grantex.dev"


def test_missing_key_has_the_documented_message() -> None:
    with pytest.raises(ValueError) as info:
        Grantex()
    assert str(info.value) == MISSING_KEY
    with pytest.raises(ValueError, match="API key is required"):
        Grantex(api_key="   ")


def test_key_and_base_url_from_the_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRANTEX_API_KEY", "  gx_from_env  ")
    monkeypatch.setenv("GRANTEX_BASE_URL", server.url + "/")
    server.wire("list-200")
    with Grantex() as client:
        assert client.base_url == server.url
        assert client.anomalies.list().total == 4
    assert server.last.headers["authorization"] == "Bearer gx_from_env"
    assert server.last.path == "/v1/anomalies"


def test_explicit_arguments_win_over_the_environment(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRANTEX_API_KEY", "gx_from_env")
    monkeypatch.setenv("GRANTEX_BASE_URL", "http://127.0.0.1:9")
    server.wire("list-200")
    with Grantex(api_key="gx_explicit", base_url=server.url) as client:
        client.anomalies.list()
    assert server.last.headers["authorization"] == "Bearer gx_explicit"


def test_base_url_path_prefix_is_kept(server: Server) -> None:
    server.wire("list-200")
    with Grantex(api_key="k", base_url=server.url + "/prefix/") as client:
        client.anomalies.list()
    assert server.last.path == "/prefix/v1/anomalies"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "not a url"},
        {"base_url": "ftp://example.com"},
        {"base_url": "http://example.com/?q=1"},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": float("nan")},
        {"max_retries": -1},
    ],
)
def test_bad_configuration_is_a_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError) as info:
        Grantex(api_key=API_KEY, **kwargs)  # type: ignore[arg-type]
    assert API_KEY not in str(info.value)


@pytest.mark.parametrize("key", [API_KEY + "\x00x", API_KEY + "\nx", "gx with space"])
def test_unusable_key_is_a_value_error_without_the_key(key: str) -> None:
    with pytest.raises(ValueError) as info:
        Grantex(api_key=key)
    assert key.strip() not in str(info.value)
    assert API_KEY not in repr(info.value)


def test_sends_the_key_and_a_user_agent(client: Grantex, server: Server) -> None:
    server.wire("list-200")
    client.anomalies.list()
    headers = server.last.headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["user-agent"] == f"grantex-python/{grantex.__version__} (rust)"
    assert headers["accept"] == "application/json"


def test_repr_shows_the_base_url_but_never_the_key(server: Server) -> None:
    client = Grantex(api_key=API_KEY, base_url=server.url)
    for text in (repr(client), str(client), repr(client.anomalies), repr(vars(client))):
        assert API_KEY not in text
    assert repr(client) == f"Grantex(base_url={server.url!r})"
    assert server.url in repr(client.anomalies)
    client.close()


def test_last_rate_limit(client: Grantex, server: Server) -> None:
    assert client.last_rate_limit is None
    server.wire("list-200")
    client.anomalies.list()
    assert client.last_rate_limit == RateLimit(limit=100, remaining=98, reset=41)
    server.reply(200, {"anomalies": [], "total": 0}, rate_headers=False)
    client.anomalies.list()
    assert client.last_rate_limit is None


def test_context_manager_and_close(server: Server) -> None:
    server.wire("list-200")
    with Grantex(api_key=API_KEY, base_url=server.url) as client:
        assert not client.closed
        client.anomalies.list()
    assert client.closed
    client.close()  # idempotent
    with pytest.raises(GrantexClosedError) as info:
        client.anomalies.list()
    # Both a GrantexError and a ValueError (like an operation on a closed file).
    assert isinstance(info.value, GrantexError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(GrantexClosedError):
        client.anomalies.detect()
    with pytest.raises(GrantexClosedError):
        client.anomalies.acknowledge("anm_1")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": 123}, "api_key must be a str or None, not int"),
        ({"api_key": "k", "base_url": b"http://h"}, "base_url must be a str or None, not bytes"),
        ({"api_key": "k", "timeout": "5"}, "timeout must be a number of seconds, not str"),
        ({"api_key": "k", "max_retries": True}, "max_retries must be an int, not bool"),
    ],
)
def test_wrong_argument_types_name_the_parameter(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError) as info:
        Grantex(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_base_url_without_a_scheme_gets_a_hint() -> None:
    with pytest.raises(ValueError) as info:
        Grantex(api_key="k", base_url="127.0.0.1:8080")
    assert 'use "http://127.0.0.1:8080" or "https://127.0.0.1:8080"' in str(info.value)


def test_max_retry_after_caps_the_servers_retry_after(server: Server) -> None:
    server.reply(503, {"message": "busy"}, headers=[("retry-after", "3600")])
    server.wire("list-200")
    with Grantex(api_key=API_KEY, base_url=server.url, max_retry_after=0.2) as client:
        started = time.monotonic()
        assert client.anomalies.list().total == 4
        assert time.monotonic() - started < 2
    with pytest.raises(ValueError, match="max_retry_after"):
        Grantex(api_key=API_KEY, max_retry_after=-1)


def test_repr_works_on_half_built_objects() -> None:
    from grantex.testing import GrantexTestServer

    client = Grantex.__new__(Grantex)
    assert repr(client) == "Grantex(base_url=None)"
    server = GrantexTestServer.__new__(GrantexTestServer)
    assert repr(server) == "<GrantexTestServer (not started)>"


def test_with_options_changes_one_client_and_shares_the_pool(server: Server) -> None:
    with Grantex(api_key=API_KEY, base_url=server.url, max_retries=2) as client:
        quick = client.with_options(timeout=0.2, max_retries=0)
        assert type(quick) is Grantex and quick.base_url == client.base_url
        server.reply(200, {"anomalies": [], "total": 0}, delay=1.0)
        with pytest.raises(GrantexTimeoutError, match="0.2s"):
            quick.anomalies.list()
        server.reply(503, {"message": "busy"}, headers=[("retry-after", "0")])
        with pytest.raises(GrantexApiError):  # no retries on this one
            quick.anomalies.list()
        server.reply(503, {"message": "busy"}, headers=[("retry-after", "0")])
        server.wire("list-200")
        assert client.anomalies.list().total == 4  # the original still retries
        assert quick.last_rate_limit == client.last_rate_limit  # one shared state
        quick.close()
        assert not client.closed and client.anomalies.list  # closing the copy leaves it
        with pytest.raises(TypeError, match="timeout"):
            client.with_options(timeout="5")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="timeout"):
            client.with_options(timeout=0)


def test_async_with_options(server: Server) -> None:
    import asyncio

    from grantex import AsyncGrantex

    async def main() -> int:
        async with AsyncGrantex(api_key=API_KEY, base_url=server.url) as client:
            server.wire("list-200")
            return (await client.with_options(max_retries=0).anomalies.list()).total

    assert asyncio.run(main()) == 4


def test_an_id_of_the_wrong_type_names_the_parameter() -> None:
    with Grantex(api_key=API_KEY, base_url="http://127.0.0.1:9") as client:
        with pytest.raises(TypeError, match="^anomaly_id must be a str, not int$"):
            client.anomalies.acknowledge(123)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="^rule_id must be a str, not NoneType$"):
            client.anomalies.toggle_rule(None, enabled=True)  # type: ignore[arg-type]
