"""The result types of the Grantex SDK: frozen dataclasses, as documented.

Instances returned by the client are built by the native extension directly from the
decoded response (without calling ``__init__``); they are indistinguishable from
instances built through the constructor: ``==``, ``repr``, ``dataclasses.asdict``,
``dataclasses.replace``, ``copy`` and ``pickle`` all behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# `typing` is not imported at run time: it is the largest part of `import grantex` that
# is not needed (annotations are strings; type checkers treat TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Alert",
    "AlertChannel",
    "Anomaly",
    "AnomalyMetrics",
    "AnomalyRule",
    "DetectAnomaliesResponse",
    "ListAnomaliesResponse",
    "RateLimit",
]


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
    response_mode: str = "revoke_agent_grants"
    """How the account responds to what detect finds: ``"revoke_agent_grants"`` (also
    when the server does not say) or ``"alert_only"``."""
    auto_revoked_grants: int = 0
    """Active grants this run revoked (agents with high or critical anomalies)."""


@dataclass(frozen=True)
class ListAnomaliesResponse:
    """The stored anomalies, newest first."""

    anomalies: tuple[Anomaly, ...]
    """The list of anomalies."""
    total: int
    """Total number of anomalies."""


@dataclass(frozen=True)
class Alert:
    """A stored anomaly seen as an alert, with its lifecycle status."""

    alert_id: str
    """The alert's id (the anomaly's id)."""
    rule_id: str | None
    """The custom rule that raised it; None for detected anomalies."""
    rule_name: str
    """The rule's name; for detected anomalies, their type."""
    severity: str
    """``"low"``, ``"medium"``, ``"high"``, ``"critical"``."""
    status: str
    """``"open"``, ``"acknowledged"`` or ``"resolved"``."""
    agent_id: str | None
    """The agent involved (if applicable)."""
    detected_at: str
    """ISO 8601 timestamp of detection."""
    description: str
    """Human-readable description."""
    context: dict[str, Any]
    """Context of the alert (``{}`` for detected anomalies)."""
    acknowledged_at: str | None
    """When it was acknowledged through the alert routes (or None)."""
    resolved_at: str | None
    """When it was resolved (or None)."""


@dataclass(frozen=True)
class AnomalyMetrics:
    """Counts of the alerts detected within a window."""

    window: str
    """``"1h"``, ``"6h"`` or ``"24h"``."""
    total: int
    """Alerts detected within the window."""
    by_status: dict[str, int]
    """Counts by status (``open``, ``acknowledged``, ``resolved``)."""
    by_severity: dict[str, int]
    """Counts by severity (``critical``, ``high``, ``medium``, ``low``)."""


@dataclass(frozen=True)
class AnomalyRule:
    """A detection rule: built in (``AD-001`` ... ``AD-010``) or a custom one."""

    rule_id: str
    """The rule's own id (``AD-001`` ..., or the creator's id for custom rules)."""
    name: str
    """Human-readable name."""
    severity: str
    """``"low"``, ``"medium"``, ``"high"`` or ``"critical"``."""
    description: str | None
    """What the rule detects."""
    enabled: bool
    """Whether the rule is on."""
    built_in: bool
    """Built-in rules cannot be changed or deleted."""
    id: str | None = None
    """The stored id (``arule_...``) of a custom rule; None for built-in rules."""
    condition: dict[str, Any] | None = None
    """A custom rule's condition (decoded when the server sent it as a JSON string)."""
    alert_channels: tuple[str, ...] = ()
    """Names of the channels a custom rule alerts."""
    created_at: str | None = None
    """When a custom rule was created."""


@dataclass(frozen=True)
class AlertChannel:
    """A notification channel. ``config`` holds secrets (webhook URLs, tokens): it is left
    out of ``repr``."""

    id: str
    """The channel's id."""
    type: str
    """``"slack"``, ``"webhook"`` or ``"email"``."""
    name: str
    """Its name."""
    config: dict[str, Any] = field(repr=False)
    """Where and how to deliver (decoded when the server sent it as a JSON string)."""
    severities: tuple[str, ...] = ()
    """The severities it receives."""
    enabled: bool = True
    """Whether it is on."""
    created_at: str | None = None
    """When it was created."""
