"""The "httpx + orjson dataclasses" peer (bench/_peers.py): a keep-alive `httpx.Client`,
`orjson.loads`, and the documented frozen dataclasses (the fields of
python/grantex/_models.py), `metadata` decoded to a dict with `orjson.loads`. Lives in the
peer's own virtualenv (see bench.py).

`AsyncClient` is the asyncio peer of bench/_async_worker.py ("httpx.AsyncClient + json
dataclasses"): one `httpx.AsyncClient` allowing `connections` connections, the body decoded
with the standard library's `json.loads`, and the same dataclasses built by the same code
(`_anomaly`, metadata strings through `orjson.loads`): the same objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

USER_AGENT = "grantex-bench-peer"


@dataclass(frozen=True)
class Anomaly:
    id: str
    type: str
    severity: str
    agent_id: str | None
    principal_id: str | None
    description: str
    metadata: dict[str, Any]
    detected_at: str
    acknowledged_at: str | None


@dataclass(frozen=True)
class DetectAnomaliesResponse:
    detected_at: str
    total: int
    anomalies: tuple[Anomaly, ...]


@dataclass(frozen=True)
class ListAnomaliesResponse:
    anomalies: tuple[Anomaly, ...]
    total: int


class ApiError(Exception):
    """A non-2xx answer."""


_loads = orjson.loads
_new = object.__new__


def _metadata(raw: Any) -> Any:
    """The documented SDK's metadata: a dict (`{}` for null); a string that holds no JSON
    object is kept as sent."""
    if type(raw) is str:
        try:
            value = _loads(raw)
        except orjson.JSONDecodeError:
            return raw
        return value if type(value) is dict else raw
    return {} if raw is None else raw


def _anomaly(d: dict[str, Any]) -> Anomaly:
    # A frozen dataclass's __init__ sets each field through object.__setattr__; filling the
    # instance dict directly builds the same instance (==, repr, asdict, pickle), faster.
    a: Anomaly = _new(Anomaly)
    a.__dict__.update(
        id=d["id"],
        type=d["type"],
        severity=d["severity"],
        agent_id=d.get("agentId"),
        principal_id=d.get("principalId"),
        description=d["description"],
        metadata=_metadata(d.get("metadata")),
        detected_at=d["detectedAt"],
        acknowledged_at=d.get("acknowledgedAt"),
    )
    return a


class Client:
    def __init__(self, base_url: str, api_key: str) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers={
                "authorization": f"Bearer {api_key}",
                "accept": "application/json",
                "user-agent": USER_AGENT,
            },
            timeout=30.0,
        )

    def _send(self, method: str, path: str) -> Any:
        response = self._client.request(method, path)
        if not response.is_success:
            raise ApiError(response.status_code, response.content)
        return _loads(response.content)

    def detect(self) -> DetectAnomaliesResponse:
        d = self._send("POST", "/v1/anomalies/detect")
        anomalies = tuple([_anomaly(a) for a in d["anomalies"]])
        return DetectAnomaliesResponse(d["detectedAt"], d["total"], anomalies)

    def list(self) -> ListAnomaliesResponse:
        d = self._send("GET", "/v1/anomalies")
        return ListAnomaliesResponse(tuple([_anomaly(a) for a in d["anomalies"]]), d["total"])

    def acknowledge(self, anomaly_id: str) -> Anomaly:
        path = f"/v1/anomalies/{quote(anomaly_id, safe='')}/acknowledge"
        return _anomaly(self._send("PATCH", path))


class AsyncClient:
    def __init__(self, base_url: str, api_key: str, connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "authorization": f"Bearer {api_key}",
                "accept": "application/json",
                "user-agent": USER_AGENT,
            },
            timeout=30.0,
            # httpx's default pool keeps 20 idle connections alive: `connections` calls in
            # flight need as many, each kept alive.
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str) -> Any:
        response = await self._client.request(method, path)
        if not response.is_success:
            raise ApiError(response.status_code, response.content)
        return json.loads(response.content)

    async def detect(self) -> DetectAnomaliesResponse:
        d = await self._send("POST", "/v1/anomalies/detect")
        anomalies = tuple([_anomaly(a) for a in d["anomalies"]])
        return DetectAnomaliesResponse(d["detectedAt"], d["total"], anomalies)

    async def list(self) -> ListAnomaliesResponse:
        d = await self._send("GET", "/v1/anomalies")
        return ListAnomaliesResponse(tuple([_anomaly(a) for a in d["anomalies"]]), d["total"])

    async def acknowledge(self, anomaly_id: str) -> Anomaly:
        path = f"/v1/anomalies/{quote(anomaly_id, safe='')}/acknowledge"
        return _anomaly(await self._send("PATCH", path))
