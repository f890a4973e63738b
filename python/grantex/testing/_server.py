"""``GrantexTestServer``: the local Grantex server, in-process, for tests and demos."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .. import _native
from .._closing import Closing
from .._models import Anomaly

__all__ = ["GrantexTestServer", "RateLimitsName", "TimeLike"]

RateLimitsName = Literal["generous", "hosted", "off"]
"""``"generous"`` (1,000,000/min: no test trips them; headers still sent), ``"hosted"``
(the hosted server's: plan 100/min per account, detect and audit log 30/min, 5000/min per
IP) or ``"off"`` (no limits, no rate-limit headers)."""

TimeLike = datetime | str
"""A ``datetime`` (aware: converted to UTC; naive: taken as UTC) or an ISO 8601 string
(``"2026-11-25T06:07:19.432Z"``, ``"2026-11-25T07:07:19+01:00"``; no offset means UTC)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(value: TimeLike, what: str) -> int:
    """Milliseconds since the Unix epoch of a datetime or ISO 8601 string."""
    if isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{what}: {value!r} is not an ISO 8601 timestamp (e.g. '2026-11-25T06:07:19.432Z')"
            ) from None
    elif isinstance(value, datetime):
        moment = value
    else:
        raise TypeError(f"{what} must be a datetime or an ISO 8601 string, not {type(value)!r}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _MILLISECOND


def _duration_millis(value: float | timedelta, what: str) -> int:
    if isinstance(value, timedelta):
        return value // _MILLISECOND
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or a timedelta")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite")
    return round(value * 1000)


def _times(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise ValueError("times must be a non-negative integer")
    return times


class GrantexTestServer(Closing):
    """A real Grantex server on ``127.0.0.1``, running in this process.

    It serves the anomalies API (detect, list, acknowledge, audit log) with the hosted
    server's behaviour: the four detection rules with their thresholds and windows, JSON
    shapes, error bodies, rate limits and headers. On top of that it has a settable clock,
    seeding, several accounts (one per API key) and fault injection::

        from grantex import Grantex
        from grantex.testing import GrantexTestServer

        with GrantexTestServer() as server:
            for _ in range(51):
                server.record_audit("ag_busy")
            with Grantex(api_key=server.api_key, base_url=server.url) as client:
                assert client.anomalies.detect().anomalies[0].type == "rate_spike"

    The server runs on the SDK's I/O thread; it stops on ``close()``, at the end of a
    ``with`` block, or when the object is garbage collected. All methods are thread-safe.

    Parameters (keyword-only):

    - ``port``: the port on 127.0.0.1; 0 (the default) picks a free one (see ``url``).
    - ``demo``: accept any non-empty bearer key as its own account, seeded on first use with
      activity that trips every rule once (what the documentation's examples show), plus the
      already-acknowledged anomaly ``anom_abc123`` that the acknowledge example uses.
    - ``api_key``: the default account's key (default: a generated ``gx_test_...`` key).
    - ``rate_limits``: ``"generous"`` (the default), ``"hosted"`` or ``"off"``.
    - ``header_read_timeout``: seconds a connection may take to send a request's headers
      (then its body); stalled connections are closed. Default 10.
    - ``idle_timeout``: seconds a kept-alive connection may wait for its next request.
      Default 72 (keep it above your client pool's idle timeout: 60 s for ``Grantex``).
    - ``max_connections``: connections open at once; more wait, and the longest idle one
      is closed to make room. Default 256.

    Methods taking ``api_key=None`` act on the default account (``server.api_key``);
    another key names another account (which becomes a known key). Raises ``OSError`` when
    the port cannot be bound.
    """

    __slots__ = ("__weakref__", "_native")

    def __init__(
        self,
        *,
        port: int = 0,
        demo: bool = False,
        api_key: str | None = None,
        rate_limits: RateLimitsName = "generous",
        header_read_timeout: float = 10.0,
        idle_timeout: float = 72.0,
        max_connections: int = 256,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
        for name, secs in (
            ("header_read_timeout", header_read_timeout),
            ("idle_timeout", idle_timeout),
        ):
            if (
                isinstance(secs, bool)
                or not isinstance(secs, (int, float))
                or not 0 < secs < float("inf")
            ):
                raise ValueError(f"{name} must be a positive number of seconds, not {secs!r}")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ValueError(
                f"max_connections must be an integer of at least 1, not {max_connections!r}"
            )
        self._native = _native.TestServer(
            port,
            bool(demo),
            api_key,
            rate_limits,
            float(header_read_timeout),
            float(idle_timeout),
            max_connections,
        )

    # -- where it is -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT`` (pass it as ``base_url``)."""
        return self._native.url

    @property
    def port(self) -> int:
        """The bound port."""
        return self._native.port

    @property
    def api_key(self) -> str:
        """The default account's API key."""
        return self._native.api_key

    @property
    def closed(self) -> bool:
        """Whether the server was stopped by ``close()``."""
        return self._native.closed

    def add_api_key(self, key: str) -> None:
        """Makes ``key`` a known key: its own account, isolated from the others."""
        self._native.add_api_key(key)

    # -- seeding -----------------------------------------------------------------------

    def record_audit(
        self,
        agent_id: str,
        *,
        status: Literal["success", "failure", "blocked"] = "success",
        timestamp: TimeLike | None = None,
        principal_id: str | None = None,
        action: str = "test.action",
        metadata: Mapping[str, Any] | None = None,
        api_key: str | None = None,
    ) -> str:
        """Records an audit entry (what the detection rules read); returns its id
        (``alog_...``).

        ``timestamp`` defaults to the server clock's now. ``failure`` and ``blocked`` count
        towards ``high_failure_rate``; every entry counts towards ``rate_spike`` (last hour)
        and, between 22:00 and 06:00 UTC, ``off_hours_activity`` (last 24 hours).
        """
        return self._native.record_audit(
            api_key,
            agent_id,
            status,
            None if timestamp is None else _millis(timestamp, "timestamp"),
            principal_id,
            action,
            None,
            None,
            None if metadata is None else json.dumps(dict(metadata)),
        )

    def record_grant(
        self,
        agent_id: str,
        principal_id: str,
        *,
        issued_at: TimeLike | None = None,
        api_key: str | None = None,
    ) -> str:
        """Records a grant from ``principal_id`` to ``agent_id`` (what ``new_principal``
        reads); returns its id (``grnt_...``). ``issued_at`` defaults to the clock's now."""
        return self._native.record_grant(
            api_key,
            agent_id,
            principal_id,
            None if issued_at is None else _millis(issued_at, "issued_at"),
        )

    def seed_demo(self, api_key: str | None = None) -> None:
        """Seeds an account with the demo activity: detect then reports the four anomalies
        of the documentation (one per rule), at any time of day."""
        self._native.seed_demo(api_key)

    def load_fixture(
        self,
        fixture: Mapping[str, Any] | str | os.PathLike[str],
        api_key: str | None = None,
    ) -> tuple[int, int]:
        """Loads a JSON fixture (a dict, or the path of a JSON file) into an account;
        returns the numbers of (audit entries, grants) recorded. Nothing is loaded if the
        fixture is invalid (``ValueError``)::

            {"auditEntries": [{"agentId": "ag_1", "status": "failure",
                               "timestamp": "now-5m", "repeat": 3}],
             "grants": [{"agentId": "ag_1", "principalId": "user_9", "issuedAt": "now-1h"}]}

        Only ``agentId`` (and ``principalId`` for grants) is required. Times are RFC 3339
        or relative to the server clock (``now``, ``now-90s``, ``now-5m``, ``now+2h``,
        ``now-1d``); omitted means now.
        """
        if isinstance(fixture, Mapping):
            text = json.dumps(dict(fixture))
        else:
            with open(fixture, encoding="utf-8") as file:
                text = file.read()
        audit_entries, grants = self._native.load_fixture(api_key, text)
        return audit_entries, grants

    def anomalies(self, api_key: str | None = None) -> list[Anomaly]:
        """The anomalies the server stores for an account, newest first (what an
        unfiltered list returns), as ``grantex.Anomaly`` instances."""
        result = []
        for fields in self._native.anomalies(api_key):
            fields["metadata"] = json.loads(fields["metadata"])
            result.append(Anomaly(**fields))
        return result

    # -- the clock -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The server clock's now (aware, UTC, millisecond precision)."""
        return _EPOCH + timedelta(milliseconds=self._native.now_ms())

    @property
    def clock_frozen(self) -> bool:
        """Whether the clock is frozen (by ``set_time``)."""
        return self._native.clock_frozen()

    def set_time(self, at: TimeLike) -> None:
        """Freezes the server clock at ``at`` until it is set, advanced or reset again.
        Every timestamp the server writes and every detection and rate-limit window is
        measured on this clock."""
        self._native.set_time_ms(_millis(at, "at"))

    def advance(self, seconds: float | timedelta) -> None:
        """Moves the clock forward (backward if negative). A frozen clock stays frozen at
        the later instant; a running one keeps running, shifted."""
        self._native.shift_ms(_duration_millis(seconds, "seconds"))

    def reset_clock(self) -> None:
        """Back to the system time (unfrozen, no shift)."""
        self._native.reset_clock()

    # -- faults --------------------------------------------------------------------------
    #
    # Each fault applies to the next `times` requests matching `method` (any if None) and
    # `path` (a pattern where `*` matches anything, e.g. "/v1/anomalies/*/acknowledge"; any
    # if None), in the order injected, before authentication and rate limits. Retries
    # are requests too: a fault with times=2 fails an attempt and its first retry.

    def fail_next(
        self,
        status: int,
        *,
        body: str | bytes | Mapping[str, Any] | Sequence[Any] | None = None,
        retry_after: int | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answers the next matching requests with ``status`` (e.g. 503 or 429) and
        ``body`` (dicts and lists sent as JSON; default: the hosted error shape
        ``{"message", "code": "INJECTED_FAULT", "requestId"}``), plus a ``retry-after``
        header when ``retry_after`` (seconds) is given. The requests are not processed."""
        text: str | None
        if body is None or isinstance(body, str):
            text = body
        elif isinstance(body, bytes):
            text = body.decode("utf-8")
        else:
            text = json.dumps(body if isinstance(body, Sequence) else dict(body))
        self._native.inject_fault(
            "status", _times(times), method, path, status, text, retry_after, None
        )

    def delay_next(
        self,
        seconds: float | timedelta,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Delays the next matching requests by ``seconds``, then processes them normally
        (longer than the client's ``timeout``: a timeout error)."""
        delay = _duration_millis(seconds, "seconds")
        if delay < 0:
            raise ValueError("the delay must not be negative")
        self._native.inject_fault("delay", _times(times), method, path, None, None, None, delay)

    def drop_next(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Closes the connection of the next matching requests without answering (a
        network error for the client, which retries it)."""
        self._native.inject_fault("drop", _times(times), method, path, None, None, None, None)

    def malformed_next(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Answers the next matching requests 200 with a truncated JSON body."""
        self._native.inject_fault("malformed", _times(times), method, path, None, None, None, None)

    def clear_faults(self) -> None:
        """Removes every queued fault."""
        self._native.clear_faults()

    @property
    def pending_faults(self) -> int:
        """Uses left over all queued faults."""
        return self._native.pending_faults()

    def set_rate_limits(self, rate_limits: RateLimitsName) -> None:
        """Replaces the rate limits (counts so far are forgotten)."""
        self._native.set_rate_limits(rate_limits)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Stops the server: in-flight requests get up to 2 seconds, then their
        connections are closed. Idempotent. Other methods then raise ``RuntimeError``
        (``url`` and ``api_key`` stay readable)."""
        self._native.close()

    def __repr__(self) -> str:
        native = getattr(self, "_native", None)
        if native is None:  # the constructor failed: repr must still work (tracebacks, locals)
            return "<GrantexTestServer (not started)>"
        state = " closed" if native.closed else ""
        return f"<GrantexTestServer url={native.url!r}{state}>"
