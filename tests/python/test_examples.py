"""The documentation's runnable examples (`examples/*.py`), run unchanged.

Each example is run as a subprocess (`sys.executable examples/X.py`) against a demo-mode
`GrantexTestServer`, with only `GRANTEX_BASE_URL` pointing at it (no `GRANTEX_API_KEY`: the
examples pass `api_key="gx_live_..."` themselves, which demo mode accepts as an account of
its own). The examples are also checked to be byte for byte the code blocks of the
documentation page (a copy of which is kept in `tests/fixtures/anomalies-doc-page.txt`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from grantex.testing import GrantexTestServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOC_PAGE = Path(__file__).parents[1] / "fixtures" / "anomalies-doc-page.txt"
# The code blocks of the page, in the order they appear (the order a reader follows).
IN_PAGE_ORDER = ["detect", "list", "acknowledge", "monitor_and_acknowledge"]
# The key the examples use.
EXAMPLE_KEY = "gx_live_..."

TIMESTAMP = r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
# What detect reports on a demo server: one anomaly per rule, as in the hosted example.
DEMO_ANOMALIES = [
    (
        "high",
        "rate_spike",
        "Agent seed_ag_spike performed 55 actions in the last hour (threshold: 50).",
    ),
    (
        "medium",
        "high_failure_rate",
        "Agent seed_ag_fail has 50% failure/blocked rate over the last 24 hours (5/10).",
    ),
    (
        "low",
        "new_principal",
        "Agent seed_ag_new received a grant from previously-unseen principal user_new.",
    ),
    (
        "low",
        "off_hours_activity",
        (
            "Agent seed_ag_night performed 12 actions outside business hours "
            "(22:00\u201306:00 UTC) in the last 24 hours."
        ),
    ),
]


def doc_code_blocks(page: str) -> list[str]:
    """The Python code blocks of the page (its text form): each starts at
    `from grantex import Grantex` and runs while lines are blank, indented, or the
    `with` line; a file's content is the block plus a final newline."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in page.splitlines():
        if current is None:
            if line == "from grantex import Grantex":
                current = [line]
        elif line == "" or line[:1].isspace() or line.startswith("with "):
            current.append(line)
        else:
            blocks.append(current)
            current = None
    if current is not None:
        blocks.append(current)
    result = []
    for block in blocks:
        while block and block[-1] == "":
            block.pop()
        result.append("\n".join(block) + "\n")
    return result


@pytest.fixture
def demo_server() -> Iterator[GrantexTestServer]:
    with GrantexTestServer(demo=True) as server:
        yield server


def run_example(name: str, server: GrantexTestServer) -> str:
    """Runs examples/<name>.py unchanged; returns its stdout (asserting success)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRANTEX_")}
    env["GRANTEX_BASE_URL"] = server.url
    # The output has non-ASCII text (an en dash): decode it the same way in any locale.
    env["PYTHONIOENCODING"] = "utf-8"
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{name}.py failed:\n{run.stdout}\n{run.stderr}"
    assert run.stderr == ""
    return run.stdout


def check_detect(out: str) -> None:
    lines = out.splitlines()
    assert re.fullmatch(f"Detected at: {TIMESTAMP}", lines[0]), lines[0]
    assert lines[1:] == [
        "Total anomalies: 4",
        *(f"  [{severity}] {kind}: {text}" for severity, kind, text in DEMO_ANOMALIES),
    ]


def check_monitor(out: str) -> None:
    assert out.startswith("Found 4 anomalies!\n")
    assert out.count("  -> Acknowledged\n") == 4
    headers = re.findall(r"^\[([A-Z]+)\] (\w+)$", out, flags=re.MULTILINE)
    assert headers == [(severity.upper(), kind) for severity, kind, _ in DEMO_ANOMALIES]
    for _, _, text in DEMO_ANOMALIES:
        assert f"  {text}\n" in out
    assert "  Principal: user_new\n" in out
    assert "No anomalies detected" not in out


def test_examples_are_the_doc_page_code_blocks() -> None:
    blocks = doc_code_blocks(DOC_PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == len(IN_PAGE_ORDER)
    for name, block in zip(IN_PAGE_ORDER, blocks):
        assert (EXAMPLES / f"{name}.py").read_bytes() == block.encode(), name
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(IN_PAGE_ORDER)


def test_detect(demo_server: GrantexTestServer) -> None:
    check_detect(run_example("detect", demo_server))


def test_list(demo_server: GrantexTestServer) -> None:
    # Before any detection run the demo account holds only the documentation's
    # already-acknowledged anomalies: one in total, none unacknowledged.
    assert run_example("list", demo_server) == "Total: 1\n"


def test_acknowledge(demo_server: GrantexTestServer) -> None:
    out = run_example("acknowledge", demo_server)
    assert re.fullmatch(f"Acknowledged at: {TIMESTAMP}\n", out), out
    (stored,) = demo_server.anomalies(EXAMPLE_KEY)
    assert stored.id == "anom_abc123"
    assert out == f"Acknowledged at: {stored.acknowledged_at}\n"


def test_monitor_and_acknowledge(demo_server: GrantexTestServer) -> None:
    check_monitor(run_example("monitor_and_acknowledge", demo_server))
    stored = demo_server.anomalies(EXAMPLE_KEY)
    assert len(stored) == 5
    assert all(a.acknowledged_at is not None for a in stored)


def test_in_reading_order_against_one_server(demo_server: GrantexTestServer) -> None:
    check_detect(run_example("detect", demo_server))

    out = run_example("list", demo_server)
    lines = out.splitlines()
    assert lines[0] == "Total: 5"  # the four just detected and anom_abc123
    entries = [lines[i : i + 3] for i in range(1, len(lines), 3)]
    assert len(entries) == 4
    open_ = [a for a in demo_server.anomalies(EXAMPLE_KEY) if a.acknowledged_at is None]
    assert [e[0] for e in entries] == [f"  {a.id}: [{a.severity}] {a.type}" for a in open_]
    assert {e[1].strip() for e in entries} == {text for _, _, text in DEMO_ANOMALIES}
    assert all(re.fullmatch(f"    Detected: {TIMESTAMP}", e[2]) for e in entries)

    out = run_example("acknowledge", demo_server)
    assert re.fullmatch(f"Acknowledged at: {TIMESTAMP}\n", out), out

    check_monitor(run_example("monitor_and_acknowledge", demo_server))
    # Detection replaced the four open anomalies; monitor acknowledged the new ones.
    stored = demo_server.anomalies(EXAMPLE_KEY)
    assert len(stored) == 5
    assert all(a.acknowledged_at is not None for a in stored)
    assert not {a.id for a in stored} & {a.id for a in open_}
    assert run_example("list", demo_server) == "Total: 5\n"
