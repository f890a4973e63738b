"""The ``Grantex`` and ``AsyncGrantex`` clients: thin Python shells around the native (Rust)
client. Both run the same Rust calls; the async one completes an ``asyncio`` future from
the extension's runtime instead of blocking a thread."""

from __future__ import annotations

from . import _native
from ._closing import Closing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self
from ._models import Anomaly, DetectAnomaliesResponse, ListAnomaliesResponse, RateLimit

__all__ = ["AnomaliesClient", "AsyncAnomaliesClient", "AsyncGrantex", "Grantex"]

_USER_AGENT = f"grantex-python/{_native.__version__} (rust)"
# The Rust client's defaults, shown in the signatures (they are applied in Rust).
_DEFAULT_TIMEOUT = _native.DEFAULT_TIMEOUT
_DEFAULT_MAX_RETRIES = _native.DEFAULT_MAX_RETRIES


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
        return self._native.acknowledge(anomaly_id)

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
        return await self._native.acknowledge_async(anomaly_id)

    def __repr__(self) -> str:
        return f"<AsyncAnomaliesClient base_url={self._native.base_url!r}>"


class _ClientBase:
    """What both clients share: the native client, built from the arguments as given (the
    defaults and environment fallbacks are the Rust client's)."""

    _native: _native.Client

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        max_retries: int = _DEFAULT_MAX_RETRIES,
    ) -> None:
        self._native = _native.Client(
            api_key=api_key,
            base_url=base_url,
            timeout=float(timeout),
            max_retries=max_retries,
            user_agent=_USER_AGENT,
        )

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
    in seconds; ``max_retries`` retries follow a 429, 502, 503, 504 or a network failure.

    One client can be shared by many threads, and survives ``os.fork()`` (the child gets
    fresh connections). After ``close()``, calls raise ``GrantexClosedError`` (a
    ``GrantexError`` and a ``ValueError``); ``close()`` itself may be called again.
    """

    anomalies: AnomaliesClient

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        max_retries: int = _DEFAULT_MAX_RETRIES,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self.anomalies = AnomaliesClient(self._native)

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

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        max_retries: int = _DEFAULT_MAX_RETRIES,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self.anomalies = AsyncAnomaliesClient(self._native)

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
