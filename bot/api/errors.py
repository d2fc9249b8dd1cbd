"""The exceptions the video API module raises; each maps to one plain sentence for members."""

from __future__ import annotations

from typing import Any


class VideoAPIError(Exception):
    """Base of every error from the video API module."""

    def __init__(self, message: str, *, maybe_accepted: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # True when a create may have reached the API although we got no answer:
        # the caller must not send it again (it would be charged twice).
        self.maybe_accepted = maybe_accepted


class UnsupportedByDialect(VideoAPIError):
    """The configured dialect cannot do this (e.g. extend backward on the legacy API)."""


class APIConnectionError(VideoAPIError):
    """The API could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """The API did not answer in time."""


class UnexpectedResponseError(VideoAPIError):
    """The API answered success with something that is not a generation (a proxy page, say)."""


class APIStatusError(VideoAPIError):
    """The API answered with an HTTP error status."""

    def __init__(self, message: str, *, status: int, body: Any = None, request_id: str | None = None,
                 maybe_accepted: bool = False) -> None:
        super().__init__(message, maybe_accepted=maybe_accepted)
        self.status = status
        self.body = body
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400/422: the API rejected the input; `message` is the API's own explanation."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class InsufficientCreditsError(APIStatusError):
    """403: the account behind the key is out of credits."""


class NotFoundError(APIStatusError):
    """404: no such generation."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` is the API's advice in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: trouble on the API's side."""


def error_for_status(status: int, message: str, **kwargs: Any) -> APIStatusError:
    """The exception class that says what an HTTP status means."""
    if status in (400, 422):
        return BadRequestError(message, status=status, **kwargs)
    if status == 401:
        return AuthenticationError(message, status=status, **kwargs)
    if status == 403:
        return InsufficientCreditsError(message, status=status, **kwargs)
    if status == 404:
        return NotFoundError(message, status=status, **kwargs)
    if status == 429:
        return RateLimitError(message, status=status, **kwargs)
    if status >= 500:
        return ServerError(message, status=status, **kwargs)
    return APIStatusError(message, status=status, **kwargs)
