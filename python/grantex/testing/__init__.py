"""A local Grantex server for tests and demos: ``GrantexTestServer``, pytest fixtures and a
command line.

- ``GrantexTestServer``: a real server on 127.0.0.1 running in this process, with the hosted
  API's behaviour (the detection rules, JSON shapes, errors, rate limits), a settable clock,
  seeding and fault injection.
- pytest fixtures, available without imports once ``grantex`` is installed:
  ``grantex_server`` (a fresh ``GrantexTestServer`` per test) and ``grantex_client`` (a
  ``grantex.Grantex`` connected to it). ``@pytest.mark.grantex_server(demo=True, ...)``
  passes options to the server of a test.
- ``python -m grantex.testing serve [--port N] [--demo] [--fixture FILE] [--api-key KEY]
  [--rate-limits hosted|generous|off]``: the server in the foreground, until Ctrl-C.

This module is loaded by pytest in every run (the fixtures' plugin lives in it), so it
imports nothing heavy: ``GrantexTestServer`` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import GrantexTestServer, RateLimitsName, TimeLike

__all__ = ["GrantexTestServer", "RateLimitsName", "TimeLike"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import _server

        value = getattr(_server, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
