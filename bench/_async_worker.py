"""One run of the asyncio scenario, in the interpreter of the peer under test: CALLS calls
with IN_FLIGHT of them in flight at once on ONE client and ONE event loop (IN_FLIGHT worker
coroutines taking calls from a shared counter), timed as the wall time of all CALLS, while a
ticker coroutine sleeps 1 ms in a loop and records how late it wakes (the loop's lag).

The peers (`--peer`):

- `grantex-async`: this module's `AsyncGrantex`, `await client.anomalies.list()` (each call
  runs on the extension's runtime and completes an asyncio future);
- `grantex-threads`: a sync `Grantex` (grantex==0.7.2, the documented SDK, in its own
  virtualenv) through `asyncio.to_thread(client.anomalies.list)`, the loop's default
  executor a `ThreadPoolExecutor(max_workers=IN_FLIGHT)` so that IN_FLIGHT really are in
  flight;
- `httpx-async`: `httpx.AsyncClient` + `json.loads` + the documented frozen dataclasses
  (bench/_peer_httpx.py's `AsyncClient`, IN_FLIGHT connections allowed).

SCENARIO is `list` (after one detection run: the demo seed's anomalies, as _worker.py's
`list`) or `acknowledge` (one anomaly of that detection run, again and again). Every result
of every timed round is checked after the round (the right total and anomalies, metadata a
dict, ...), so that a broken peer cannot look fast. Prints one JSON object: `per_call` (the
median seconds per call over the rounds: the wall time of a round / CALLS), `rounds` (each
round's seconds per call), `max_lag` (the worst lateness of the ticker over all timed rounds,
in seconds), `lags` (each round's), `idle_lag` (the ticker's worst lateness with no calls,
IDLE seconds before the rounds: what the machine alone causes), `total` (the anomalies per
list result).

    python _async_worker.py --peer PEER URL API_KEY SCENARIO CALLS ROUNDS [--in-flight 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

PEERS = ("grantex-async", "grantex-threads", "httpx-async")
TICK = 0.001  # the ticker's sleep, seconds
IDLE = 0.5  # seconds of the ticker alone


@dataclass(frozen=True)
class Calls:
    """One peer's three calls, each returning an awaitable of the documented result."""

    detect: Callable[[], Awaitable[Any]]
    list: Callable[[], Awaitable[Any]]
    acknowledge: Callable[[str], Awaitable[Any]]
    metadata_types: tuple[type, ...] = (dict,)


@asynccontextmanager
async def open_calls(peer: str, url: str, key: str, in_flight: int) -> AsyncIterator[Calls]:
    # Imported on demand: each peer's libraries are only in that peer's virtualenv.
    if peer == "grantex-async":
        from grantex import AsyncGrantex

        async with AsyncGrantex(api_key=key, base_url=url) as client:
            anomalies = client.anomalies
            yield Calls(anomalies.detect, anomalies.list, anomalies.acknowledge)
    elif peer == "grantex-threads":
        from concurrent.futures import ThreadPoolExecutor

        import grantex

        # The default executor has min(32, cores + 4) threads: IN_FLIGHT of them instead.
        # (asyncio.run shuts it down at the end.)
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(in_flight))
        # grantex==0.7.2 passes the JSON string the server sends as metadata through as is.
        documented_sdk = grantex.__version__ == "0.7.2"
        with grantex.Grantex(api_key=key, base_url=url) as sync_client:
            sync = sync_client.anomalies
            yield Calls(
                lambda: asyncio.to_thread(sync.detect),
                lambda: asyncio.to_thread(sync.list),
                lambda anomaly_id: asyncio.to_thread(sync.acknowledge, anomaly_id),
                (dict, str) if documented_sdk else (dict,),
            )
    elif peer == "httpx-async":
        import _peer_httpx

        httpx_client = _peer_httpx.AsyncClient(url, key, in_flight)
        try:
            yield Calls(httpx_client.detect, httpx_client.list, httpx_client.acknowledge)
        finally:
            await httpx_client.aclose()
    else:
        raise SystemExit(f"unknown peer {peer!r}")


class Ticker:
    """Sleeps TICK in a loop while running; `worst` is the latest it woke, in seconds."""

    def __init__(self) -> None:
        self.running = True
        self.worst = 0.0

    async def run(self) -> None:
        clock = time.perf_counter
        while self.running:
            deadline = clock() + TICK
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, clock() - deadline)


async def idle_lag() -> float:
    """The loop's worst lag over IDLE seconds with nothing else to do."""
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(IDLE)
    ticker.running = False
    await ticking
    return ticker.worst


async def one_round(
    call: Callable[[], Awaitable[Any]], calls: int, in_flight: int
) -> tuple[list[Any], float, float]:
    """The results of `calls` calls with `in_flight` in flight, the seconds they took, and
    the loop's worst lag meanwhile."""
    results: list[Any] = []
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            results.append(await call())

    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0)  # the ticker's first sleep under way
    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(in_flight)])
    seconds = time.perf_counter() - start
    ticker.running = False
    await ticking
    return results, seconds, ticker.worst


def check_anomaly(anomaly: Any, metadata_types: tuple[type, ...]) -> None:
    assert isinstance(anomaly.metadata, metadata_types), (anomaly.id, anomaly.metadata)
    assert isinstance(anomaly.id, str) and isinstance(anomaly.detected_at, str), anomaly
    assert isinstance(anomaly.type, str) and isinstance(anomaly.severity, str), anomaly


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with open_calls(args.peer, args.url, args.key, args.in_flight) as calls:
        detection = await calls.detect()  # the demo seed's anomalies, stored (as _worker.py)
        assert len(detection.anomalies) == detection.total > 0, detection
        for anomaly in detection.anomalies:
            check_anomaly(anomaly, calls.metadata_types)
        anomaly_id = detection.anomalies[0].id
        call: Callable[[], Awaitable[Any]]
        if args.scenario == "acknowledge":
            call = lambda: calls.acknowledge(anomaly_id)
        else:
            call = calls.list
        first = await call()
        total = getattr(first, "total", 1)

        def check(results: list[Any]) -> None:
            assert len(results) == args.calls, len(results)
            for result in results:
                if args.scenario == "acknowledge":
                    assert result.id == anomaly_id and result.acknowledged_at, result
                    check_anomaly(result, calls.metadata_types)
                else:
                    assert len(result.anomalies) == result.total == total > 0, result.total
                    for anomaly in result.anomalies:
                        check_anomaly(anomaly, calls.metadata_types)

        # One untimed round first: the connections opened, the threads started.
        check((await one_round(call, args.calls, args.in_flight))[0])
        idle = await idle_lag()
        per_call, lags = [], []
        for _ in range(args.rounds):
            results, seconds, lag = await one_round(call, args.calls, args.in_flight)
            check(results)
            per_call.append(seconds / args.calls)
            lags.append(lag)
    return {
        "per_call": statistics.median(per_call),
        "rounds": per_call,
        "max_lag": max(lags),
        "lags": lags,
        "idle_lag": idle,
        "total": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=PEERS, required=True)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("scenario", choices=["acknowledge", "list"])
    parser.add_argument("calls", type=int)
    parser.add_argument("rounds", type=int)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
