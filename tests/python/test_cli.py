"""The `grantex` command line (`python -m grantex`, the `grantex` console script), run in a
subprocess against the local server in demo mode: tables, `--json`, exit statuses, colours,
and every subcommand.

Demo mode gives each API key its own account, seeded on first use (four anomalies for
detect, the acknowledged `anom_abc123`): each test uses its own key, so one server serves
the whole module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from grantex import Anomaly
from grantex.testing import GrantexTestServer

ANSI = re.compile(r"\x1b\[")
SEEDED_TYPES = {"rate_spike", "high_failure_rate", "new_principal", "off_hours_activity"}
ANOMALY_FIELDS = {
    "id",
    "type",
    "severity",
    "agentId",
    "principalId",
    "description",
    "metadata",
    "detectedAt",
    "acknowledgedAt",
}
SECRET = "https://hooks.slack.com/services/T000/B000/s3cr3t-t0ken"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(scope="module")
def demo_server() -> Iterator[GrantexTestServer]:
    with GrantexTestServer(demo=True) as server:
        yield server


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """An API key of this test's own (seeded) demo account."""
    return "gx_test_cli_" + re.sub(r"\W", "_", request.node.name)


def _env(extra: Mapping[str, str | None] = {}) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("GRANTEX_API_KEY", "GRANTEX_BASE_URL", "NO_COLOR")
    }
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(
    *args: str,
    env: Mapping[str, str | None] = {},
    stdin: str | None = None,
    command: tuple[str, ...] = (sys.executable, "-m", "grantex"),
) -> Run:
    done = subprocess.run(
        [*command, *args],
        check=False,
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=stdin,
        env=_env(env),
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(demo_server: GrantexTestServer, key: str) -> Any:
    """`cli(args...)`: the command line against this test's account (key and URL from the
    environment, as operators set them)."""

    def call(*args: str, env: Mapping[str, str | None] = {}, stdin: str | None = None) -> Run:
        return run(
            *args,
            env={"GRANTEX_API_KEY": key, "GRANTEX_BASE_URL": demo_server.url, **env},
            stdin=stdin,
        )

    return call


def ok(result: Run) -> Run:
    assert result.code == 0, result.err
    assert result.err == ""
    return result


def _table(out: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the first table in `out` (columns are 2+ spaces apart;
    the free-text last column may hold single spaces)."""
    lines = [line for line in out.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith(("ID ", "RULE ID ")))
    header = re.split(r" {2,}", lines[start])
    rows = []
    for line in lines[start + 1 :]:
        if not line:
            break
        rows.append(re.split(r" {2,}", line, maxsplit=len(header) - 1))
    return header, rows


# -- anomalies: detect, list, acknowledge ------------------------------------------------


def test_detect_table(cli: Any) -> None:
    result = ok(cli("anomalies", "detect"))
    first = result.out.splitlines()[0]
    assert re.fullmatch(
        r"Detected 4 anomalies at \S+Z \(response mode: revoke_agent_grants, 0 grants revoked\)\.",
        first,
    ), first
    header, rows = _table(result.out)
    assert header == [
        "ID",
        "SEVERITY",
        "TYPE",
        "AGENT",
        "DETECTED",
        "ACKNOWLEDGED",
        "DESCRIPTION",
    ]
    assert len(rows) == 4
    assert {row[2] for row in rows} == SEEDED_TYPES
    by_type = {row[2]: row for row in rows}
    assert by_type["rate_spike"][1] == "high"
    assert by_type["rate_spike"][3] == "seed_ag_spike"
    assert by_type["rate_spike"][5] == "-"  # not acknowledged
    assert by_type["rate_spike"][6].startswith("Agent seed_ag_spike performed")
    assert not ANSI.search(result.out)  # stdout is a pipe: no colours


def test_list_table(cli: Any) -> None:
    ok(cli("anomalies", "detect"))
    result = ok(cli("anomalies", "list"))
    header, rows = _table(result.out)
    assert header[0] == "ID" and header[-1] == "DESCRIPTION"
    assert len(rows) == 5
    acknowledged = {row[0]: row[5] for row in rows}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\S+Z", acknowledged.pop("anom_abc123"))
    assert set(acknowledged.values()) == {"-"}
    assert result.out.rstrip().endswith("Total: 5 anomalies")

    open_only = ok(cli("anomalies", "list", "--unacknowledged"))
    _, rows = _table(open_only.out)
    assert len(rows) == 4
    assert "anom_abc123" not in open_only.out


def test_list_empty(cli: Any) -> None:
    # Before any detect run, the account holds only the acknowledged anom_abc123.
    assert ok(cli("anomalies", "list", "--unacknowledged")).out == (
        "No unacknowledged anomalies.\n"
    )
    document = ok(cli("anomalies", "list", "--unacknowledged", "--json")).json()
    assert document == {"anomalies": [], "total": 0}


def test_detect_and_list_json(cli: Any) -> None:
    detected = ok(cli("--json", "anomalies", "detect")).json()
    assert set(detected) == {
        "detectedAt",
        "total",
        "anomalies",
        "responseMode",
        "autoRevokedGrants",
    }
    assert detected["total"] == 4 == len(detected["anomalies"])
    assert detected["responseMode"] == "revoke_agent_grants"
    for anomaly in detected["anomalies"]:
        assert set(anomaly) == ANOMALY_FIELDS
    spike = next(a for a in detected["anomalies"] if a["type"] == "rate_spike")
    assert spike["agentId"] == "seed_ag_spike"
    assert spike["acknowledgedAt"] is None
    # The server's own objects keep their keys (camelCase already; not re-cased).
    assert spike["metadata"]["windowHours"] == 1

    # The global options are accepted after the command too.
    listed = ok(cli("anomalies", "list", "--json")).json()
    assert set(listed) == {"anomalies", "total"}
    assert listed["total"] == 5 == len(listed["anomalies"])
    assert {a["id"] for a in detected["anomalies"]} < {a["id"] for a in listed["anomalies"]}
    unacknowledged = ok(cli("anomalies", "list", "--unacknowledged", "--json")).json()
    assert unacknowledged["total"] == 4
    assert all(a["acknowledgedAt"] is None for a in unacknowledged["anomalies"])


def test_to_json_cases_field_names_only() -> None:
    from grantex._cli import to_json

    anomaly = Anomaly(
        id="a",
        type="t",
        severity="low",
        agent_id=None,
        principal_id="p",
        description="d",
        metadata={"snake_key": {"inner_key": [1]}},
        detected_at="2026-01-01T00:00:00Z",
        acknowledged_at=None,
    )
    assert to_json((anomaly,)) == [
        {
            "id": "a",
            "type": "t",
            "severity": "low",
            "agentId": None,
            "principalId": "p",
            "description": "d",
            "metadata": {"snake_key": {"inner_key": [1]}},
            "detectedAt": "2026-01-01T00:00:00Z",
            "acknowledgedAt": None,
        }
    ]


def test_acknowledge(cli: Any) -> None:
    result = ok(cli("anomalies", "acknowledge", "anom_abc123"))
    assert result.out.startswith("Acknowledged anomaly anom_abc123.\n")
    _, rows = _table(result.out)
    assert rows[0][0] == "anom_abc123" and rows[0][5] != "-"
    document = ok(cli("anomalies", "acknowledge", "anom_abc123", "--json")).json()
    assert set(document) == ANOMALY_FIELDS
    assert document["id"] == "anom_abc123" and document["acknowledgedAt"]


# -- exit statuses -----------------------------------------------------------------------


def test_exit_1_api_error(cli: Any) -> None:
    result = cli("anomalies", "acknowledge", "anm_missing")
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("grantex: ")
    assert "HTTP 404" in result.err and "NOT_FOUND" in result.err
    # The same with --json: errors are never on stdout.
    result = cli("anomalies", "acknowledge", "anm_missing", "--json")
    assert (result.code, result.out) == (1, "")
    # A refusal of the server (400) is an API error too.
    assert cli("anomalies", "metrics", "--window", "7d").code == 1


def test_exit_1_auth_error() -> None:
    with GrantexTestServer(api_key="gx_test_known") as strict:
        result = run(
            "anomalies",
            "list",
            env={"GRANTEX_API_KEY": "gx_test_unknown", "GRANTEX_BASE_URL": strict.url},
        )
    assert result.code == 1
    assert result.err.startswith("grantex: ") and "HTTP 401" in result.err
    assert "gx_test_unknown" not in result.err


def test_exit_2_usage(cli: Any) -> None:
    for args in (
        ("anomalies", "list", "--bogus"),
        ("anomalies", "frobnicate"),
        ("anomalies",),
        (),
        ("anomalies", "acknowledge"),  # ID missing
        ("anomalies", "alerts", "list", "--limit", "many"),
        ("anomalies", "policy", "set", "sometimes"),
        ("anomalies", "rules", "create", "--name", "no rule id"),
    ):
        result = cli(*args)
        assert result.code == 2, args
        assert result.out == ""
        assert "usage: grantex" in result.err
    # Arguments the SDK refuses before sending anything (ValueError): exit 2, one line.
    for refused in (
        ("anomalies", "rules", "disable", "AD-001"),
        ("anomalies", "list", "--timeout", "-1"),
        ("anomalies", "list", "--base-url", "not a url"),
        ("anomalies", "rules", "create", "--rule-id", "r", "--name", "n", "--condition", "[1]"),
    ):
        result = cli(*refused)
        assert result.code == 2, refused
        assert result.err.startswith("grantex: ") and result.err.count("\n") == 1, result.err


def test_exit_2_no_api_key(demo_server: GrantexTestServer) -> None:
    for env in ({}, {"GRANTEX_API_KEY": ""}):
        result = run("anomalies", "list", env={"GRANTEX_BASE_URL": demo_server.url, **env})
        assert result.code == 2
        assert result.out == ""
        assert result.err == "grantex: no API key: pass --api-key or set GRANTEX_API_KEY\n"
    # --api-key on the command line is enough.
    result = run(
        "--api-key", "gx_test_flag", "--base-url", demo_server.url, "anomalies", "list", "--json"
    )
    assert ok(result).json()["total"] == 1  # the seeded anom_abc123


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed: nothing listens there


def test_exit_3_network_error() -> None:
    url = _dead_url()
    env = {"GRANTEX_API_KEY": "gx_test_any"}
    result = run("--base-url", url, "--max-retries", "0", "anomalies", "detect", env=env)
    assert result.code == 3
    assert result.out == ""
    assert result.err.startswith("grantex: ") and result.err.count("\n") == 1
    assert "gx_test_any" not in result.err
    # GRANTEX_BASE_URL is used like --base-url.
    result = run("anomalies", "list", "--max-retries", "0", env={**env, "GRANTEX_BASE_URL": url})
    assert result.code == 3


def test_exit_statuses_of_faults() -> None:
    with GrantexTestServer() as server:
        env = {"GRANTEX_API_KEY": server.api_key, "GRANTEX_BASE_URL": server.url}
        # No answer within --timeout: a network error.
        server.delay_next(5)
        timed_out = run("anomalies", "list", "--timeout", "0.3", "--max-retries", "0", env=env)
        assert timed_out.code == 3 and timed_out.err.startswith("grantex: ")
        # A 2xx answer that cannot be decoded: an API error.
        server.malformed_next()
        malformed = run("anomalies", "list", env=env)
        assert malformed.code == 1 and malformed.err.count("\n") == 1
        # A server error (no retries left); its message is printed on one line, with
        # control characters escaped rather than sent to the terminal.
        server.fail_next(500, body={"message": "bad\nthing \x1b[31mred", "code": "BOOM"})
        failed = run("anomalies", "list", "--max-retries", "0", env=env)
        assert failed.code == 1
        assert failed.err.startswith("grantex: bad thing \\x1b[31mred (HTTP 500, BOOM")
        assert failed.err.count("\n") == 1 and "\x1b" not in failed.err


# -- colours -----------------------------------------------------------------------------


def _run_on_tty(args: list[str], env: Mapping[str, str | None]) -> str:
    """The command's output with its stdout on a pseudo-terminal."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "grantex", *args],
            stdout=slave,
            stderr=subprocess.PIPE,
            env=_env({"TERM": "xterm", "COLUMNS": "400", **env}),
        )
    finally:
        os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert child.wait(timeout=60) == 0
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colours_only_on_a_terminal_without_no_color(
    demo_server: GrantexTestServer, key: str
) -> None:
    env = {"GRANTEX_API_KEY": key, "GRANTEX_BASE_URL": demo_server.url}
    coloured = _run_on_tty(["anomalies", "detect"], env)
    assert "\x1b[31mhigh" in coloured and "\x1b[33mmedium" in coloured
    assert "\x1b[0m" in coloured
    assert not ANSI.search(_run_on_tty(["anomalies", "list"], {**env, "NO_COLOR": "1"}))
    assert not ANSI.search(_run_on_tty(["anomalies", "list"], {**env, "TERM": "dumb"}))
    # Not a terminal: never, whatever the environment says.
    piped = run("anomalies", "list", env={**env, "TERM": "xterm"})
    assert ok(piped).out and not ANSI.search(piped.out)
    # --json is never coloured, even on a terminal.
    document = _run_on_tty(["anomalies", "list", "--json"], env)
    assert not ANSI.search(document)
    assert json.loads(document)["total"] == 5


# -- alerts, metrics ---------------------------------------------------------------------


def test_alerts(cli: Any) -> None:
    ok(cli("anomalies", "detect"))
    listed = ok(cli("anomalies", "alerts", "list"))
    header, rows = _table(listed.out)
    assert header == ["ID", "SEVERITY", "STATUS", "RULE", "AGENT", "DETECTED", "DESCRIPTION"]
    assert len(rows) == 5
    assert {row[2] for row in rows} == {"open"}

    data = ok(cli("anomalies", "alerts", "list", "--severity", "low", "--json")).json()
    assert set(data) == {"data"}
    assert len(data["data"]) == 2 and {a["severity"] for a in data["data"]} == {"low"}
    assert {"alertId", "ruleId", "ruleName", "detectedAt", "resolvedAt"} <= set(data["data"][0])
    limited = ok(cli("anomalies", "alerts", "list", "--limit", "1", "--json")).json()
    assert len(limited["data"]) == 1
    agent = ok(cli("anomalies", "alerts", "list", "--agent-id", "seed_ag_fail", "--status", "open"))
    _, rows = _table(agent.out)
    assert [row[4] for row in rows] == ["seed_ag_fail"]
    alert_id = rows[0][0]

    shown = ok(cli("anomalies", "alerts", "get", alert_id))
    assert re.search(rf"^ID +{alert_id}$", shown.out, re.MULTILINE)
    assert re.search(r"^Status +open$", shown.out, re.MULTILINE)

    acked = ok(cli("anomalies", "alerts", "acknowledge", alert_id, "--note", "looking"))
    assert re.search(r"^Status +acknowledged$", acked.out, re.MULTILINE)
    resolved = ok(cli("anomalies", "alerts", "resolve", alert_id, "--note", "done", "--json"))
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolvedAt"]
    assert ok(cli("anomalies", "alerts", "get", alert_id, "--json")).json()["alertId"] == alert_id
    missing = cli("anomalies", "alerts", "get", "anm_missing")
    assert missing.code == 1 and "HTTP 404" in missing.err


def test_metrics(cli: Any) -> None:
    ok(cli("anomalies", "detect"))
    shown = ok(cli("anomalies", "metrics"))
    assert re.search(r"^Window +24h$", shown.out, re.MULTILINE)
    assert re.search(r"^Total +4$", shown.out, re.MULTILINE)
    assert re.search(r"^open +4$", shown.out, re.MULTILINE)
    assert re.search(r"^low +2$", shown.out, re.MULTILINE)
    metrics = ok(cli("anomalies", "metrics", "--window", "1h", "--json")).json()
    assert set(metrics) == {"window", "total", "byStatus", "bySeverity"}
    assert metrics["window"] == "1h"
    assert set(metrics["bySeverity"]) == {"critical", "high", "medium", "low"}
    agent = ok(cli("anomalies", "metrics", "--agent-id", "seed_ag_new", "--json")).json()
    assert agent["total"] == 1


# -- rules, channels, policy -------------------------------------------------------------


def test_rules(cli: Any) -> None:
    listed = ok(cli("anomalies", "rules", "list"))
    header, rows = _table(listed.out)
    assert header == [
        "RULE ID",
        "NAME",
        "SEVERITY",
        "ENABLED",
        "BUILT-IN",
        "CHANNELS",
        "DESCRIPTION",
    ]
    assert [row[0] for row in rows[:10]] == [f"AD-{n:03}" for n in range(1, 11)]
    assert {row[4] for row in rows[:10]} == {"yes"}

    created = ok(
        cli(
            "anomalies",
            "rules",
            "create",
            "--rule-id",
            "cli_rule",
            "--name",
            "CLI rule",
            "--description",
            "made by the CLI test",
            "--severity",
            "high",
            "--condition",
            '{"metric": "grant_rate", "gt": 5}',
            "--channel",
            "ops",
            "--channel",
            "pager",
            "--json",
        )
    ).json()
    assert created["ruleId"] == "cli_rule" and created["builtIn"] is False
    assert created["condition"] == {"metric": "grant_rate", "gt": 5}
    assert created["alertChannels"] == ["ops", "pager"]
    assert created["id"].startswith("arule_")

    disabled = ok(cli("anomalies", "rules", "disable", "cli_rule"))
    assert disabled.out.startswith("Disabled rule cli_rule.")
    _, rows = _table(disabled.out)
    assert rows[0][3] == "no" and rows[0][5] == "ops, pager"
    assert ok(cli("anomalies", "rules", "enable", "cli_rule", "--json")).json()["enabled"] is True
    rules = ok(cli("anomalies", "rules", "list", "--json")).json()
    assert set(rules) == {"rules"}
    assert "cli_rule" in {rule["ruleId"] for rule in rules["rules"]}

    assert ok(cli("anomalies", "rules", "delete", "cli_rule")).out == "Deleted rule cli_rule.\n"
    assert cli("anomalies", "rules", "delete", "cli_rule").code == 1  # 404 now
    assert "cli_rule" not in ok(cli("anomalies", "rules", "list")).out


def test_rule_condition_from_file_and_stdin(cli: Any, tmp_path: Path) -> None:
    condition = tmp_path / "condition.json"
    condition.write_text('{"from": "file"}')
    args = ("anomalies", "rules", "create", "--name", "n", "--json")
    from_file = ok(cli(*args, "--rule-id", "r_file", "--condition", f"@{condition}")).json()
    assert from_file["condition"] == {"from": "file"}
    from_stdin = ok(
        cli(*args, "--rule-id", "r_stdin", "--condition", "-", stdin='{"from": "stdin"}')
    ).json()
    assert from_stdin["condition"] == {"from": "stdin"}
    missing = cli(*args, "--rule-id", "r_none", "--condition", f"@{tmp_path / 'none.json'}")
    assert missing.code == 2 and "cannot read" in missing.err


def test_channels_config_stays_out_of_tables(cli: Any) -> None:
    config = json.dumps({"webhookUrl": SECRET, "token": "tok-0123456789"})
    created = ok(
        cli(
            "anomalies",
            "channels",
            "create",
            "--type",
            "slack",
            "--name",
            "ops",
            "--config",
            config,
            "--severity",
            "critical",
            "--severity",
            "high",
        )
    )
    assert SECRET not in created.out and "tok-0123456789" not in created.out
    header, rows = _table(created.out)
    assert header == ["ID", "TYPE", "NAME", "SEVERITIES", "ENABLED", "CREATED", "CONFIG KEYS"]
    assert rows[0][1:4] == ["slack", "ops", "critical, high"]
    assert rows[0][6] == "token, webhookUrl"
    channel_id = rows[0][0]

    listed = ok(cli("anomalies", "channels", "list"))
    assert SECRET not in listed.out and "tok-0123456789" not in listed.out
    assert "webhookUrl" in listed.out

    # --json prints what the API returned, config included.
    channels = ok(cli("anomalies", "channels", "list", "--json")).json()
    assert set(channels) == {"channels"}
    (channel,) = channels["channels"]
    assert channel["id"] == channel_id
    assert channel["config"] == {"webhookUrl": SECRET, "token": "tok-0123456789"}
    assert {"severities", "enabled", "createdAt"} <= set(channel)

    deleted = ok(cli("anomalies", "channels", "delete", channel_id, "--json")).json()
    assert deleted == {"id": channel_id, "deleted": True}
    assert ok(cli("anomalies", "channels", "list")).out == "No channels.\n"
    gone = cli("anomalies", "channels", "delete", channel_id)
    assert gone.code == 1 and "HTTP 404" in gone.err


def test_channels_config_stays_out_of_errors(cli: Any) -> None:
    base = ("anomalies", "channels", "create", "--name", "x")
    refused = cli(*base, "--type", "carrier", "--config", json.dumps({"url": SECRET}))
    assert refused.code == 1 and SECRET not in refused.err
    not_json = cli(*base, "--type", "slack", "--config", '{"url": "' + SECRET + '",}')
    assert not_json.code == 2 and SECRET not in not_json.err
    assert "--config is not valid JSON" in not_json.err
    not_object = cli(*base, "--type", "slack", "--config", json.dumps([SECRET]))
    assert not_object.code == 2 and SECRET not in not_object.err
    from_stdin = cli(*base, "--type", "slack", "--config", "-", stdin=json.dumps({"url": SECRET}))
    assert ok(from_stdin).out and SECRET not in from_stdin.out


def test_policy(cli: Any) -> None:
    assert ok(cli("anomalies", "policy", "get")).out == "Response policy: revoke_agent_grants\n"
    assert ok(cli("anomalies", "policy", "set", "alert_only")).out == (
        "Response policy set to alert_only.\n"
    )
    assert ok(cli("--json", "anomalies", "policy", "get")).json() == {"mode": "alert_only"}
    assert ok(cli("anomalies", "detect", "--json")).json()["responseMode"] == "alert_only"
    assert ok(cli("anomalies", "policy", "set", "revoke_agent_grants", "--json")).json() == {
        "mode": "revoke_agent_grants"
    }


# -- help, packaging ---------------------------------------------------------------------

COMMANDS = [
    (),
    ("anomalies",),
    ("anomalies", "detect"),
    ("anomalies", "list"),
    ("anomalies", "acknowledge"),
    ("anomalies", "alerts"),
    ("anomalies", "alerts", "list"),
    ("anomalies", "alerts", "get"),
    ("anomalies", "alerts", "acknowledge"),
    ("anomalies", "alerts", "resolve"),
    ("anomalies", "metrics"),
    ("anomalies", "rules"),
    ("anomalies", "rules", "list"),
    ("anomalies", "rules", "create"),
    ("anomalies", "rules", "enable"),
    ("anomalies", "rules", "disable"),
    ("anomalies", "rules", "delete"),
    ("anomalies", "channels"),
    ("anomalies", "channels", "list"),
    ("anomalies", "channels", "create"),
    ("anomalies", "channels", "delete"),
    ("anomalies", "policy"),
    ("anomalies", "policy", "get"),
    ("anomalies", "policy", "set"),
]


def test_help_on_every_level() -> None:
    for command in COMMANDS:
        result = run(*command, "--help")
        assert result.code == 0, command
        assert result.out.startswith(f"usage: {' '.join(('grantex', *command))} "), result.out
        assert result.err == ""
        if command and command[-1] not in ("anomalies", "alerts", "rules", "channels", "policy"):
            assert "--json" in result.out and "--api-key" in result.out  # global options
    assert "Exit status" in run("--help").out
    version = ok(run("--version"))
    assert re.fullmatch(r"grantex \S+\n", version.out)


def test_import_grantex_does_not_load_the_cli() -> None:
    code = "import sys, grantex; print(sorted(m for m in ('grantex._cli', 'argparse') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_console_script(demo_server: GrantexTestServer, key: str) -> None:
    script = shutil.which("grantex", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the grantex console script is not installed (run `maturin develop`)")
    env = {"GRANTEX_API_KEY": key, "GRANTEX_BASE_URL": demo_server.url}
    detected = ok(run("anomalies", "detect", "--json", env=env, command=(script,))).json()
    assert detected["total"] == 4
    assert run("anomalies", "--bogus", env=env, command=(script,)).code == 2
    missing = run("anomalies", "acknowledge", "anm_missing", env=env, command=(script,))
    assert missing.code == 1
