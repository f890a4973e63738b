"""The ``Grantex`` and ``AsyncGrantex`` clients: thin Python shells around the native (Rust)
client. Both run the same Rust calls; the async one completes an ``asyncio`` future from
the extension's runtime instead of blocking a thread."""

from __future__ import annotations

import os

from . import _native
from ._closing import Closing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType
    from typing import Any

    from typing_extensions import Self
from ._models import (
    Alert,
    AlertChannel,
    Anomaly,
    AnomalyMetrics,
    AnomalyRule,
    DetectAnomaliesResponse,
    ListAnomaliesResponse,
    RateLimit,
)

__all__ = ["AnomaliesClient", "AsyncAnomaliesClient", "AsyncGrantex", "Grantex"]

_USER_AGENT = f"grantex-python/{_native.__version__} (rust)"
# The Rust client's defaults, shown in the signatures (they are applied in Rust).
_DEFAULT_TIMEOUT = _native.DEFAULT_TIMEOUT
_DEFAULT_MAX_RETRIES = _native.DEFAULT_MAX_RETRIES
_DEFAULT_MAX_RETRY_AFTER = _native.DEFAULT_MAX_RETRY_AFTER
_DEFAULT_MAX_RESPONSE_BYTES = _native.DEFAULT_MAX_RESPONSE_BYTES


class AnomaliesClient:
    """The anomalies operations (``client.anomalies``)."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.Client) -> None:
        self._native = native

    def detect(self) -> DetectAnomaliesResponse:
        """Run anomaly detection across all agents and return detected anomalies."""
        return self._native.detect()

    def list(self, *, unacknowledged: bool = False) -> ListAnomaliesResponse:
        """List stored anomalies. Pass unacknowledged=True to show only open ones."""
        return self._native.list(bool(unacknowledged))

    def acknowledge(self, anomaly_id: str) -> Anomaly:
        """Acknowledge an anomaly by ID.

        The id is sent as one percent-encoded URL path segment; ``""``, ``"."`` and
        ``".."`` cannot be one and raise ``ValueError`` before anything is sent.
        """
        return self._native.acknowledge(_str("anomaly_id", anomaly_id))

    def get_response_policy(self) -> str:
        """Return the account's irregularity response mode."""
        return self._native.get_response_policy()

    def set_response_policy(self, mode: str) -> str:
        """Select alert_only or revoke_agent_grants for the account (any other mode is a
        ``ValueError``, raised before anything is sent)."""
        return self._native.set_response_policy(_str("mode", mode))

    def list_alerts(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> tuple[Alert, ...]:
        """List alerts, newest first. ``status`` is ``"open"``, ``"acknowledged"`` or
        ``"resolved"``; ``limit`` 1 to 1,000 (default 100)."""
        return self._native.list_alerts(status, severity, agent_id, limit)

    def get_alert(self, alert_id: str) -> Alert:
        """Get one alert by ID."""
        return self._native.get_alert(_str("alert_id", alert_id))

    def acknowledge_alert(self, alert_id: str, *, note: str | None = None) -> Alert:
        """Move an alert to ``acknowledged``; the note is stored by the server."""
        return self._native.acknowledge_alert(_str("alert_id", alert_id), note)

    def resolve_alert(self, alert_id: str, *, note: str | None = None) -> Alert:
        """Move an alert to ``resolved``; the note is stored by the server."""
        return self._native.resolve_alert(_str("alert_id", alert_id), note)

    def get_metrics(
        self, *, window: str | None = None, agent_id: str | None = None
    ) -> AnomalyMetrics:
        """Counts of the alerts of the last ``window`` (``"1h"``, ``"6h"``, ``"24h"``)."""
        return self._native.get_metrics(window, agent_id)

    def list_rules(self) -> tuple[AnomalyRule, ...]:
        """The 10 built-in rules, then the account's custom rules."""
        return self._native.list_rules()

    def create_rule(
        self,
        *,
        rule_id: str,
        name: str,
        condition: Mapping[str, Any] | None = None,
        description: str | None = None,
        severity: str | None = None,
        channels: Sequence[str] = (),
    ) -> AnomalyRule:
        """Create a custom rule (``channels`` are channel names)."""
        return self._native.create_rule(
            rule_id, name, description, _json("condition", condition), severity, list(channels)
        )

    def toggle_rule(self, rule_id: str, *, enabled: bool) -> AnomalyRule:
        """Enable or disable a custom rule, by its ``rule_id``. Built-in rules cannot be
        changed (``ValueError``)."""
        return self._native.toggle_rule(_str("rule_id", rule_id), bool(enabled))

    def delete_rule(self, rule_id: str) -> None:
        """Delete a custom rule, by its ``rule_id``."""
        self._native.delete_rule(_str("rule_id", rule_id))

    def list_channels(self) -> tuple[AlertChannel, ...]:
        """The account's notification channels."""
        return self._native.list_channels()

    def create_channel(
        self,
        *,
        type: str,
        name: str,
        config: Mapping[str, Any] | None = None,
        severities: Sequence[str] | None = None,
    ) -> AlertChannel:
        """Create a notification channel (``type``: ``"slack"``, ``"webhook"``,
        ``"email"``); ``severities`` defaults to critical and high."""
        return self._native.create_channel(
            type, name, _json("config", config), None if severities is None else list(severities)
        )

    def delete_channel(self, channel_id: str) -> None:
        """Delete a notification channel."""
        self._native.delete_channel(_str("channel_id", channel_id))

    def __repr__(self) -> str:
        return f"<AnomaliesClient base_url={self._native.base_url!r}>"


class AsyncAnomaliesClient:
    """The anomalies operations of an ``AsyncGrantex`` client (``client.anomalies``): the
    same as ``AnomaliesClient``'s, as coroutines."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.Client) -> None:
        self._native = native

    async def detect(self) -> DetectAnomaliesResponse:
        """Run anomaly detection across all agents and return detected anomalies."""
        return await self._native.detect_async()

    async def list(self, *, unacknowledged: bool = False) -> ListAnomaliesResponse:
        """List stored anomalies. Pass unacknowledged=True to show only open ones."""
        return await self._native.list_async(bool(unacknowledged))

    async def acknowledge(self, anomaly_id: str) -> Anomaly:
        """Acknowledge an anomaly by ID (see ``AnomaliesClient.acknowledge``)."""
        return await self._native.acknowledge_async(_str("anomaly_id", anomaly_id))

    async def get_response_policy(self) -> str:
        """Return the account's irregularity response mode."""
        return await self._native.get_response_policy_async()

    async def set_response_policy(self, mode: str) -> str:
        """Select alert_only or revoke_agent_grants for the account (any other mode is a
        ``ValueError``, raised before anything is sent)."""
        return await self._native.set_response_policy_async(_str("mode", mode))

    async def list_alerts(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> tuple[Alert, ...]:
        """List alerts, newest first. ``status`` is ``"open"``, ``"acknowledged"`` or
        ``"resolved"``; ``limit`` 1 to 1,000 (default 100)."""
        return await self._native.list_alerts_async(status, severity, agent_id, limit)

    async def get_alert(self, alert_id: str) -> Alert:
        """Get one alert by ID."""
        return await self._native.get_alert_async(_str("alert_id", alert_id))

    async def acknowledge_alert(self, alert_id: str, *, note: str | None = None) -> Alert:
        """Move an alert to ``acknowledged``; the note is stored by the server."""
        return await self._native.acknowledge_alert_async(_str("alert_id", alert_id), note)

    async def resolve_alert(self, alert_id: str, *, note: str | None = None) -> Alert:
        """Move an alert to ``resolved``; the note is stored by the server."""
        return await self._native.resolve_alert_async(_str("alert_id", alert_id), note)

    async def get_metrics(
        self, *, window: str | None = None, agent_id: str | None = None
    ) -> AnomalyMetrics:
        """Counts of the alerts of the last ``window`` (``"1h"``, ``"6h"``, ``"24h"``)."""
        return await self._native.get_metrics_async(window, agent_id)

    async def list_rules(self) -> tuple[AnomalyRule, ...]:
        """The 10 built-in rules, then the account's custom rules."""
        return await self._native.list_rules_async()

    async def create_rule(
        self,
        *,
        rule_id: str,
        name: str,
        condition: Mapping[str, Any] | None = None,
        description: str | None = None,
        severity: str | None = None,
        channels: Sequence[str] = (),
    ) -> AnomalyRule:
        """Create a custom rule (``channels`` are channel names)."""
        return await self._native.create_rule_async(
            rule_id, name, description, _json("condition", condition), severity, list(channels)
        )

    async def toggle_rule(self, rule_id: str, *, enabled: bool) -> AnomalyRule:
        """Enable or disable a custom rule, by its ``rule_id``. Built-in rules cannot be
        changed (``ValueError``)."""
        return await self._native.toggle_rule_async(_str("rule_id", rule_id), bool(enabled))

    async def delete_rule(self, rule_id: str) -> None:
        """Delete a custom rule, by its ``rule_id``."""
        await self._native.delete_rule_async(_str("rule_id", rule_id))

    async def list_channels(self) -> tuple[AlertChannel, ...]:
        """The account's notification channels."""
        return await self._native.list_channels_async()

    async def create_channel(
        self,
        *,
        type: str,
        name: str,
        config: Mapping[str, Any] | None = None,
        severities: Sequence[str] | None = None,
    ) -> AlertChannel:
        """Create a notification channel (``type``: ``"slack"``, ``"webhook"``,
        ``"email"``); ``severities`` defaults to critical and high."""
        return await self._native.create_channel_async(
            type, name, _json("config", config), None if severities is None else list(severities)
        )

    async def delete_channel(self, channel_id: str) -> None:
        """Delete a notification channel."""
        await self._native.delete_channel_async(_str("channel_id", channel_id))

    def __repr__(self) -> str:
        return f"<AsyncAnomaliesClient base_url={self._native.base_url!r}>"


class _ClientBase:
    """What both clients share: the native client, built from the arguments as given (the
    defaults and environment fallbacks are the Rust client's)."""

    _native: _native.Client
    anomalies: AnomaliesClient | AsyncAnomaliesClient

    def _operations(self) -> AnomaliesClient | AsyncAnomaliesClient:
        """The ``anomalies`` operations of this kind of client."""
        raise NotImplementedError

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        max_retries: int = _DEFAULT_MAX_RETRIES,
        max_retry_after: float = _DEFAULT_MAX_RETRY_AFTER,
        proxy: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        deadline: float | None = None,
        max_response_bytes: int = _DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        _check("api_key", api_key, str, "a str or None", optional=True)
        _check("base_url", base_url, str, "a str or None", optional=True)
        _check("timeout", timeout, (int, float), "a number of seconds")
        _check("max_retries", max_retries, int, "an int")
        _check("max_retry_after", max_retry_after, (int, float), "a number of seconds")
        _check("proxy", proxy, str, "a str or None", optional=True)
        _check("ca_file", ca_file, (str, os.PathLike), "a path or None", optional=True)
        _check("deadline", deadline, (int, float), "a number of seconds or None", optional=True)
        _check("max_response_bytes", max_response_bytes, int, "an int")
        self._native = _native.Client(
            api_key=api_key,
            base_url=base_url,
            timeout=float(timeout),
            max_retries=max_retries,
            user_agent=_USER_AGENT,
            max_retry_after=float(max_retry_after),
            proxy=proxy,
            ca_file=None if ca_file is None else os.fspath(ca_file),
            deadline=None if deadline is None else float(deadline),
            max_response_bytes=_byte_count(max_response_bytes),
        )
        self.anomalies = self._operations()

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A client like this one with other options (None: unchanged), on the same
        connection pool: ``client.with_options(timeout=5).anomalies.detect()``. Closing it
        releases only its own hold on the pool."""
        _check("timeout", timeout, (int, float), "a number of seconds or None", optional=True)
        _check("max_retries", max_retries, int, "an int or None", optional=True)
        _check(
            "max_retry_after",
            max_retry_after,
            (int, float),
            "a number of seconds or None",
            optional=True,
        )
        _check("deadline", deadline, (int, float), "a number of seconds or None", optional=True)
        _check("max_response_bytes", max_response_bytes, int, "an int or None", optional=True)
        copy = object.__new__(type(self))
        copy._native = self._native.with_options(
            timeout=None if timeout is None else float(timeout),
            max_retries=max_retries,
            max_retry_after=None if max_retry_after is None else float(max_retry_after),
            deadline=None if deadline is None else float(deadline),
            max_response_bytes=None
            if max_response_bytes is None
            else _byte_count(max_response_bytes),
        )
        copy.anomalies = copy._operations()
        return copy

    @property
    def base_url(self) -> str:
        """The base URL requests go to, without a trailing slash."""
        return self._native.base_url

    @property
    def last_rate_limit(self) -> RateLimit | None:
        """The rate-limit headers of the last response (None when it had none)."""
        return self._native.last_rate_limit()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._native.closed

    def __repr__(self) -> str:
        native = getattr(self, "_native", None)
        base_url = native.base_url if native is not None else None
        return f"{type(self).__name__}(base_url={base_url!r})"


class Grantex(_ClientBase, Closing):
    """Main entry point for the Grantex SDK.

    ``api_key`` falls back to ``GRANTEX_API_KEY``; ``base_url`` (when not given or None)
    to ``GRANTEX_BASE_URL``, else ``https://api.grantex.dev``. ``timeout`` is per attempt,
    in seconds; ``max_retries`` retries follow a 429, 502, 503, 504 or a network failure;
    a ``Retry-After`` longer than ``max_retry_after`` seconds is waited for that long.
    ``proxy`` sends every request through that proxy (else ``HTTPS_PROXY``/``HTTP_PROXY``);
    ``ca_file`` is a PEM bundle of extra root certificates (a private CA). ``deadline``
    bounds one call in seconds, attempts and waits included (None: no bound but the
    attempts' timeouts). A response body larger than ``max_response_bytes`` (32 MiB) fails
    the call with ``GrantexResponseTooLargeError`` as soon as the limit is crossed.

    One client can be shared by many threads, and survives ``os.fork()`` (the child gets
    fresh connections). After ``close()``, calls raise ``GrantexClosedError`` (a
    ``GrantexError`` and a ``ValueError``); ``close()`` itself may be called again.
    """

    anomalies: AnomaliesClient

    def _operations(self) -> AnomaliesClient:
        return AnomaliesClient(self._native)

    def close(self) -> None:
        """Releases the connections. Idempotent."""
        self._native.close()


class AsyncGrantex(_ClientBase):
    """The Grantex client for asyncio: the same constructor, operations and results as
    ``Grantex``, with ``await`` (``async with AsyncGrantex(...) as client:``).

    Each call runs on the extension's own I/O thread and completes a future of the running
    event loop: no thread per call, and the loop never blocks on the network. Cancelling a
    call (``task.cancel()``, ``asyncio.wait_for``) stops the request. A client may be used
    from any event loop, from many tasks at once (one connection pool), and in a child
    after ``os.fork()``.
    """

    anomalies: AsyncAnomaliesClient

    def _operations(self) -> AsyncAnomaliesClient:
        return AsyncAnomaliesClient(self._native)

    async def close(self) -> None:
        """Releases the connections; calls in flight are not waited for. Idempotent."""
        self._native.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _json(name: str, value: Mapping[str, Any] | None) -> str | None:
    """A dict argument as JSON text for the native client."""
    if value is None:
        return None
    import json  # only the calls that send an object pay for the import
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, not {type(value).__name__}")
    return json.dumps(dict(value), allow_nan=False)


def _byte_count(value: int) -> int:
    if value < 0:
        raise ValueError(f"max_response_bytes must not be negative, not {value}")
    return value


def _check(
    name: str,
    value: object,
    types: type | tuple[type, ...],
    expected: str,
    *,
    optional: bool = False,
) -> None:
    """A ``TypeError`` naming the parameter (``bool`` is not taken for a number)."""
    if (value is None and optional) or (isinstance(value, types) and not isinstance(value, bool)):
        return
    raise TypeError(f"{name} must be {expected}, not {type(value).__name__}")


def _str(name: str, value: object) -> str:
    """An id or name argument, or a ``TypeError`` naming the parameter."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value
