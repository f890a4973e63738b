#!/usr/bin/env python3
"""Benchmark: this project's `grantex` module against the documented SDK (grantex==0.7.2).

Not a test: it prints how much faster the Rust-backed module is, on the same calls
against the same local server in one run:

- per call on a small response (`acknowledge`, one anomaly; `list`, four anomalies);
- per call on a list of 1,000 anomalies (served by the local server's fault injection);
- `import grantex` (a fresh interpreter each time, several runs).

Each figure is the median of several rounds, the two implementations interleaved.

    python bench/bench.py                 # sets everything up on first use
    python bench/bench.py --ours .venv/bin/python   # an interpreter where the module is
                                                    # already installed (release build!)

What it sets up (under bench/, gitignored): `.venv-sdk` with `grantex==0.7.2` from PyPI,
`.venv-rust` with this project installed by `pip install .` (a release build); the local
server binary `target/release/grantex-server` (`cargo build --release`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_worker.py"
SDK_VERSION = "0.7.2"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(path: Path, *install: str) -> Path:
    """A virtualenv at `path` with `install` pip-installed (once)."""
    python = venv_python(path)
    marker = path / ".installed"
    if marker.exists() and marker.read_text() == repr(install):
        return python
    log(f"setting up {path.relative_to(ROOT)}: pip install {' '.join(install)}")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *install],
        check=True,
    )
    marker.write_text(repr(install))
    return python


# --- the server ------------------------------------------------------------------------
# The local Grantex server of this project, in release mode, in its own process. Swap this
# function to benchmark against another server: it must yield the base URL of a server in
# demo mode (any key accepted and seeded with anomalies) without rate limits, offering
# `POST /v1/test/faults` to serve a given 200 body N times.


@contextmanager
def start_server() -> Iterator[str]:
    binary = ROOT / "target" / "release" / "grantex-server"
    if os.environ.get("GRANTEX_BENCH_SERVER"):
        binary = Path(os.environ["GRANTEX_BENCH_SERVER"])
    elif not binary.exists():
        log("building the local server (cargo build --release --features server)")
        subprocess.run(
            ["cargo", "build", "--release", "--features", "server", "--bin", "grantex-server"],
            cwd=ROOT,
            check=True,
        )
    process = subprocess.Popen(
        [str(binary), "--demo", "--rate-limits", "off", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "http://" not in line:
            raise SystemExit(f"the server did not start: {line!r}")
        yield line[line.index("http://") :].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def inject_list_body(url: str, body: dict[str, Any], times: int) -> None:
    """The next `times` `GET /v1/anomalies` are answered 200 with `body`."""
    fault = {
        "method": "GET",
        "path": "/v1/anomalies",
        "action": "status",
        "status": 200,
        "body": body,
        "times": times,
    }
    request = urllib.request.Request(
        f"{url}/v1/test/faults",
        data=json.dumps(fault).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        response.read()


def big_list(n: int) -> dict[str, Any]:
    """A list response of `n` anomalies, shaped like the real server's (metadata a string)."""
    kinds = [
        ("rate_spike", "high", '{"count":55,"windowHours":1,"threshold":50}'),
        ("high_failure_rate", "medium", '{"badCount":5,"totalCount":10,"threshold":0.2}'),
        ("new_principal", "low", '{"windowHours":24}'),
        ("off_hours_activity", "low", '{"count":12,"windowHours":24,"threshold":10}'),
    ]
    anomalies = []
    for i in range(n):
        kind, severity, metadata = kinds[i % 4]
        anomalies.append(
            {
                "id": f"anm_{i:026d}",
                "type": kind,
                "severity": severity,
                "agentId": f"ag_{i % 37}",
                "principalId": f"user_{i}" if kind == "new_principal" else None,
                "description": f"Agent ag_{i % 37} did something unusual ({i}).",
                "metadata": metadata,
                "detectedAt": "2026-11-25T06:07:19.436Z",
                "acknowledgedAt": None if i % 3 else "2026-11-25T06:08:00.000Z",
            }
        )
    return {"anomalies": anomalies, "total": n}


# --- measurements ----------------------------------------------------------------------


def run_worker(python: Path, url: str, key: str, scenario: str, calls: int, rounds: int) -> float:
    out = subprocess.run(
        [str(python), str(WORKER), url, key, scenario, str(calls), str(rounds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["per_call"])


def import_time(python: Path, runs: int) -> float:
    """Median seconds of `import grantex` in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import grantex; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
        times.append(float(out.stdout))
    return statistics.median(times)


def check_implementations(sdk: Path, ours: Path) -> None:
    code = "import grantex, grantex._client as c; print(grantex.__version__, c.__file__)"
    for name, python in (("documented SDK", sdk), ("this module", ours)):
        out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
        log(f"{name}: grantex {out.stdout.strip()}")
    native = subprocess.run(
        [str(ours), "-c", "import grantex._native as n; print(n.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    )
    log(f"native module: {native.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=Path, help="python with this module installed")
    parser.add_argument("--sdk", type=Path, help="python with grantex==0.7.2 installed")
    parser.add_argument("--calls", type=int, default=300, help="calls per round (small)")
    parser.add_argument("--big-calls", type=int, default=40, help="calls per round (1,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--interleave", type=int, default=2, help="alternations per scenario")
    parser.add_argument("--import-runs", type=int, default=15)
    args = parser.parse_args()

    sdk = args.sdk or ensure_venv(BENCH / ".venv-sdk", f"grantex=={SDK_VERSION}")
    ours = args.ours or ensure_venv(BENCH / ".venv-rust", str(ROOT))
    check_implementations(sdk, ours)

    results: list[tuple[str, float, float]] = []
    body = big_list(1000)
    with start_server() as url:
        log(f"server: {url}")
        scenarios = [
            ("acknowledge (1 anomaly)", "acknowledge", args.calls),
            ("list (4 anomalies)", "list", args.calls),
            ("list (1,000 anomalies)", "list-1000", args.big_calls),
        ]
        for label, scenario, calls in scenarios:
            timings: dict[str, list[float]] = {"sdk": [], "ours": []}
            for round_ in range(args.interleave):
                for name, python in (("sdk", sdk), ("ours", ours)):
                    key = f"gx_bench_{name}_{scenario}_{round_}"
                    if scenario == "list-1000":
                        inject_list_body(url, body, 30 + calls * args.rounds)
                    timings[name].append(run_worker(python, url, key, scenario, calls, args.rounds))
            results.append(
                (label, statistics.median(timings["sdk"]), statistics.median(timings["ours"]))
            )
            log(f"  {label}: done")

    sdk_import = import_time(sdk, args.import_runs)
    ours_import = import_time(ours, args.import_runs)
    results.append(("import grantex", sdk_import, ours_import))

    print()
    print(f"{'':28}{'grantex==0.7.2':>16}{'this module':>16}{'speed-up':>10}")
    for label, base, new in results:
        print(f"{label:28}{base * 1e3:>13.3f} ms{new * 1e3:>13.3f} ms{base / new:>9.1f}x")
    print(
        f"\n(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')})"
    )


if __name__ == "__main__":
    main()
