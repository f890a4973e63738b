"""The result types of the Grantex SDK: frozen dataclasses, as documented.

Instances returned by the client are built by the native extension directly from the
decoded response (without calling ``__init__``); they are indistinguishable from
instances built through the constructor: ``==``, ``repr``, ``dataclasses.asdict``,
``dataclasses.replace``, ``copy`` and ``pickle`` all behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass

# `typing` is not imported at run time: it is the largest part of `import grantex` that
# is not needed (annotations are strings; type checkers treat TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Anomaly", "DetectAnomaliesResponse", "ListAnomaliesResponse", "RateLimit"]


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit headers of a response."""

    limit: int
    """Requests allowed in the current window (``x-ratelimit-limit``)."""
    remaining: int
    """Requests left in the current window (``x-ratelimit-remaining``)."""
    reset: int
    """Seconds until the window resets (``x-ratelimit-reset``)."""
    retry_after: int | None = None
    """Seconds to wait before retrying (``retry-after``, sent with a 429)."""


@dataclass(frozen=True)
class Anomaly:
    """One detected anomaly."""

    id: str
    """Unique anomaly identifier."""
    type: str
    """``rate_spike``, ``high_failure_rate``, ``new_principal``, ``off_hours_activity``,
    or a type the server adds later (kept as sent)."""
    severity: str
    """``"low"``, ``"medium"``, ``"high"``, or another level the server sends."""
    agent_id: str | None
    """The agent involved (if applicable)."""
    principal_id: str | None
    """The principal involved (if applicable)."""
    description: str
    """Human-readable description of the anomaly."""
    metadata: dict[str, Any]
    """Additional data about the anomaly, always decoded to a dict when the server sent it
    as a JSON string holding an object."""
    detected_at: str
    """ISO 8601 timestamp when the anomaly was detected."""
    acknowledged_at: str | None
    """ISO 8601 timestamp when the anomaly was acknowledged (or None)."""


@dataclass(frozen=True)
class DetectAnomaliesResponse:
    """The result of one detection run."""

    detected_at: str
    """ISO 8601 timestamp of the detection run."""
    total: int
    """Number of anomalies detected."""
    anomalies: tuple[Anomaly, ...]
    """The detected anomalies."""


@dataclass(frozen=True)
class ListAnomaliesResponse:
    """The stored anomalies, newest first."""

    anomalies: tuple[Anomaly, ...]
    """The list of anomalies."""
    total: int
    """Total number of anomalies."""
