"""The "urllib3 + msgspec Structs" peer (bench/_peers.py): a keep-alive `urllib3` pool and
`msgspec.json.Decoder`s decoding straight into frozen `msgspec.Struct`s.

`metadata` arrives as a JSON string in list and acknowledge responses: it is decoded as
sent, then every string of a response is decoded to its dict in one more msgspec decode
(one JSON array of all of them), and set on the frozen Struct with
`msgspec.structs.force_setattr`. Lives in the peer's own virtualenv (see bench.py).

(mypy, run without msgspec, sees `msgspec.Struct` as Any and its class keywords as
arguments of `object.__init_subclass__`: hence the ignores.)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
import urllib3

USER_AGENT = "grantex-bench-peer"


class Anomaly(msgspec.Struct, frozen=True, rename="camel"):  # type: ignore[call-arg,unused-ignore]
    id: str
    type: str
    severity: str
    agent_id: str | None
    principal_id: str | None
    description: str
    # Decoded as sent (a string holding an object), then replaced by the dict.
    metadata: Any
    detected_at: str
    acknowledged_at: str | None


class ListAnomaliesResponse(msgspec.Struct, frozen=True, rename="camel"):  # type: ignore[call-arg,unused-ignore]
    anomalies: tuple[Anomaly, ...]
    total: int


class DetectAnomaliesResponse(msgspec.Struct, frozen=True, rename="camel"):  # type: ignore[call-arg,unused-ignore]
    detected_at: str
    total: int
    anomalies: tuple[Anomaly, ...]


_list = msgspec.json.Decoder(ListAnomaliesResponse).decode
_detect = msgspec.json.Decoder(DetectAnomaliesResponse).decode
_anomaly = msgspec.json.Decoder(Anomaly).decode
_any = msgspec.json.Decoder().decode
_list_of_any = msgspec.json.Decoder(list[Any]).decode
_force_setattr = msgspec.structs.force_setattr


class ApiError(Exception):
    """A non-2xx answer."""


def _one_metadata(raw: Any) -> Any:
    """The documented SDK's metadata: a dict (`{}` for null); a string that holds no JSON
    object is kept as sent."""
    if type(raw) is str:
        try:
            value = _any(raw)
        except msgspec.DecodeError:
            return raw
        return value if type(value) is dict else raw
    return {} if raw is None else raw


def _fix_metadata(anomalies: tuple[Anomaly, ...]) -> None:
    """Each anomaly's metadata string replaced by its dict: in one decode when all are strings
    holding objects (what the server sends), else one by one."""
    raws = [a.metadata for a in anomalies]
    if all(type(raw) is str for raw in raws):
        try:
            values = _list_of_any("[" + ",".join(raws) + "]")
        except msgspec.DecodeError:
            values = []
        if len(values) == len(raws) and all(type(value) is dict for value in values):
            for anomaly, value in zip(anomalies, values):
                _force_setattr(anomaly, "metadata", value)
            return
    for anomaly, raw in zip(anomalies, raws):
        _force_setattr(anomaly, "metadata", _one_metadata(raw))


class Client:
    def __init__(self, base_url: str, api_key: str) -> None:
        headers = {
            "authorization": f"Bearer {api_key}",
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        manager = urllib3.PoolManager(headers=headers, timeout=30.0, retries=False)
        # The one host's pool, used directly: no URL parsed per request. (The manager's
        # headers apply to its own `request`, so the pool is given them too.)
        self._pool = manager.connection_from_url(base_url, pool_kwargs={"headers": headers})

    def _send(self, method: str, path: str) -> bytes:
        response = self._pool.request(method, path)
        if not 200 <= response.status < 300:
            raise ApiError(response.status, response.data)
        data: bytes = response.data
        return data

    def detect(self) -> DetectAnomaliesResponse:
        result: DetectAnomaliesResponse = _detect(self._send("POST", "/v1/anomalies/detect"))
        _fix_metadata(result.anomalies)
        return result

    def list(self) -> ListAnomaliesResponse:
        result: ListAnomaliesResponse = _list(self._send("GET", "/v1/anomalies"))
        _fix_metadata(result.anomalies)
        return result

    def acknowledge(self, anomaly_id: str) -> Anomaly:
        path = f"/v1/anomalies/{quote(anomaly_id, safe='')}/acknowledge"
        anomaly: Anomaly = _anomaly(self._send("PATCH", path))
        _force_setattr(anomaly, "metadata", _one_metadata(anomaly.metadata))
        return anomaly
