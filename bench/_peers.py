"""One benchmark run of a hand-rolled peer: what a Python user could write instead of an SDK.

Each peer makes the same calls as bench/_worker.py against the same server and returns what
a user of the documented SDK gets: frozen objects with the documented fields, `metadata` a
dict (the server sends it as a JSON string in list and acknowledge responses; null becomes
`{}` and a string holding no JSON object is kept as sent, as this project's module does).
A non-2xx answer raises. Each keeps one connection alive and does nothing else the happy
path does not need (no retries, no rate-limit headers): the strongest version of each.
The results are checked, so that a broken peer cannot look fast. Prints the same JSON as
_worker.py.

    python _peers.py --peer urllib3-msgspec URL API_KEY SCENARIO CALLS ROUNDS   # _peer_msgspec.py
    python _peers.py --peer httpx-orjson URL API_KEY SCENARIO CALLS ROUNDS      # _peer_httpx.py

Each peer's libraries live in its own virtualenv (see bench.py), not in this project's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any, Protocol

WARMUP = 30  # as in _worker.py


class Client(Protocol):
    def detect(self) -> Any: ...
    def list(self) -> Any: ...
    def acknowledge(self, anomaly_id: str) -> Any: ...


def make_client(peer: str, url: str, key: str) -> Client:
    # Imported on demand: each peer's libraries are only in that peer's virtualenv.
    if peer == "urllib3-msgspec":
        import _peer_msgspec

        return _peer_msgspec.Client(url, key)
    import _peer_httpx

    return _peer_httpx.Client(url, key)


def check(anomaly: Any) -> None:
    assert isinstance(anomaly.metadata, dict), (anomaly.id, anomaly.metadata)
    assert isinstance(anomaly.id, str) and isinstance(anomaly.detected_at, str), anomaly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=["urllib3-msgspec", "httpx-orjson"], required=True)
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("scenario", choices=["acknowledge", "list", "list-1000"])
    parser.add_argument("calls", type=int)
    parser.add_argument("rounds", type=int)
    args = parser.parse_args()

    client = make_client(args.peer, args.url, args.key)
    call: Callable[[], Any]
    if args.scenario == "acknowledge":
        detection = client.detect()
        assert len(detection.anomalies) == detection.total > 0, detection
        for anomaly in detection.anomalies:
            check(anomaly)
        anomaly_id = detection.anomalies[0].id
        call = lambda: client.acknowledge(anomaly_id)
    else:
        if args.scenario == "list":
            client.detect()  # the demo seed's anomalies, stored (as _worker.py)
        call = client.list

    for _ in range(WARMUP):
        call()
    per_call = []
    result: Any = None
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.calls):
            result = call()
        per_call.append((time.perf_counter() - start) / args.calls)

    if args.scenario == "acknowledge":
        assert result.id == anomaly_id and result.acknowledged_at is not None, result
        check(result)
    else:
        assert len(result.anomalies) == result.total > 0, result.total
        for anomaly in result.anomalies:
            check(anomaly)
        assert args.scenario != "list-1000" or result.total == 1000, result.total
    print(json.dumps({"per_call": statistics.median(per_call), "rounds": per_call}))


if __name__ == "__main__":
    main()
