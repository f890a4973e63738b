#!/usr/bin/env python3
"""Benchmark: this project's `grantex` module against the documented SDK (grantex==0.7.2),
the strongest hand-rolled peers a Python user could write, and the Rust crate itself.

Not a test (neither scripts/test nor CI runs it): it prints, from one run, how each peer
compares with this module on the same calls against the same local server:

- per call on a small response (`acknowledge`, one anomaly; `list` after a detection run,
  the demo seed's five anomalies);
- per call on a list of 1,000 anomalies (served by the local server's fault injection);
- `import grantex` (a fresh interpreter each time, several runs; grantex==0.7.2 and this
  module only);
- asyncio: 1,000 small calls (`list` of the five anomalies, `acknowledge`) with 50 in
  flight on ONE client and ONE event loop, the wall time of the 1,000 calls, and the loop's
  worst lag meanwhile (a ticker coroutine sleeping 1 ms in a loop: how late it wakes).

The peers, each returning what a user of the documented SDK gets (frozen objects with the
documented fields, `metadata` a dict), each in its own process:

- `grantex==0.7.2`, the documented SDK (httpx), and this module: bench/_worker.py;
- "urllib3 + msgspec Structs" and "httpx + orjson dataclasses": bench/_peers.py;
- the Rust crate: examples/bench_list.rs (`cargo build --release --example bench_list`).

and in asyncio (bench/_async_worker.py, one run per peer and scenario, each in its process):

- this module's `AsyncGrantex` (`await client.anomalies.list()`);
- grantex==0.7.2 (sync) through `asyncio.to_thread(client.anomalies.list)`, the loop's
  default executor a `ThreadPoolExecutor(max_workers=50)`;
- "httpx.AsyncClient + json dataclasses": `httpx.AsyncClient` (50 connections allowed),
  `json.loads` and the frozen dataclasses of the sync httpx peer (bench/_peer_httpx.py).

Each figure is the median of several rounds, all peers interleaved; the table shows the
median over the interleaved runs, and each peer's time divided by this module's. Then one
PASS/MISS line per target.

    python bench/bench.py                 # sets everything up on first use
    python bench/bench.py --quick         # a smoke run: fewer calls and rounds (asyncio:
                                          # the same 1,000 calls, fewer rounds)
    python bench/bench.py --ours .venv/bin/python   # an interpreter where the module is
                                                    # already installed (release build!)

What it sets up (under bench/, gitignored): `.venv-sdk` with `grantex==0.7.2` from PyPI,
`.venv-rust` with this project installed by `pip install .` (a release build; once, unless
`--rebuild`), `.venv-urllib3-msgspec` and `.venv-httpx-orjson` with the peers' libraries;
the local server binary `target/release/grantex-server` (`cargo build --release -p
grantex-server`, when missing) and `target/release/examples/bench_list` (`cargo build
--release --example bench_list`, each run: a no-op when up to date).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_worker.py"
PEERS = BENCH / "_peers.py"
ASYNC_WORKER = BENCH / "_async_worker.py"
SDK_VERSION = "0.7.2"
# The hand-rolled peers' libraries, pinned so that runs compare.
URLLIB3_MSGSPEC = ("urllib3==2.8.0", "msgspec==0.22.0")
# sniffio: httpcore imports it several times per request of httpx.AsyncClient (and
# each failed import searches sys.path again); httpx no longer pulls it in (anyio 4 dropped
# it), so it is installed for the strongest asyncio peer. The sync peer never imports it.
HTTPX_ORJSON = ("httpx==0.28.1", "orjson==3.13.0", "sniffio==1.3.1")

SDK = "grantex==0.7.2"
OURS = "this module"
MSGSPEC = "urllib3 + msgspec Structs"
HTTPX = "httpx + orjson dataclasses"
RUST = "Rust crate (bench_list)"
# The asyncio peers (this module's is OURS, its AsyncGrantex).
SDK_THREADS = "grantex==0.7.2 + to_thread"
HTTPX_ASYNC = "httpx.AsyncClient + json"
LAG_BOUND = 0.005  # seconds: the worst loop lag this module may cause


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(path: Path, *install: str, force: bool = False) -> Path:
    """A virtualenv at `path` with `install` pip-installed (once, unless `force`)."""
    python = venv_python(path)
    marker = path / ".installed"
    if not force and marker.exists() and marker.read_text() == repr(install):
        return python
    log(f"setting up {path.relative_to(ROOT)}: pip install {' '.join(install)}")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    marker.unlink(missing_ok=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + (["--force-reinstall", "--no-deps"] if force else [])
        + list(install),
        check=True,
    )
    marker.write_text(repr(install))
    return python


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


# --- the server ------------------------------------------------------------------------
# The local Grantex server of this project (crates/grantex-server), in release mode, in its
# own process. Swap this function to benchmark against another server: it must yield the
# base URL of a server in demo mode (any key accepted and seeded with anomalies) without
# rate limits, offering `POST /v1/test/faults` to serve a given 200 body N times.


@contextmanager
def start_server() -> Iterator[str]:
    binary = target_dir() / "release" / "grantex-server"
    if os.environ.get("GRANTEX_BENCH_SERVER"):
        binary = Path(os.environ["GRANTEX_BENCH_SERVER"])
    elif not binary.exists():
        log("building the local server (cargo build --release -p grantex-server)")
        subprocess.run(
            ["cargo", "build", "--release", "-p", "grantex-server"], cwd=ROOT, check=True
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


def build_rust_peer() -> Path:
    """The Rust crate's benchmark example, built in release mode (a no-op when up to date)."""
    log("building the Rust peer (cargo build --release --example bench_list)")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "bench_list"], cwd=ROOT, check=True
    )
    return target_dir() / "release" / "examples" / "bench_list"


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


@dataclass(frozen=True)
class Peer:
    name: str
    command: tuple[str, ...]
    """What runs one measurement, followed by URL API_KEY SCENARIO CALLS ROUNDS."""
    python: Path | None = None
    """The interpreter, for the peers whose `import grantex` is timed."""


def run_worker(
    peer: Peer, url: str, key: str, scenario: str, calls: int, rounds: int
) -> dict[str, Any]:
    """The JSON object a worker prints (`per_call` and `rounds` in seconds, ...)."""
    result = subprocess.run(
        [*peer.command, url, key, scenario, str(calls), str(rounds)],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{peer.name} failed on {scenario}:\n{result.stderr}")
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def run_peer(peer: Peer, url: str, key: str, scenario: str, calls: int, rounds: int) -> float:
    return float(run_worker(peer, url, key, scenario, calls, rounds)["per_call"])


def import_time(python: Path, runs: int) -> float:
    """Median seconds of `import grantex` in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import grantex; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
        times.append(float(out.stdout))
    return statistics.median(times)


def describe(python: Path, code: str) -> str:
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def check_implementations(sdk: Path, ours: Path, msgspec: Path, httpx: Path, rust: Path) -> None:
    code = "import grantex, grantex._client as c; print(grantex.__version__, c.__file__)"
    log(f"{SDK}: grantex {describe(sdk, code)}")
    log(f"{OURS}: grantex {describe(ours, code)}")
    log(f"  native module: {describe(ours, 'import grantex._native as n; print(n.__file__)')}")
    versions = "import importlib.metadata as m; print(*(n + '==' + m.version(n) for n in {}))"
    log(f"{MSGSPEC}: {describe(msgspec, versions.format(('urllib3', 'msgspec')))}")
    log(f"{HTTPX}: {describe(httpx, versions.format(('httpx', 'orjson', 'sniffio')))}")
    log(f"{RUST}: {rust}")


def ratio_check(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=Path, help="python with this module installed")
    parser.add_argument("--sdk", type=Path, help="python with grantex==0.7.2 installed")
    parser.add_argument("--rebuild", action="store_true", help="reinstall this module first")
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer rounds")
    parser.add_argument("--calls", type=int, help="calls per round (small; 300, quick 50)")
    parser.add_argument("--big-calls", type=int, help="calls per round (1,000; 40, quick 8)")
    parser.add_argument("--rounds", type=int, help="rounds per run (5, quick 3)")
    parser.add_argument("--interleave", type=int, help="runs per peer and scenario (2, quick 1)")
    parser.add_argument("--import-runs", type=int, help="fresh interpreters (15, quick 5)")
    parser.add_argument("--async-calls", type=int, default=1000, help="asyncio: calls per round")
    parser.add_argument("--in-flight", type=int, default=50, help="asyncio: calls in flight")
    args = parser.parse_args()
    quick = args.quick
    calls = args.calls or (50 if quick else 300)
    big_calls = args.big_calls or (8 if quick else 40)
    rounds = args.rounds or (3 if quick else 5)
    interleave = args.interleave or (1 if quick else 2)
    import_runs = args.import_runs or (5 if quick else 15)

    sdk = args.sdk or ensure_venv(BENCH / ".venv-sdk", f"grantex=={SDK_VERSION}")
    ours = args.ours or ensure_venv(BENCH / ".venv-rust", str(ROOT), force=args.rebuild)
    msgspec = ensure_venv(BENCH / ".venv-urllib3-msgspec", *URLLIB3_MSGSPEC)
    httpx = ensure_venv(BENCH / ".venv-httpx-orjson", *HTTPX_ORJSON)
    rust = build_rust_peer()
    check_implementations(sdk, ours, msgspec, httpx, rust)
    peers = [
        Peer(SDK, (str(sdk), str(WORKER)), sdk),
        Peer(OURS, (str(ours), str(WORKER)), ours),
        Peer(MSGSPEC, (str(msgspec), str(PEERS), "--peer", "urllib3-msgspec")),
        Peer(HTTPX, (str(httpx), str(PEERS), "--peer", "httpx-orjson")),
        Peer(RUST, (str(rust),)),
    ]
    in_flight = ("--in-flight", str(args.in_flight))
    async_peers = [
        Peer(SDK_THREADS, (str(sdk), str(ASYNC_WORKER), "--peer", "grantex-threads", *in_flight)),
        Peer(OURS, (str(ours), str(ASYNC_WORKER), "--peer", "grantex-async", *in_flight)),
        Peer(HTTPX_ASYNC, (str(httpx), str(ASYNC_WORKER), "--peer", "httpx-async", *in_flight)),
    ]
    async_calls = args.async_calls
    # asyncio label -> peer name -> (median seconds per call, worst loop lag in seconds,
    # median over the rounds of each round's worst lag)
    async_results: dict[str, dict[str, tuple[float, float, float]]] = {}
    idle_lags: list[float] = []  # each asyncio run's loop lag with no calls

    # scenario label -> peer name -> median seconds per call
    results: dict[str, dict[str, float]] = {}
    runs: dict[str, str] = {}
    body = big_list(1000)
    with start_server() as url:
        log(f"server: {url}")
        scenarios = [
            ("acknowledge (1 anomaly)", "acknowledge", calls),
            ("list (5 anomalies)", "list", calls),
            ("list (1,000 anomalies)", "list-1000", big_calls),
        ]
        for label, scenario, n in scenarios:
            timings: dict[str, list[float]] = {peer.name: [] for peer in peers}
            for round_ in range(interleave):
                # Every other alternation in reverse order: no peer always goes first.
                for index, peer in enumerate(peers if round_ % 2 == 0 else peers[::-1]):
                    key = f"gx_bench_{index}_{scenario}_{round_}"
                    if scenario == "list-1000":
                        inject_list_body(url, body, 30 + n * rounds)
                    timings[peer.name].append(run_peer(peer, url, key, scenario, n, rounds))
            results[label] = {name: statistics.median(t) for name, t in timings.items()}
            runs[label] = f"{n} calls x {rounds} rounds, median of {interleave} run(s) each"
            log(f"  {label}: done")

        async_scenarios = [
            ("list", "list"),  # labelled with the anomalies in each list
            ("acknowledge (1 anomaly)", "acknowledge"),
        ]
        for label, scenario in async_scenarios:
            outs: dict[str, list[dict[str, Any]]] = {peer.name: [] for peer in async_peers}
            for round_ in range(interleave):
                for index, peer in enumerate(async_peers if round_ % 2 == 0 else async_peers[::-1]):
                    # Accounts of their own: a detection run adds to an account's list.
                    key = f"gx_bench_async_{index}_{scenario}_{round_}"
                    out = run_worker(peer, url, key, scenario, async_calls, rounds)
                    outs[peer.name].append(out)
            totals = {out["total"] for runs_ in outs.values() for out in runs_}
            if len(totals) != 1:
                raise SystemExit(f"async {label}: the peers saw different totals: {outs}")
            if scenario == "list":
                label = f"list ({totals.pop()} anomalies)"
            async_results[label] = {
                name: (
                    statistics.median(out["per_call"] for out in runs_),
                    max(out["max_lag"] for out in runs_),
                    statistics.median(lag for out in runs_ for lag in out["lags"]),
                )
                for name, runs_ in outs.items()
            }
            idle_lags.extend(out["idle_lag"] for runs_ in outs.values() for out in runs_)
            log(f"  asyncio {label}: done")

    results["import grantex"] = {
        peer.name: import_time(peer.python, import_runs) for peer in peers if peer.python
    }
    runs["import grantex"] = f"median of {import_runs} fresh interpreters each"

    print()
    print(f"{'':30}{'median':>12}{'peer / this module':>22}")
    for label, times in results.items():
        print(f"{label} ({runs[label]})")
        for name, seconds in times.items():
            ratio = seconds / times[OURS]
            print(f"  {name:28}{seconds * 1e3:>9.3f} ms{ratio:>19.2f}x")
    print(
        f"\nasyncio: {async_calls:,} calls, {args.in_flight} in flight on one client and one "
        f"event loop, x {rounds} rounds,\nmedian of {interleave} run(s) each; worst loop lag: "
        "how late a 1 ms sleep wakes (worst of all rounds;\nin brackets the median round's worst)"
    )
    print(
        f"{'':30}{f'per {async_calls:,} calls':>14}{'peer / this module':>21}{'worst loop lag':>24}"
    )
    for label, peer_results in async_results.items():
        print(f"{label}, {async_calls:,} calls, {args.in_flight} in flight")
        ours_per_call = peer_results[OURS][0]
        for name, (per_call, lag, median_lag) in peer_results.items():
            ratio = per_call / ours_per_call
            wall = f"{per_call * async_calls * 1e3:.1f} ms"
            lags = f"{lag * 1e3:.2f} ms ({median_lag * 1e3:.2f} ms)"
            print(f"  {name:28}{wall:>14}{ratio:>20.2f}x{lags:>25}")
    print(
        f"(the same ticker with no calls, 0.5 s in each run's process: worst "
        f"{max(idle_lags) * 1e3:.2f} ms, median {statistics.median(idle_lags) * 1e3:.2f} ms)"
    )

    print("\n(grantex==0.7.2 / this module is how many times faster this module is; a peer")
    print(" below 1.00x is faster than this module)")

    def speedup(label: str, peer: str = SDK) -> float:
        return results[label][peer] / results[label][OURS]

    big = "list (1,000 anomalies)"
    targets = [
        (f"{big}: grantex==0.7.2 / this module >= 5x", speedup(big), 5.0),
        (f"{big}: {MSGSPEC} / this module > 1x", speedup(big, MSGSPEC), 1.0),
        (
            "list (5 anomalies): grantex==0.7.2 / this module >= 4x",
            speedup("list (5 anomalies)"),
            4.0,
        ),
        (
            "acknowledge (1 anomaly): grantex==0.7.2 / this module >= 4x",
            speedup("acknowledge (1 anomaly)"),
            4.0,
        ),
        ("import grantex: grantex==0.7.2 / this module >= 10x", speedup("import grantex"), 10.0),
    ]
    print("\ntargets:")
    for text, value, bound in targets:
        ok = value > bound if bound == 1.0 else value >= bound
        print(f"  {ratio_check(ok)}  {text}: {value:.2f}x")
    from_rust = 1 / speedup(big, RUST)
    print(
        f"  {ratio_check(from_rust <= 1.25)}  {big} from Python within 1.25x of the same list "
        f"from Rust: this module / {RUST} = {from_rust:.2f}x"
    )
    for label, peer_results in async_results.items():
        ours_per_call, ours_lag, _ = peer_results[OURS]
        for peer_name, bound in ((SDK_THREADS, 5.0), (HTTPX_ASYNC, 2.0)):
            value = peer_results[peer_name][0] / ours_per_call
            print(
                f"  {ratio_check(value >= bound)}  asyncio {label}, {args.in_flight} in flight: "
                f"{peer_name} / this module >= {bound:.0f}x: {value:.2f}x"
            )
        print(
            f"  {ratio_check(ours_lag < LAG_BOUND)}  asyncio {label}: this module's worst loop "
            f"lag < {LAG_BOUND * 1e3:.0f} ms: {ours_lag * 1e3:.2f} ms"
        )
    print(
        f"\nAll numbers from this one run: python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}."
    )


if __name__ == "__main__":
    main()
