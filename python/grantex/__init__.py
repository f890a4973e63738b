"""Grantex Python SDK: the documented ``grantex`` API on top of a Rust client.

>>> from grantex import Grantex
>>> with Grantex(api_key="gx_live_...") as client:  # doctest: +SKIP
...     result = client.anomalies.detect()
"""

from __future__ import annotations

import os as _os

from ._client import AnomaliesClient, AsyncAnomaliesClient, AsyncGrantex, Grantex
from ._errors import (
    GrantexApiError,
    GrantexAuthError,
    GrantexBadRequestError,
    GrantexClosedError,
    GrantexDecodeError,
    GrantexError,
    GrantexNetworkError,
    GrantexNotFoundError,
    GrantexRateLimitError,
    GrantexRedirectError,
    GrantexResponseTooLargeError,
    GrantexServerError,
    GrantexTimeoutError,
    GrantexTokenError,
)
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
from ._native import __version__

if _os.environ.get("GRANTEX_LOG"):  # `logging` is imported only when asked for
    from ._logs import setup_from_env

    setup_from_env()
del _os

__all__ = [
    "Alert",
    "AlertChannel",
    "AnomaliesClient",
    "Anomaly",
    "AnomalyMetrics",
    "AnomalyRule",
    "AsyncAnomaliesClient",
    "AsyncGrantex",
    "DetectAnomaliesResponse",
    "Grantex",
    "GrantexApiError",
    "GrantexAuthError",
    "GrantexBadRequestError",
    "GrantexClosedError",
    "GrantexDecodeError",
    "GrantexError",
    "GrantexNetworkError",
    "GrantexNotFoundError",
    "GrantexRateLimitError",
    "GrantexRedirectError",
    "GrantexResponseTooLargeError",
    "GrantexServerError",
    "GrantexTimeoutError",
    "GrantexTokenError",
    "ListAnomaliesResponse",
    "RateLimit",
    "__version__",
]
