"""Each exception class, with its attributes, from real responses and real sockets."""

from __future__ import annotations

import dataclasses
import pickle
import time
import traceback
from typing import Any

import pytest
from conftest import API_KEY, Server, unused_port, wire, wire_json
from grantex import (
    Grantex,
    GrantexApiError,
    GrantexAuthError,
    GrantexBadRequestError,
    GrantexDecodeError,
    GrantexError,
    GrantexNetworkError,
    GrantexNotFoundError,
    GrantexRateLimitError,
    GrantexRedirectError,
    GrantexServerError,
    GrantexTimeoutError,
    RateLimit,
)


def no_retries(server: Server, **kwargs: Any) -> Grantex:
    return Grantex(api_key=API_KEY, base_url=server.url, max_retries=0, **kwargs)


@pytest.mark.parametrize("fixture", ["list-bad-key-401", "list-no-auth-401"])
def test_401_is_an_auth_error(client: Grantex, server: Server, fixture: str) -> None:
    server.wire(fixture)
    with pytest.raises(GrantexAuthError) as info:
        client.anomalies.list()
    e = info.value
    body = wire_json(fixture)
    assert isinstance(e, GrantexApiError) and isinstance(e, GrantexError)
    assert e.message == body["message"]
    assert str(e) == f"{body['message']} (HTTP 401, {body['code']}, request id {body['requestId']})"
    assert e.status_code == 401
    assert e.body == body
    assert e.code == "UNAUTHORIZED"
    assert e.request_id == body["requestId"]
    assert e.rate_limit == RateLimit(limit=5000, remaining=int(e.rate_limit.remaining), reset=5)  # type: ignore[union-attr]
    assert client.last_rate_limit == e.rate_limit
    assert len(server.requests) == 1  # not retried


def test_403_is_an_auth_error(client: Grantex, server: Server) -> None:
    body = {"message": "Forbidden", "code": "FORBIDDEN", "requestId": "req-403"}
    server.reply(403, body)
    with pytest.raises(GrantexAuthError) as info:
        client.anomalies.detect()
    assert (info.value.status_code, info.value.code, info.value.request_id) == (
        403,
        "FORBIDDEN",
        "req-403",
    )
    assert info.value.message == "Forbidden"


def test_404_application_shape(client: Grantex, server: Server) -> None:
    server.wire("acknowledge-unknown-404")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge("anm_unknown")
    e = info.value
    assert type(e) is GrantexNotFoundError
    assert type(e).__module__ == "grantex"  # tracebacks show grantex.GrantexNotFoundError
    assert e.message == "Anomaly not found"
    assert str(e) == (
        "Anomaly not found (HTTP 404, NOT_FOUND, request id 4c4a6715-107c-409f-91d4-dcea5dbd460e)"
    )
    assert e.args == ("Anomaly not found",)
    assert (e.status_code, e.code) == (404, "NOT_FOUND")
    assert e.request_id == "4c4a6715-107c-409f-91d4-dcea5dbd460e"
    assert e.body == wire_json("acknowledge-unknown-404")
    assert e.rate_limit == RateLimit(limit=100, remaining=93, reset=36)


def test_404_framework_shape(client: Grantex, server: Server) -> None:
    server.wire("acknowledge-wrong-method-404")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge("anm_01M88N1MW8Q7ESJ7JDVT54D642")
    e = info.value
    assert e.message.startswith("Route POST:/v1/anomalies/")
    assert str(e) == f"{e.message} (HTTP 404)"
    assert (e.status_code, e.code, e.request_id) == (404, None, None)
    assert e.body == {"message": e.message, "error": "Not Found", "statusCode": 404}


def test_400(client: Grantex, server: Server) -> None:
    server.wire("acknowledge-empty-json-body-400")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge("anm_1")
    assert (info.value.status_code, info.value.code) == (400, "BAD_REQUEST")
    assert type(info.value) is GrantexBadRequestError


def test_html_502_from_a_proxy(server: Server) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.reply(502, html, headers=[("content-type", "text/html")], rate_headers=False)
    with no_retries(server) as client, pytest.raises(GrantexApiError) as info:
        client.anomalies.list()
    e = info.value
    assert str(e) == e.message == "HTTP 502"
    assert type(e) is GrantexServerError
    assert (e.status_code, e.body, e.code, e.request_id, e.rate_limit) == (
        502,
        html,
        None,
        None,
        None,
    )


def test_empty_error_body_is_none(server: Server) -> None:
    server.reply(500, b"")
    with no_retries(server) as client, pytest.raises(GrantexApiError) as info:
        client.anomalies.list()
    assert (str(info.value), info.value.body) == ("HTTP 500", None)


def test_429_after_the_retries(server: Server) -> None:
    server.wire("list-plan-rate-limited-429")
    with no_retries(server) as client, pytest.raises(GrantexApiError) as info:
        client.anomalies.list()
    e = info.value
    assert (e.status_code, e.code) == (429, "RATE_LIMIT_EXCEEDED")
    assert e.rate_limit == RateLimit(limit=100, remaining=0, reset=24, retry_after=24)


def test_retry_after_is_honoured(client: Grantex, server: Server) -> None:
    server.reply(429, {"message": "slow down"}, headers=[("retry-after", "1")])
    server.wire("list-200")
    start = time.monotonic()
    result = client.anomalies.list()
    elapsed = time.monotonic() - start
    assert result.total == 4
    assert len(server.requests) == 2
    assert 0.9 <= elapsed < 2.5, elapsed


def test_transient_statuses_are_retried(client: Grantex, server: Server) -> None:
    server.reply(503, "unavailable")
    server.reply(502, "bad gateway")
    server.wire("detect-200")
    assert client.anomalies.detect().total == 4
    assert [r.path for r in server.requests] == ["/v1/anomalies/detect"] * 3


def test_retries_stop_after_max_retries(server: Server) -> None:
    server.reply(503, "unavailable", times=3)
    client = Grantex(api_key=API_KEY, base_url=server.url, max_retries=1)
    with client, pytest.raises(GrantexApiError) as info:
        client.anomalies.list()
    assert info.value.status_code == 503
    assert len(server.requests) == 2


def test_refused_connection() -> None:
    with (
        Grantex(
            api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0
        ) as client,
        pytest.raises(GrantexNetworkError) as info,
    ):
        client.anomalies.list()
    e = info.value
    assert not isinstance(e, GrantexTimeoutError)
    assert str(e).startswith("Network error: ")
    assert isinstance(e.cause, ConnectionRefusedError)
    assert e.__cause__ is e.cause
    assert "Connection refused" in str(e)


def test_timeout(server: Server) -> None:
    server.add(dataclasses.replace(wire("list-200"), delay=2.0))
    start = time.monotonic()
    with no_retries(server, timeout=0.3) as client, pytest.raises(GrantexTimeoutError) as info:
        client.anomalies.list()
    assert time.monotonic() - start < 1.5
    e = info.value
    assert isinstance(e, GrantexNetworkError)
    assert isinstance(e.cause, TimeoutError)
    assert e.__cause__ is e.cause
    assert str(e).startswith("Request timed out")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"anomalies": [',
        b'{"anomalies": 5, "total": 1}',
        b'{"total": 1}',
        b'{"anomalies": [{"id": 1}], "total": 1}',
        b"",
        b"\xff\xfe",
    ],
)
def test_undecodable_2xx_body(client: Grantex, server: Server, body: bytes) -> None:
    server.reply(200, body, headers=[("content-type", "application/json")])
    with pytest.raises(GrantexDecodeError) as info:
        client.anomalies.list()
    e = info.value
    assert isinstance(e, GrantexError)
    assert not isinstance(e, (GrantexApiError, ValueError, KeyError))
    assert e.status_code == 200
    assert isinstance(e.excerpt, str)
    assert str(e).startswith("could not decode the HTTP 200 response")
    assert len(server.requests) == 1


def test_exceptions_pickle_with_their_attributes(client: Grantex, server: Server) -> None:
    server.wire("acknowledge-unknown-404")
    with pytest.raises(GrantexApiError) as info:
        client.anomalies.acknowledge("anm_unknown")
    api = pickle.loads(pickle.dumps(info.value))
    assert type(api) is GrantexNotFoundError
    assert (str(api), api.status_code, api.body, api.request_id, api.code, api.rate_limit) == (
        str(info.value),
        404,
        info.value.body,
        info.value.request_id,
        "NOT_FOUND",
        info.value.rate_limit,
    )
    c = Grantex(api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0)
    with c, pytest.raises(GrantexNetworkError) as net:
        c.anomalies.list()
    back = pickle.loads(pickle.dumps(net.value))
    assert str(back) == str(net.value)
    assert type(back.cause) is ConnectionRefusedError
    assert back.cause.errno == net.value.cause.errno  # type: ignore[union-attr]


def test_constructors_match_the_documented_sdk() -> None:
    e = GrantexApiError("m", 418)
    assert (e.status_code, e.body, e.request_id, e.code, e.rate_limit) == (
        418,
        None,
        None,
        None,
        None,
    )
    n = GrantexNetworkError("down")
    assert n.cause is None
    assert issubclass(GrantexAuthError, GrantexApiError)


# --- the API key never leaks -----------------------------------------------------------

SECRET = "gx_live_TOPSECRET_7f3a9c"


def _texts(e: BaseException) -> list[str]:
    texts = [str(e), repr(e), repr(e.args), repr(vars(e))]
    texts.append("".join(traceback.format_exception(type(e), e, e.__traceback__)))
    texts.append(repr(pickle.dumps(e)))
    return texts


def test_no_key_in_any_error(server: Server) -> None:
    errors: list[BaseException] = []

    def capture(call: Any) -> None:
        try:
            call()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        else:
            raise AssertionError("expected an error")

    server.wire("list-bad-key-401")
    server.reply(404, {"message": "x", "echo": "no"})
    server.reply(200, b"nonsense")
    server.reply(200, b"{}", delay=2.0)
    with Grantex(api_key=SECRET, base_url=server.url, max_retries=0, timeout=0.3) as client:
        capture(client.anomalies.list)
        capture(lambda: client.anomalies.acknowledge("x"))
        capture(client.anomalies.list)
        capture(client.anomalies.detect)
        capture(lambda: client.anomalies.acknowledge(".."))
        for text in (repr(client), repr(vars(client)), repr(client.anomalies)):
            assert SECRET not in text
    with Grantex(api_key=SECRET, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0) as c:
        capture(c.anomalies.list)
    capture(lambda: c.anomalies.list())  # closed
    capture(lambda: Grantex(api_key=SECRET + "\x7f"))
    capture(lambda: Grantex(api_key=SECRET, base_url="::bad::"))
    assert [type(e).__name__ for e in errors] == [
        "GrantexAuthError",
        "GrantexNotFoundError",
        "GrantexDecodeError",
        "GrantexTimeoutError",
        "ValueError",
        "GrantexNetworkError",
        "GrantexClosedError",
        "ValueError",
        "ValueError",
    ]
    for e in errors:
        for text in _texts(e):
            assert SECRET not in text
            assert "TOPSECRET" not in text
        cause = getattr(e, "cause", None)
        if cause is not None:
            assert SECRET not in repr(cause)
    # The server did receive it, so the tests above are meaningful.
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_a_redirect_is_an_api_error_and_is_not_followed(client: Grantex, server: Server) -> None:
    server.reply(302, "<html>moved</html>", headers=[("location", "http://elsewhere.example/")])
    with pytest.raises(GrantexRedirectError) as info:
        client.anomalies.detect()
    assert isinstance(info.value, GrantexApiError)
    assert info.value.status_code == 302
    assert info.value.location == "http://elsewhere.example/"
    assert "redirected to http://elsewhere.example/" in str(info.value)
    assert len(server.requests) == 1
    copy = pickle.loads(pickle.dumps(info.value))
    assert (type(copy), copy.location) == (GrantexRedirectError, "http://elsewhere.example/")


def test_every_exception_shows_as_grantex_in_tracebacks() -> None:
    import grantex

    for name in grantex.__all__:
        value = getattr(grantex, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value.__module__ == "grantex", name
            assert getattr(grantex, value.__qualname__) is value


def test_429_is_a_rate_limit_error_with_retry_after(server: Server) -> None:
    server.wire("list-plan-rate-limited-429")
    with no_retries(server) as client, pytest.raises(GrantexRateLimitError) as info:
        client.anomalies.list()
    e = info.value
    assert isinstance(e, GrantexApiError) and e.status_code == 429
    assert e.retry_after is not None and e.retry_after > 0
    copy = pickle.loads(pickle.dumps(e))
    assert (type(copy), copy.retry_after, str(copy)) == (type(e), e.retry_after, str(e))


def test_a_network_error_says_how_many_attempts_were_made() -> None:
    with (
        Grantex(api_key=API_KEY, base_url=f"http://127.0.0.1:{unused_port()}", max_retries=1) as c,
        pytest.raises(GrantexNetworkError) as info,
    ):
        c.anomalies.list()
    assert "gave up after 2 attempts" in str(info.value)
