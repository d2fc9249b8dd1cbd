"""The async client the rest of dreambot uses for every video generation.

One `_request` owns auth, timeouts, status-to-exception mapping and retries; the public
methods are short and return typed `VideoJob`s whatever the dialect.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Sequence

import aiohttp

from .dialects import Dialect, Request, get_dialect
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    VideoAPIError,
    error_for_status,
)
from .models import Direction, JobStatus, VideoJob, VideoOptions
from .retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.aimlapi.com"
# Unified has no batch endpoint: fetch at most this many jobs at once.
FETCH_CONCURRENCY = 8
# Most jobs one batch request names (keeps URLs well under common 8 KiB limits).
BATCH_SIZE = 50
# Batch requests in flight at once when more than one is needed.
BATCH_CONCURRENCY = 4
# luma-v2 holds a `state=` fetch for up to this long, whatever the caller hoped for.
LUMA_MAX_HOLD_SECONDS = 30.0


class VideoAPI:
    """Create, extend and fetch Luma generations through the AI/ML API."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        dialect: str = "unified",
        default_model: str = "ray-2",
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.dialect: Dialect = get_dialect(dialect)
        self.default_model = default_model
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:  # never the key
        return f"<VideoAPI dialect={self.dialect.name} base_url={self.base_url}>"

    @property
    def capabilities(self):
        return self.dialect.capabilities

    async def __aenter__(self) -> VideoAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    # Public interface -------------------------------------------------------------

    async def create(self, prompt: str, options: VideoOptions | None = None) -> VideoJob:
        """Start a clip from a prompt (and optional start/end images). Never sent twice."""
        request = self.dialect.create(prompt, options or VideoOptions(), self.default_model)
        return _parsed(self.dialect.parse_job, await self._request(request, idempotent=False), created=True)

    async def extend(self, source_id: str, prompt: str, direction: Direction = "forward",
                     options: VideoOptions | None = None, *, other_id: str | None = None) -> VideoJob:
        """A new clip that continues after (forward) or leads into (backward) `source_id`,
        or bridges `source_id` to `other_id` where the dialect can interpolate."""
        request = self.dialect.extend(source_id, prompt, direction, options or VideoOptions(),
                                      self.default_model, other_id)
        return _parsed(self.dialect.parse_job, await self._request(request, idempotent=False), created=True)

    async def fetch(self, job_id: str, *, wait_for: JobStatus | None = None, wait_seconds: float = 30.0) -> VideoJob:
        """One job. With `wait_for` (luma-v2 only) the API holds the answer until that state or later,
        for up to 30 s: the API takes no shorter hold, so the timeout allows for the full one."""
        request = self.dialect.fetch(job_id, wait_for, max(wait_seconds, LUMA_MAX_HOLD_SECONDS))
        data = await self._request(request, idempotent=True)
        if isinstance(data, list) and not data:
            raise NotFoundError(f"Generation {job_id} was not found.", status=404)
        return _parsed(self.dialect.parse_job, data, created=False)

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, VideoJob]:
        """Many jobs by id, in as few calls as the dialect allows. Unknown ids are left out."""
        ids = list(dict.fromkeys(job_ids))
        found: dict[str, VideoJob] = {}
        if self.dialect.fetch_many(ids[:1]) is None:
            gate = asyncio.Semaphore(FETCH_CONCURRENCY)

            async def one(job_id: str) -> None:
                async with gate:
                    try:
                        found[job_id] = await self.fetch(job_id)
                    except NotFoundError:
                        pass

            # Let every fetch finish (none is left running), then report the first real failure:
            # leaving a failed id out would look like "not found" to the caller.
            outcomes = await asyncio.gather(*(one(job_id) for job_id in ids), return_exceptions=True)
            failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if failures:
                raise failures[0]
            return found
        gate = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def batch(chunk: list[str]) -> None:
            request = self.dialect.fetch_many(chunk)
            assert request is not None
            async with gate:
                answer = await self._request(request, idempotent=True)
            for job in _parsed(self.dialect.parse_many, answer, created=False):
                found[job.id] = job

        chunks = [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
        outcomes = await asyncio.gather(*(batch(chunk) for chunk in chunks), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]
        return found

    # Transport ------------------------------------------------------------------

    async def _request(self, request: Request, *, idempotent: bool) -> Any:
        """Send one request, retrying what is safe to retry.

        Fetches retry on 429, 5xx and network trouble. A create retries only when the API
        surely did not take it: the connection was never made, or it answered 429.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(request, idempotent=idempotent)
            except VideoAPIError as error:
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                if attempt >= self.retry.max_attempts or not self._may_retry(error, idempotent):
                    raise
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    raise
                delay = self.retry.delay(attempt, retry_after, self._rng)
                log.info("video API %s %s failed (%s); retry %d in %.2fs", request.method, request.path,
                         type(error).__name__, attempt, delay)
                await asyncio.sleep(delay)

    @staticmethod
    def _may_retry(error: VideoAPIError, idempotent: bool) -> bool:
        if isinstance(error, RateLimitError):
            return True
        if idempotent:
            return isinstance(error, (ServerError, APIConnectionError))
        return isinstance(error, APIConnectionError) and not error.maybe_accepted

    async def _send(self, request: Request, *, idempotent: bool) -> Any:
        session = self._get_session()
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=self.timeout + request.server_wait)
        url = self.base_url + request.path
        try:
            async with session.request(request.method, url, params=request.params or None, json=request.json,
                                       headers=headers, timeout=timeout) as response:
                body = await self._read_body(response)
                if response.status >= 400:
                    raise self._status_error(response, body, maybe_accepted=not idempotent)
                return body
        except aiohttp.ClientConnectorError as exc:
            # The TCP connection was never made, so the API cannot have seen the request.
            raise APIConnectionError("Could not connect to the video API.") from exc
        except asyncio.TimeoutError as exc:
            raise APITimeoutError("The video API did not answer in time.", maybe_accepted=not idempotent) from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(f"Connection to the video API failed ({type(exc).__name__}).",
                                     maybe_accepted=not idempotent) from exc

    @staticmethod
    async def _read_body(response: aiohttp.ClientResponse) -> Any:
        text = await response.text()
        if not text:
            return None
        try:
            return await response.json(content_type=None)
        except ValueError:
            return text

    @staticmethod
    def _status_error(response: aiohttp.ClientResponse, body: Any, *, maybe_accepted: bool) -> APIStatusError:
        status = response.status
        message = _error_message(body) or response.reason or f"HTTP {status}"
        request_id = body.get("requestId") if isinstance(body, dict) else None
        kwargs: dict[str, Any] = {"body": body, "request_id": request_id}
        if status == 429:
            kwargs["retry_after"] = _retry_after(response.headers.get("Retry-After"))
        # Only a server error leaves doubt about whether a create was taken; a 4xx surely was not.
        kwargs["maybe_accepted"] = maybe_accepted and status >= 500
        return error_for_status(status, message, **kwargs)


def _parsed(parse, data: Any, *, created: bool) -> Any:
    """Parse a success answer; one that makes no sense is an API error, and for a create
    a possibly accepted one (a 2xx means the API may well have made the clip)."""
    try:
        return parse(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise UnexpectedResponseError("The video API answered with something that is not a generation.",
                                      maybe_accepted=created) from exc


def _error_message(body: Any) -> str:
    """The API's own words: `message` (a string or a list), plus validation details if any."""
    if isinstance(body, str):
        return body.strip()[:500]
    if not isinstance(body, dict):
        return ""
    message = body.get("message") or body.get("error") or ""
    if isinstance(message, dict):
        message = message.get("message", "")
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    details = body.get("errors")
    if isinstance(details, list) and details:
        parts = [f"{d.get('path')}: {d.get('message')}" if isinstance(d, dict) else str(d) for d in details]
        message = f"{message} {'; '.join(parts)}".strip()
    return str(message)[:500]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
