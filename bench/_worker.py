"""One benchmark run, in the interpreter of the implementation under test.

The same code drives both the documented SDK (grantex==0.7.2, httpx) and this project's
module: they have the same API. Prints one JSON object: the median seconds per call.

SCENARIO is `acknowledge` (one anomaly of a detection run), `list` (after a detection run:
the demo seed's five anomalies) or `list-1000` (whatever the server was told to answer).

    python _worker.py URL API_KEY SCENARIO CALLS ROUNDS
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from grantex import Grantex

WARMUP = 30


def main() -> None:
    url, key, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    calls, rounds = int(sys.argv[4]), int(sys.argv[5])
    with Grantex(api_key=key, base_url=url) as client:
        call: Callable[[], Any]
        if scenario == "acknowledge":
            anomaly_id = client.anomalies.detect().anomalies[0].id
            call = lambda: client.anomalies.acknowledge(anomaly_id)
        elif scenario.startswith("list"):
            if scenario == "list":
                client.anomalies.detect()  # the demo seed's anomalies, stored
            call = client.anomalies.list
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")

        for _ in range(WARMUP):
            call()
        per_call = []
        result: Any = None
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                result = call()
            per_call.append((time.perf_counter() - start) / calls)
        if scenario.startswith("list"):
            assert len(result.anomalies) == result.total, result.total
    print(json.dumps({"per_call": statistics.median(per_call), "rounds": per_call}))


if __name__ == "__main__":
    main()
