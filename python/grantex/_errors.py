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
    "GrantexBadRequestError",
    "GrantexClosedError",
    "GrantexDecodeError",
    "GrantexError",
    "GrantexNetworkError",
    "GrantexNotFoundError",
    "GrantexRateLimitError",
    "GrantexServerError",
    "GrantexTimeoutError",
    "GrantexTokenError",
]


class GrantexError(Exception):
    """Base exception for all Grantex SDK errors."""

    __module__ = "grantex"


class GrantexApiError(GrantexError):
    """Raised when the Grantex API returns a non-2xx response.

    ``message`` is the server's message; ``str(error)`` adds the status, the code and the
    request id (``Anomaly not found (HTTP 404, NOT_FOUND, request id ...)``). ``body`` is
    the decoded JSON body (a dict), else the text, else None when the body was empty.
    """

    __module__ = "grantex"

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
        self.message = message
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.code = code
        self.rate_limit = rate_limit

    def __str__(self) -> str:
        details = [] if self.message == f"HTTP {self.status_code}" else [f"HTTP {self.status_code}"]
        if self.code:
            details.append(self.code)
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                self.message,
                self.status_code,
                self.body,
                self.request_id,
                self.code,
                self.rate_limit,
            ),
        )


class GrantexAuthError(GrantexApiError):
    """Raised on 401 or 403 responses."""

    __module__ = "grantex"


class GrantexBadRequestError(GrantexApiError):
    """Raised on 400 responses (an argument the server refused)."""

    __module__ = "grantex"


class GrantexNotFoundError(GrantexApiError):
    """Raised on 404 responses."""

    __module__ = "grantex"


class GrantexRateLimitError(GrantexApiError):
    """Raised on 429 responses, once the retries are spent. ``retry_after`` is how many
    seconds the server asked to wait (None when it did not say)."""

    __module__ = "grantex"

    def __init__(
        self,
        message: str,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
        rate_limit: RateLimit | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code, body, request_id, code, rate_limit)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        cls, args = super().__reduce__()
        return (cls, (*args, self.retry_after))


class GrantexRedirectError(GrantexApiError):
    """Raised on a 3xx answer: redirects are never followed (another origin's answer is not
    Grantex's, and a POST or PATCH would turn into a GET). ``location`` is where it pointed
    (None when the server did not say)."""

    __module__ = "grantex"

    def __init__(
        self,
        message: str,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
        rate_limit: RateLimit | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message, status_code, body, request_id, code, rate_limit)
        self.location = location

    def __reduce__(self) -> tuple[Any, ...]:
        cls, args = super().__reduce__()
        return (cls, (*args, self.location))


class GrantexServerError(GrantexApiError):
    """Raised on 5xx responses, once the retries (for 502, 503, 504) are spent."""

    __module__ = "grantex"


class GrantexTokenError(GrantexError):
    """Raised when JWT verification or decoding fails."""

    __module__ = "grantex"


class GrantexNetworkError(GrantexError):
    """Raised on network-level failures (timeout, connection error).

    ``cause`` is an ``OSError`` (``ConnectionRefusedError``, ``ConnectionResetError``,
    ``ConnectionError``, ``TimeoutError``) whose message is the chain of causes reported
    by the Rust HTTP stack.
    """

    __module__ = "grantex"

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.cause))


class GrantexTimeoutError(GrantexNetworkError):
    """Raised when no complete answer arrived within the client's ``timeout``."""

    __module__ = "grantex"


class GrantexDecodeError(GrantexError):
    """Raised when a 2xx response's body is not what the API describes (not JSON,
    truncated, missing fields). ``excerpt`` holds the body's first characters."""

    __module__ = "grantex"

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


class GrantexResponseTooLargeError(GrantexDecodeError):
    """Raised when a response body is larger than the client's ``max_response_bytes``
    (``limit``): reading stopped there, so memory stays bounded whatever the server sends."""

    __module__ = "grantex"

    def __init__(self, message: str, status_code: int, limit: int) -> None:
        super().__init__(message, status_code)
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.status_code, self.limit))


class GrantexClosedError(GrantexError, ValueError):
    """Raised by a call on a client after ``close()`` (a ``ValueError`` too, like an
    operation on a closed file)."""

    __module__ = "grantex"
