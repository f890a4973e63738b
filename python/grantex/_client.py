"""The ``Grantex`` client: a thin Python shell around the native (Rust) client."""

from __future__ import annotations

from . import _native
from ._closing import Closing
from ._models import Anomaly, DetectAnomaliesResponse, ListAnomaliesResponse, RateLimit

__all__ = ["AnomaliesClient", "Grantex"]

_USER_AGENT = f"grantex-python/{_native.__version__} (rust)"


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


class Grantex(Closing):
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
        timeout: float = _native.DEFAULT_TIMEOUT,
        max_retries: int = _native.DEFAULT_MAX_RETRIES,
    ) -> None:
        # Passed on as given: the defaults and the environment fallbacks are the Rust
        # client's (one place for both languages).
        self._native = _native.Client(
            api_key=api_key,
            base_url=base_url,
            timeout=float(timeout),
            max_retries=max_retries,
            user_agent=_USER_AGENT,
        )
        self.anomalies = AnomaliesClient(self._native)

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

    def close(self) -> None:
        """Releases the connections. Idempotent."""
        self._native.close()

    def __repr__(self) -> str:
        return f"Grantex(base_url={self._native.base_url!r})"
