"""Property-based tests (hypothesis) of the decoders, over a real socket: random bodies with
everything ``json.loads`` accepts beyond strict JSON (``NaN``, ``Infinity``, numbers past
``float``, integers past 64 bits, lone surrogate escapes, duplicate keys, a BOM), and
mutated wire captures. A result always equals ``json.loads`` followed by the documented
mapping; anything else is a ``GrantexError``, never another exception or a hang."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import FIXTURES, Server
from grantex import (
    Anomaly,
    DetectAnomaliesResponse,
    Grantex,
    GrantexDecodeError,
    GrantexError,
    ListAnomaliesResponse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Each example is one request over a socket: keep the counts modest, the run deterministic.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Pairs:
    """A JSON object as written on the wire: its members in order, keys may repeat."""

    members: tuple[tuple[str, Any], ...]


def encode(value: Any) -> str:
    """JSON text as a JavaScript or Python server could write it (non-ASCII escaped, so
    lone surrogates survive; NaN and the infinities as bare tokens)."""
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, str) and value.startswith("\0number:"):
        return value.removeprefix("\0number:")  # a number written verbatim (1e400, -0)
    return json.dumps(value, allow_nan=True)


LONE_SURROGATES = st.sampled_from(["\ud83d", "\ude00", "\ud800", "\udfff"])
TEXT = st.lists(st.one_of(st.text(max_size=6), LONE_SURROGATES), max_size=4).map("".join)
KEYS = st.one_of(st.sampled_from(["a", "b", "count", "a"]), TEXT)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["\0number:1e400", "\0number:-1e400", "\0number:-0", "\0number:1E5"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(KEYS, children), max_size=4).map(lambda m: Pairs(tuple(m))),
    ),
    max_leaves=12,
)
OBJECTS = st.lists(st.tuples(KEYS, VALUES), max_size=5).map(lambda m: Pairs(tuple(m)))
# metadata as an object, as a string holding one (the list form), or odd.
METADATA = st.one_of(
    OBJECTS,
    OBJECTS.map(encode),
    st.none(),
    TEXT,
    st.sampled_from(["{not json", " {}", "[1]", "{} x"]),
)
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)


@st.composite
def anomalies(draw: st.DrawFn) -> Pairs:
    members: list[tuple[str, Any]] = [
        ("id", draw(TEXT)),
        ("type", draw(st.sampled_from(["rate_spike", "off_hours_activity", "new_kind"]))),
        ("severity", draw(st.sampled_from(["low", "high", "critical"]))),
        ("agentId", draw(OPTIONAL_TEXT)),
        ("principalId", draw(OPTIONAL_TEXT)),
        ("description", draw(TEXT)),
        ("detectedAt", draw(TEXT)),
        ("acknowledgedAt", draw(OPTIONAL_TEXT)),
    ]
    if draw(st.booleans()):
        members.append(("metadata", draw(METADATA)))
    if draw(st.booleans()):
        members.append(("extra", draw(VALUES)))
    # A repeated field: the last one counts, as in json.loads.
    if draw(st.booleans()):
        members.append(("description", draw(TEXT)))
    return Pairs(tuple(draw(st.permutations(members))))


def documented_metadata(raw: dict[str, Any]) -> Any:
    """The documented mapping: absent or null → {}; a string holding a JSON object → that
    object; anything else as sent."""
    metadata = raw.get("metadata")
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        try:
            parsed = json.loads(metadata)
        except ValueError:
            return metadata
        return (
            parsed
            if isinstance(parsed, dict) and metadata.lstrip(" \t\n\r")[:1] == "{"
            else metadata
        )
    return metadata


def documented_anomaly(raw: dict[str, Any]) -> Anomaly:
    return Anomaly(
        id=raw["id"],
        type=raw["type"],
        severity=raw["severity"],
        agent_id=raw.get("agentId"),
        principal_id=raw.get("principalId"),
        description=raw["description"],
        metadata=documented_metadata(raw),
        detected_at=raw["detectedAt"],
        acknowledged_at=raw.get("acknowledgedAt"),
    )


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN, and the same types and key order throughout."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Server, Grantex]]:
    server = Server()
    with Grantex(api_key="gx_test_properties", base_url=server.url, max_retries=0) as client:
        yield server, client
    server.close()


def answer(server: Server, body: bytes) -> None:
    server.reply(200, body, headers=[("content-type", "application/json")])


@PROPERTY
@given(
    items=st.lists(anomalies(), max_size=4),
    total=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    bom=st.booleans(),
)
def test_list_equals_json_loads_and_the_documented_mapping(
    served: tuple[Server, Grantex], items: list[Pairs], total: int, bom: bool
) -> None:
    server, client = served
    body = encode(Pairs((("anomalies", items), ("total", total)))).encode()
    if bom:
        body = b"\xef\xbb\xbf" + body
    answer(server, body)
    result = client.anomalies.list()
    raw = json.loads(body)
    expected = ListAnomaliesResponse(
        anomalies=tuple(documented_anomaly(a) for a in raw["anomalies"]),
        total=raw["total"],
    )
    assert same(result, expected), (body, result, expected)


@PROPERTY
@given(item=anomalies())
def test_detect_and_acknowledge_equal_the_same_mapping(
    served: tuple[Server, Grantex], item: Pairs
) -> None:
    server, client = served
    body = encode(
        Pairs((("detectedAt", "2026-11-25T00:00:00Z"), ("total", 1), ("anomalies", [item])))
    ).encode()
    answer(server, body)
    detected = client.anomalies.detect()
    answer(server, encode(item).encode())
    acknowledged = client.anomalies.acknowledge("anm_1")
    expected = documented_anomaly(json.loads(encode(item)))
    assert same(acknowledged, expected)
    assert isinstance(detected, DetectAnomaliesResponse)
    assert same(detected.anomalies[0], expected)


def captured_bodies() -> list[bytes]:
    bodies = []
    for name in ("list-200", "detect-200", "acknowledge-200", "list-unacknowledged-200"):
        raw = (FIXTURES / f"{name}.http").read_bytes()
        bodies.append(raw.partition(b"\r\n\r\n")[2])
    return bodies


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, bytes]:
    which = draw(st.integers(min_value=0, max_value=3))
    body = bytearray(captured_bodies()[which])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=max(len(body) - 1, 0)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if how == "flip" and body:
            body[at] = draw(st.integers(min_value=0, max_value=255))
        elif how == "insert":
            body[at:at] = draw(
                st.sampled_from([b"NaN", b"\\ud83d", b'"', b",", b"{", b"]", b"1e400", b"\x00"])
            )
        elif how == "delete":
            del body[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif how == "truncate":
            del body[at:]
        else:
            body[at:at] = b'"id":"dup",'
    return which, bytes(body)


@PROPERTY
@given(case=mutated())
def test_mutated_captures_give_the_mapping_or_a_typed_error(
    served: tuple[Server, Grantex], case: tuple[int, bytes]
) -> None:
    server, client = served
    which, body = case
    answer(server, body)
    calls = {
        0: client.anomalies.list,
        1: client.anomalies.detect,
        2: lambda: client.anomalies.acknowledge("a"),
        3: client.anomalies.list,
    }
    call = calls[which]
    try:
        result = call()
    except GrantexError as error:
        assert isinstance(error, GrantexDecodeError), error
        return
    # A value: json.loads must accept the body, and the value must be its mapping.
    raw = json.loads(body)
    if isinstance(result, Anomaly):
        assert same(result, documented_anomaly(raw))
    else:
        assert same(result.anomalies, tuple(documented_anomaly(a) for a in raw["anomalies"]))
        assert result.total == raw["total"]


def test_a_total_beyond_64_bits_is_a_decode_error(served: tuple[Server, Grantex]) -> None:
    """The documented ``total`` is a count: past 64 bits the Rust model cannot hold it, and
    the call says so instead of rounding."""
    server, client = served
    answer(server, b'{"anomalies": [], "total": 18446744073709551616}')
    with pytest.raises(GrantexDecodeError):
        client.anomalies.list()


def test_non_object_bodies_are_refused_everywhere(served: tuple[Server, Grantex]) -> None:
    server, client = served
    anomaly = json.loads(captured_bodies()[2])
    as_array = json.dumps(list(anomaly.values())).encode()
    answer(server, as_array)
    with pytest.raises(GrantexDecodeError):
        client.anomalies.acknowledge("a")
    listed = json.loads(captured_bodies()[0])
    listed["anomalies"] = [list(a.values()) for a in listed["anomalies"]]
    answer(server, json.dumps(listed).encode())
    with pytest.raises(GrantexDecodeError):
        client.anomalies.list()
