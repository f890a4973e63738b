"""The pytest plugin of ``grantex`` (entry point ``pytest11``): the ``grantex_server``,
``grantex_client`` and ``grantex_async_client`` fixtures, usable in any test without
imports.

Loaded in every pytest run once ``grantex`` is installed, so it imports only pytest at load
time; the server and the client are imported inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from grantex import AsyncGrantex, Grantex
    from grantex.testing import GrantexTestServer

__all__ = ["grantex_async_client", "grantex_client", "grantex_server"]

_MARKER = "grantex_server"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*, port=0, demo=False, api_key=None, rate_limits='generous'): "
        "options of the grantex_server fixture's GrantexTestServer for this test",
    )


@pytest.fixture
def grantex_server(request: pytest.FixtureRequest) -> Iterator[GrantexTestServer]:
    """A fresh local Grantex server (``grantex.testing.GrantexTestServer``) for this test,
    stopped afterwards. Options come from ``@pytest.mark.grantex_server(...)``, e.g.
    ``@pytest.mark.grantex_server(demo=True, rate_limits="hosted")``."""
    from grantex.testing import GrantexTestServer

    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None and marker.args:
        raise TypeError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
    options = dict(marker.kwargs) if marker is not None else {}
    with GrantexTestServer(**options) as server:
        yield server


@pytest.fixture
def grantex_client(grantex_server: GrantexTestServer) -> Iterator[Grantex]:
    """A ``grantex.Grantex`` client for ``grantex_server``'s default account (its
    ``api_key`` and ``url``), closed afterwards."""
    from grantex import Grantex

    with Grantex(api_key=grantex_server.api_key, base_url=grantex_server.url) as client:
        yield client


@pytest.fixture
def grantex_async_client(grantex_server: GrantexTestServer) -> Iterator[AsyncGrantex]:
    """A ``grantex.AsyncGrantex`` client for ``grantex_server``'s default account, closed
    afterwards. The fixture itself is synchronous (the client binds no event loop), so it
    works with any async test runner: pytest-asyncio (``@pytest.mark.asyncio``), anyio's
    plugin (``@pytest.mark.anyio``), or ``asyncio.run`` inside a plain test."""
    from grantex import AsyncGrantex

    client = AsyncGrantex(api_key=grantex_server.api_key, base_url=grantex_server.url)
    try:
        yield client
    finally:
        client._native.close()  # what `await client.close()` does, without a loop
