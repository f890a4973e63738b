"""``grantex``: the command line for operators (the anomalies API).

::

    grantex [GLOBAL OPTIONS] anomalies detect
    grantex anomalies list [--unacknowledged]
    grantex anomalies acknowledge ID
    grantex anomalies alerts list|get|acknowledge|resolve ...
    grantex anomalies metrics [--window W] [--agent-id A]
    grantex anomalies rules list|create|enable|disable|delete ...
    grantex anomalies channels list|create|delete ...
    grantex anomalies policy get|set ...

Global options (``--api-key``, ``--base-url``, ``--json``, ``--timeout``, ``--max-retries``)
are accepted before the command and after it. Output is a table (severities coloured on a
terminal, unless ``NO_COLOR`` is set) or, with ``--json``, one JSON document holding the
result in the API's own field names (camelCase).

Exit status: 0 success, 1 API error (the server refused the request, or its answer could not
be decoded), 2 usage error (bad option or argument, no API key), 3 network error (including
timeouts). Errors are one line on stderr, ``grantex: <message>``.

This module is not imported by ``import grantex``: only the ``grantex`` console script and
``python -m grantex`` load it.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._client import Grantex
from ._errors import GrantexApiError, GrantexDecodeError, GrantexError, GrantexNetworkError
from ._models import Alert, AlertChannel, Anomaly, AnomalyMetrics, AnomalyRule
from ._native import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, __version__

__all__ = ["main"]

PROG = "grantex"

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3

_RESPONSE_MODES = ("alert_only", "revoke_agent_grants")

# SGR sequences per severity (an unknown severity is printed as is).
_SEVERITY_COLOURS = {
    "critical": "1;31",  # bold red
    "high": "31",  # red
    "medium": "33",  # yellow
    "low": "36",  # cyan
}


class _UsageError(Exception):
    """A bad argument found by the command line itself (exit status 2)."""


# -- JSON ------------------------------------------------------------------------------


def _camel(name: str) -> str:
    """``detected_at`` -> ``detectedAt``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_factory(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {_camel(key): value for key, value in pairs}


def to_json(value: Any) -> Any:
    """A result as the API's JSON: dataclasses through ``dataclasses.asdict`` with their
    field names in camelCase. Only dataclass field names are converted: the keys of the
    free-form objects the server sent (``metadata``, ``context``, ``condition``,
    ``config``, the metrics' counts) are kept as they came (``asdict`` builds plain
    dicts without the ``dict_factory``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value, dict_factory=_camel_factory)
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    return value


# -- text output -----------------------------------------------------------------------


def _clean(value: object) -> str:
    """A value as one line of printable text: None is ``-``; line breaks and tabs become
    spaces, other control characters (an escape sequence in a description) are shown
    escaped instead of reaching the terminal."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def _width(text: str) -> int:
    """Columns taken on a terminal (wide East Asian characters take two, combining none)."""
    if text.isascii():
        return len(text)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def _truncate(text: str, columns: int) -> str:
    if _width(text) <= columns:
        return text
    if columns <= 1:
        return "…"[:columns]
    out = ""
    for ch in text:
        if _width(out + ch) > columns - 1:
            break
        out += ch
    return out + "…"


class _Output:
    """Where and how results are printed."""

    def __init__(self, *, as_json: bool, colour: bool, max_width: int | None) -> None:
        self.as_json = as_json
        self.colour = colour
        self.max_width = max_width

    def emit(self, document: Any, render: Callable[[], Iterable[str]]) -> None:
        """Prints ``document`` as JSON with ``--json``, else the lines of ``render()``."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        else:
            for line in render():
                sys.stdout.write(line + "\n")

    def severity(self, severity: str, padded: str) -> str:
        code = _SEVERITY_COLOURS.get(severity.lower()) if self.colour else None
        return f"\x1b[{code}m{padded}\x1b[0m" if code else padded

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        severity_column: int | None = None,
    ) -> list[str]:
        """Rows under upper-case headers, columns two spaces apart; the last column is not
        padded and, on a terminal, is cut to the terminal's width."""
        cells = [[_clean(value) for value in row] for row in rows]
        widths = [_width(header) for header in headers]
        for row in cells:
            for index, cell in enumerate(row):
                widths[index] = max(widths[index], _width(cell))
        lines = []
        for row_index, row in enumerate([list(headers), *cells]):
            parts = []
            for index, cell in enumerate(row):
                text = cell
                if index == len(row) - 1 and self.max_width is not None:
                    room = self.max_width - sum(widths[:index]) - 2 * index
                    if room >= 20:  # narrower than that, let the terminal wrap it
                        text = _truncate(text, room)
                padding = "" if index == len(row) - 1 else " " * (widths[index] - _width(text))
                if row_index > 0 and index == severity_column:
                    text = self.severity(cell, text)
                parts.append(text + padding)
            lines.append("  ".join(parts).rstrip())
        return lines

    def details(
        self, pairs: Sequence[tuple[str, object]], severity: str | None = None
    ) -> list[str]:
        """``Label  value`` lines, one field a line."""
        width = max(_width(label) for label, _ in pairs)
        lines = []
        for label, value in pairs:
            text = _clean(value)
            if label == "Severity" and severity is not None:
                text = self.severity(severity, text)
            lines.append(f"{label}{' ' * (width - _width(label))}  {text}".rstrip())
        return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _anomalies(count: int) -> str:
    return "1 anomaly" if count == 1 else f"{count} anomalies"


# -- result types as tables ------------------------------------------------------------

_ANOMALY_HEADERS = ("ID", "SEVERITY", "TYPE", "AGENT", "DETECTED", "ACKNOWLEDGED", "DESCRIPTION")


def _anomaly_rows(anomalies: Iterable[Anomaly]) -> list[tuple[object, ...]]:
    return [
        (a.id, a.severity, a.type, a.agent_id, a.detected_at, a.acknowledged_at, a.description)
        for a in anomalies
    ]


def _anomaly_table(out: _Output, anomalies: Iterable[Anomaly]) -> list[str]:
    return out.table(_ANOMALY_HEADERS, _anomaly_rows(anomalies), severity_column=1)


_ALERT_HEADERS = ("ID", "SEVERITY", "STATUS", "RULE", "AGENT", "DETECTED", "DESCRIPTION")


def _alert_table(out: _Output, alerts: Iterable[Alert]) -> list[str]:
    rows = [
        (a.alert_id, a.severity, a.status, a.rule_name, a.agent_id, a.detected_at, a.description)
        for a in alerts
    ]
    return out.table(_ALERT_HEADERS, rows, severity_column=1)


def _alert_details(out: _Output, alert: Alert) -> list[str]:
    context = json.dumps(alert.context, ensure_ascii=False) if alert.context else None
    return out.details(
        [
            ("ID", alert.alert_id),
            ("Rule", alert.rule_name),
            ("Rule ID", alert.rule_id),
            ("Severity", alert.severity),
            ("Status", alert.status),
            ("Agent", alert.agent_id),
            ("Detected", alert.detected_at),
            ("Acknowledged", alert.acknowledged_at),
            ("Resolved", alert.resolved_at),
            ("Description", alert.description),
            ("Context", context),
        ],
        severity=alert.severity,
    )


_RULE_HEADERS = ("RULE ID", "NAME", "SEVERITY", "ENABLED", "BUILT-IN", "CHANNELS", "DESCRIPTION")


def _rule_table(out: _Output, rules: Iterable[AnomalyRule]) -> list[str]:
    rows = [
        (
            r.rule_id,
            r.name,
            r.severity,
            r.enabled,
            r.built_in,
            ", ".join(r.alert_channels) or None,
            r.description,
        )
        for r in rules
    ]
    return out.table(_RULE_HEADERS, rows, severity_column=2)


_CHANNEL_HEADERS = ("ID", "TYPE", "NAME", "SEVERITIES", "ENABLED", "CREATED", "CONFIG KEYS")


def _config_keys(config: object) -> str | None:
    """A channel's config as its keys only: the values may be secrets (webhook URLs,
    tokens) and never reach the table."""
    if isinstance(config, Mapping):
        return ", ".join(sorted(str(key) for key in config)) or None
    return None if config is None else "(hidden)"


def _channel_table(out: _Output, channels: Iterable[AlertChannel]) -> list[str]:
    rows = [
        (
            c.id,
            c.type,
            c.name,
            ", ".join(c.severities) or None,
            c.enabled,
            c.created_at,
            _config_keys(c.config),
        )
        for c in channels
    ]
    return out.table(_CHANNEL_HEADERS, rows)


def _metrics_lines(out: _Output, metrics: AnomalyMetrics) -> list[str]:
    lines = out.details([("Window", metrics.window), ("Total", metrics.total)])
    if metrics.by_status:
        lines.append("")
        lines += out.table(("STATUS", "COUNT"), _sorted_counts(metrics.by_status, _STATUSES))
    if metrics.by_severity:
        lines.append("")
        lines += out.table(
            ("SEVERITY", "COUNT"),
            _sorted_counts(metrics.by_severity, _SEVERITIES),
            severity_column=0,
        )
    return lines


_STATUSES = ("open", "acknowledged", "resolved")
_SEVERITIES = ("critical", "high", "medium", "low")


def _sorted_counts(counts: Mapping[str, int], order: Sequence[str]) -> list[tuple[str, int]]:
    """The known keys in their usual order, then any other in alphabetical order."""
    rank = {key: index for index, key in enumerate(order)}
    keys = sorted(counts, key=lambda key: (rank.get(key, len(order)), key))
    return [(key, counts[key]) for key in keys]


# -- the commands ----------------------------------------------------------------------

Handler = Callable[[Grantex, argparse.Namespace, _Output], None]


def _detect(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    result = client.anomalies.detect()

    def render() -> list[str]:
        revoked = _plural(result.auto_revoked_grants, "grant")
        summary = (
            f"Detected {_anomalies(result.total)} at {_clean(result.detected_at)} (response mode: {_clean(result.response_mode)}, "
            f"{revoked} revoked)."
        )
        if not result.anomalies:
            return [summary]
        return [summary, "", *_anomaly_table(out, result.anomalies)]

    out.emit(to_json(result), render)


def _list(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    result = client.anomalies.list(unacknowledged=args.unacknowledged)

    def render() -> list[str]:
        if not result.anomalies:
            return ["No unacknowledged anomalies." if args.unacknowledged else "No anomalies."]
        return [*_anomaly_table(out, result.anomalies), "", f"Total: {_anomalies(result.total)}"]

    out.emit(to_json(result), render)


def _acknowledge(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    anomaly = client.anomalies.acknowledge(args.anomaly_id)
    out.emit(
        to_json(anomaly),
        lambda: [
            f"Acknowledged anomaly {_clean(anomaly.id)}.",
            "",
            *_anomaly_table(out, [anomaly]),
        ],
    )


def _alerts_list(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    alerts = client.anomalies.list_alerts(
        status=args.status, severity=args.severity, agent_id=args.agent_id, limit=args.limit
    )
    out.emit(
        {"data": to_json(alerts)},
        lambda: _alert_table(out, alerts) if alerts else ["No alerts."],
    )


def _alerts_get(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    alert = client.anomalies.get_alert(args.alert_id)
    out.emit(to_json(alert), lambda: _alert_details(out, alert))


def _alerts_acknowledge(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    alert = client.anomalies.acknowledge_alert(args.alert_id, note=args.note)
    out.emit(to_json(alert), lambda: _alert_details(out, alert))


def _alerts_resolve(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    alert = client.anomalies.resolve_alert(args.alert_id, note=args.note)
    out.emit(to_json(alert), lambda: _alert_details(out, alert))


def _metrics(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    metrics = client.anomalies.get_metrics(window=args.window, agent_id=args.agent_id)
    out.emit(to_json(metrics), lambda: _metrics_lines(out, metrics))


def _rules_list(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    rules = client.anomalies.list_rules()
    out.emit({"rules": to_json(rules)}, lambda: _rule_table(out, rules) if rules else ["No rules."])


def _rules_create(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    condition = _json_object(args.condition, "--condition")
    rule = client.anomalies.create_rule(
        rule_id=args.rule_id,
        name=args.name,
        condition=condition,
        description=args.description,
        severity=args.severity,
        channels=args.channels,
    )
    out.emit(
        to_json(rule),
        lambda: [f"Created rule {_clean(rule.rule_id)}.", "", *_rule_table(out, [rule])],
    )


def _rules_toggle(enabled: bool) -> Handler:
    def toggle(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
        rule = client.anomalies.toggle_rule(args.rule_id, enabled=enabled)
        verb = "Enabled" if enabled else "Disabled"
        out.emit(
            to_json(rule),
            lambda: [f"{verb} rule {_clean(rule.rule_id)}.", "", *_rule_table(out, [rule])],
        )

    return toggle


def _rules_delete(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    client.anomalies.delete_rule(args.rule_id)
    out.emit(
        {"ruleId": args.rule_id, "deleted": True},
        lambda: [f"Deleted rule {_clean(args.rule_id)}."],
    )


def _channels_list(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    channels = client.anomalies.list_channels()
    out.emit(
        {"channels": to_json(channels)},
        lambda: _channel_table(out, channels) if channels else ["No channels."],
    )


def _channels_create(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    config = _json_object(args.config, "--config")
    args.secrets = _secrets(config)
    channel = client.anomalies.create_channel(
        type=args.type, name=args.name, config=config, severities=args.severities
    )
    out.emit(
        to_json(channel),
        lambda: [f"Created channel {_clean(channel.id)}.", "", *_channel_table(out, [channel])],
    )


def _channels_delete(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    client.anomalies.delete_channel(args.channel_id)
    out.emit(
        {"id": args.channel_id, "deleted": True},
        lambda: [f"Deleted channel {_clean(args.channel_id)}."],
    )


def _policy_get(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    mode = client.anomalies.get_response_policy()
    out.emit({"mode": mode}, lambda: [f"Response policy: {_clean(mode)}"])


def _policy_set(client: Grantex, args: argparse.Namespace, out: _Output) -> None:
    mode = client.anomalies.set_response_policy(args.mode)
    out.emit({"mode": mode}, lambda: [f"Response policy set to {_clean(mode)}."])


# -- arguments -------------------------------------------------------------------------


def _json_object(value: str | None, option: str) -> dict[str, Any] | None:
    """The JSON object of an option: inline text, ``@FILE``, or ``-`` for stdin. The text
    is never repeated in an error (a channel's config may hold secrets)."""
    if value is None:
        return None
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as file:
                text = file.read()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise _UsageError(f"{option}: cannot read {value[1:]}: {reason}") from None
    else:
        text = value
    try:
        document = json.loads(text)
    except ValueError as error:
        # JSONDecodeError.msg is the reason alone ("Expecting value"), without the text.
        reason = getattr(error, "msg", "invalid JSON")
        raise _UsageError(f"{option} is not valid JSON ({reason})") from None
    if not isinstance(document, dict):
        raise _UsageError(f"{option} must be a JSON object")
    return document


def _secrets(value: object) -> list[str]:
    """The string values of a channel's config (to keep them out of error messages)."""
    if isinstance(value, str):
        return [value] if len(value) >= 4 else []
    if isinstance(value, Mapping):
        return [secret for item in value.values() for secret in _secrets(item)]
    if isinstance(value, (list, tuple)):
        return [secret for item in value for secret in _secrets(item)]
    if value is None or isinstance(value, bool):
        return []
    text = str(value)
    return [text] if len(text) >= 4 else []


def _global_options() -> argparse.ArgumentParser:
    """The global options, accepted before the command and after it (their default is
    SUPPRESS so that a command's parser does not reset what came before it)."""
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (default: $GRANTEX_API_KEY; prefer the variable: "
        "options are visible to other users in the process list)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API base URL (default: $GRANTEX_BASE_URL, else https://api.grantex.dev)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document (the API's field names)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"timeout per attempt (default: {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="retries after a 429, 502, 503, 504 or a network failure "
        f"(default: {DEFAULT_MAX_RETRIES})",
    )
    return parent


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    handler: Handler | None,
    parents: Sequence[argparse.ArgumentParser],
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser = group.add_parser(
        name,
        help=help_text,
        description=description or help_text[:1].upper() + help_text[1:] + ".",
        parents=list(parents),
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def _commands(
    parser: argparse.ArgumentParser, dest: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    group = parser.add_subparsers(dest=dest, metavar="COMMAND", title="commands")
    group.required = True
    return group


def build_parser() -> argparse.ArgumentParser:
    """The ``grantex`` argument parser."""
    common = _global_options()
    leaf = [common]
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Grantex command line: anomaly detection, alerts, rules, channels and "
        "the response policy of your account.",
        epilog="Exit status: 0 success, 1 API error, 2 usage error, 3 network error.",
        parents=leaf,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top = _commands(parser, "command")

    anomalies = _command(top, "anomalies", "anomaly detection and alerting", None, [])
    commands = _commands(anomalies, "anomalies_command")

    _command(commands, "detect", "run anomaly detection across all agents", _detect, leaf)
    listing = _command(commands, "list", "list stored anomalies, newest first", _list, leaf)
    listing.add_argument(
        "--unacknowledged", action="store_true", help="only anomalies not yet acknowledged"
    )
    ack = _command(commands, "acknowledge", "acknowledge an anomaly", _acknowledge, leaf)
    ack.add_argument("anomaly_id", metavar="ID", help="the anomaly's id")

    # alerts
    alerts = _command(commands, "alerts", "alerts: stored anomalies with a status", None, [])
    alert_commands = _commands(alerts, "alerts_command")
    alerts_list = _command(alert_commands, "list", "list alerts, newest first", _alerts_list, leaf)
    alerts_list.add_argument(
        "--status", metavar="S", help="open, acknowledged or resolved (default: all)"
    )
    alerts_list.add_argument(
        "--severity", metavar="S", help="critical, high, medium or low (default: all)"
    )
    alerts_list.add_argument("--agent-id", metavar="A", help="only this agent's alerts")
    alerts_list.add_argument(
        "--limit", type=int, metavar="N", help="at most N alerts, 1 to 1000 (default: 100)"
    )
    alert_get = _command(alert_commands, "get", "show one alert", _alerts_get, leaf)
    alert_get.add_argument("alert_id", metavar="ID", help="the alert's id")
    changes: tuple[tuple[str, str, Handler], ...] = (
        ("acknowledge", "acknowledge an alert", _alerts_acknowledge),
        ("resolve", "resolve an alert", _alerts_resolve),
    )
    for name, verb, handler in changes:
        command = _command(alert_commands, name, verb, handler, leaf)
        command.add_argument("alert_id", metavar="ID", help="the alert's id")
        command.add_argument("--note", metavar="N", help="a note stored with the change")

    # metrics
    metrics = _command(commands, "metrics", "alert counts by status and severity", _metrics, leaf)
    metrics.add_argument("--window", metavar="W", help="1h, 6h or 24h (default: 24h)")
    metrics.add_argument("--agent-id", metavar="A", help="only this agent's alerts")

    # rules
    rules = _command(commands, "rules", "detection rules (built-in and custom)", None, [])
    rule_commands = _commands(rules, "rules_command")
    _command(
        rule_commands, "list", "list the built-in rules, then the custom ones", _rules_list, leaf
    )
    create = _command(rule_commands, "create", "create a custom rule", _rules_create, leaf)
    create.add_argument("--rule-id", required=True, metavar="R", help="the rule's own id")
    create.add_argument("--name", required=True, metavar="N", help="its human-readable name")
    create.add_argument("--description", metavar="D", help="what it detects")
    create.add_argument(
        "--severity", metavar="S", help="critical, high, medium or low (server default: medium)"
    )
    create.add_argument(
        "--condition",
        metavar="JSON",
        help="the condition, a JSON object (or @FILE, or - for stdin)",
    )
    create.add_argument(
        "--channel",
        dest="channels",
        action="append",
        default=[],
        metavar="NAME",
        help="a channel (by name) to alert; may be repeated",
    )
    toggles: tuple[tuple[str, str, Handler], ...] = (
        ("enable", "enable a custom rule", _rules_toggle(True)),
        ("disable", "disable a custom rule", _rules_toggle(False)),
        ("delete", "delete a custom rule", _rules_delete),
    )
    for name, verb, handler in toggles:
        command = _command(rule_commands, name, verb, handler, leaf)
        command.add_argument("rule_id", metavar="RULE_ID", help="the rule's own id")

    # channels
    channels = _command(commands, "channels", "notification channels", None, [])
    channel_commands = _commands(channels, "channels_command")
    _command(channel_commands, "list", "list the notification channels", _channels_list, leaf)
    channel_create = _command(
        channel_commands,
        "create",
        "create a notification channel",
        _channels_create,
        leaf,
        description="Create a notification channel. Its config (webhook URL, token) is "
        "printed by --json only; tables show its keys.",
    )
    channel_create.add_argument(
        "--type", required=True, metavar="T", help="slack, webhook or email"
    )
    channel_create.add_argument("--name", required=True, metavar="N", help="its name")
    channel_create.add_argument(
        "--config",
        metavar="JSON",
        help="where and how to deliver, a JSON object (or @FILE, or - for stdin: "
        "keeps secrets out of the process list)",
    )
    channel_create.add_argument(
        "--severity",
        dest="severities",
        action="append",
        default=None,
        metavar="S",
        help="a severity it receives; may be repeated (default: critical and high)",
    )
    channel_delete = _command(
        channel_commands, "delete", "delete a notification channel", _channels_delete, leaf
    )
    channel_delete.add_argument("channel_id", metavar="ID", help="the channel's id")

    # policy
    policy = _command(commands, "policy", "the account's response policy", None, [])
    policy_commands = _commands(policy, "policy_command")
    _command(policy_commands, "get", "show the response policy", _policy_get, leaf)
    policy_set = _command(
        policy_commands,
        "set",
        "select the response policy",
        _policy_set,
        leaf,
        description="Select what detect does about high and critical anomalies: "
        "alert_only, or revoke_agent_grants (revoke the agent's active grants).",
    )
    policy_set.add_argument(
        "mode", choices=_RESPONSE_MODES, metavar="MODE", help=" or ".join(_RESPONSE_MODES)
    )
    return parser


# -- running ---------------------------------------------------------------------------


def _use_colour() -> bool:
    """ANSI colours only on a terminal, and not when NO_COLOR is set (https://no-color.org:
    set and not empty) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int | None:
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil

    return shutil.get_terminal_size().columns


def _error(message: str, secrets: Sequence[str] = ()) -> None:
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    line = " ".join(_clean(message).split()) or "unknown error"
    sys.stderr.write(f"{PROG}: {line}\n")
    sys.stderr.flush()


def _exit_status(error: BaseException) -> tuple[int, str]:
    if isinstance(error, _UsageError):
        return EXIT_USAGE, str(error)
    if isinstance(error, GrantexNetworkError):
        return EXIT_NETWORK, str(error)
    if isinstance(error, (GrantexApiError, GrantexDecodeError)):
        return EXIT_API, str(error)
    if isinstance(error, (ValueError, TypeError)):
        # Arguments the SDK refused before sending anything (a closed client is a
        # ValueError too, but cannot happen here).
        return EXIT_USAGE, str(error)
    return EXIT_API, str(error)  # any other GrantexError


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (argparse exits 2 by itself on a
    usage error, and 0 after ``--help``)."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A character the terminal's encoding cannot show is escaped rather than fatal
        # (in JSON it can only be inside a string, where `\uXXXX` is the same character).
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    api_key: str | None = getattr(args, "api_key", None)
    if not api_key and not os.environ.get("GRANTEX_API_KEY"):
        _error("no API key: pass --api-key or set GRANTEX_API_KEY")
        return EXIT_USAGE
    out = _Output(
        as_json=getattr(args, "json", False),
        colour=_use_colour(),
        max_width=_terminal_width(),
    )
    args.secrets = []
    try:
        options: dict[str, Any] = {}
        if hasattr(args, "timeout"):
            options["timeout"] = args.timeout
        if hasattr(args, "max_retries"):
            options["max_retries"] = args.max_retries
        with Grantex(
            api_key=api_key or None, base_url=getattr(args, "base_url", None), **options
        ) as client:
            handler(client, args, out)
        sys.stdout.flush()
    except (_UsageError, GrantexError, ValueError, TypeError) as error:
        status, message = _exit_status(error)
        _error(message, args.secrets)
        return status
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`grantex ... | head`): quietly stop, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # as if killed by SIGPIPE, what `head` readers expect
    return EXIT_OK
