"""The exceptions of the Grantex SDK.

Same classes, constructor signatures and attributes as the documented SDK, plus three
subclasses that keep existing ``except`` clauses working:

- ``GrantexTimeoutError(GrantexNetworkError)``: no complete answer within ``timeout``;
- ``GrantexDecodeError(GrantexError)``: a 2xx answer whose body could not be decoded;
- ``GrantexClosedError(GrantexError, ValueError)``: a call on a closed client.

All of them pickle (their attributes survive), so they can cross process boundaries.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._models import RateLimit

__all__ = [
    "GrantexApiError",
    "GrantexAuthError",
    "GrantexClosedError",
    "GrantexDecodeError",
    "GrantexError",
    "GrantexNetworkError",
    "GrantexTimeoutError",
    "GrantexTokenError",
]


class GrantexError(Exception):
    """Base exception for all Grantex SDK errors."""


class GrantexApiError(GrantexError):
    """Raised when the Grantex API returns a non-2xx response.

    ``str(error)`` is the server's message; ``body`` is the decoded JSON body (a dict),
    else the text, else None when the body was empty.
    """

    def __init__(
        self,
        message: str,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.code = code
        self.rate_limit = rate_limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                str(self),
                self.status_code,
                self.body,
                self.request_id,
                self.code,
                self.rate_limit,
            ),
        )


class GrantexAuthError(GrantexApiError):
    """Raised on 401 or 403 responses."""


class GrantexTokenError(GrantexError):
    """Raised when JWT verification or decoding fails."""


class GrantexNetworkError(GrantexError):
    """Raised on network-level failures (timeout, connection error).

    ``cause`` is an ``OSError`` (``ConnectionRefusedError``, ``ConnectionResetError``,
    ``ConnectionError``, ``TimeoutError``) whose message is the chain of causes reported
    by the Rust HTTP stack.
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.cause))


class GrantexTimeoutError(GrantexNetworkError):
    """Raised when no complete answer arrived within the client's ``timeout``."""


class GrantexDecodeError(GrantexError):
    """Raised when a 2xx response's body is not what the API describes (not JSON,
    truncated, missing fields). ``excerpt`` holds the body's first characters."""

    def __init__(
        self,
        message: str,
        status_code: int,
        excerpt: str = "",
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.excerpt = excerpt
        self.rate_limit = rate_limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.status_code, self.excerpt, self.rate_limit))


class GrantexClosedError(GrantexError, ValueError):
    """Raised by a call on a client after ``close()`` (a ``ValueError`` too, like an
    operation on a closed file)."""
