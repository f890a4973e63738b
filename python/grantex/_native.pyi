# Stubs of the native extension module `grantex._native` (src/python/mod.rs).
# Private: use the `grantex` package instead.

from typing import final

from ._models import Anomaly, DetectAnomaliesResponse, ListAnomaliesResponse, RateLimit

__version__: str

@final
class Client:
    """The Rust client. Raises the classes of `grantex._errors` (one conversion in Rust)."""

    def __new__(
        cls,
        api_key: str,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        user_agent: str,
    ) -> Client: ...
    def detect(self) -> DetectAnomaliesResponse: ...
    def list(self, unacknowledged: bool) -> ListAnomaliesResponse: ...
    def acknowledge(self, anomaly_id: str) -> Anomaly: ...
    def last_rate_limit(self) -> RateLimit | None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def base_url(self) -> str: ...
