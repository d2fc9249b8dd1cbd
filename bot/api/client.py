"""The async client the rest of dreambot uses for every video generation.

One `_request` owns auth, timeouts, status-to-exception mapping and retries; the public
methods are short and return typed `VideoJob`s whatever the dialect.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

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
# What the provider keeps of an X-Client-Request-Id; anything else it drops without a word.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# /v2/logs pages hold at most this many rows.
LOGS_PAGE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Answer:
    """A success answer: its parsed body and the headers that carry ids and cost."""

    body: Any
    headers: Mapping[str, str]
    status: int = 200


@dataclass(frozen=True, slots=True)
class CatalogueAnswer:
    """`GET /v1/models`: 200 with the models, or 304 (nothing changed since `etag`)."""

    status: int
    etag: str | None
    data: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of `GET /v2/logs`, as much of it as the bot uses."""

    created: datetime | None
    status: str
    model: str
    credits: int
    inference_id: str | None
    client_request_id: str | None


@dataclass(frozen=True, slots=True)
class LogsPage:
    rows: list[LogRow]
    has_more: bool
    total: int


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

    async def create(self, prompt: str, options: VideoOptions | None = None, *,
                     client_request_id: str | None = None) -> VideoJob:
        """Start a clip from a prompt (and optional start/end images). Never sent twice.
        `client_request_id` goes out as X-Client-Request-Id, so the provider's logs can find
        the request again if its answer is lost."""
        request = self.dialect.create(prompt, options or VideoOptions(), self.default_model)
        answer = await self._request(request, idempotent=False, client_request_id=client_request_id)
        return _job(self.dialect.parse_job, answer, created=True)

    async def extend(self, source_id: str, prompt: str, direction: Direction = "forward",
                     options: VideoOptions | None = None, *, other_id: str | None = None,
                     client_request_id: str | None = None) -> VideoJob:
        """A new clip that continues after (forward) or leads into (backward) `source_id`,
        or bridges `source_id` to `other_id` where the dialect can interpolate."""
        request = self.dialect.extend(source_id, prompt, direction, options or VideoOptions(),
                                      self.default_model, other_id)
        answer = await self._request(request, idempotent=False, client_request_id=client_request_id)
        return _job(self.dialect.parse_job, answer, created=True)

    async def fetch(self, job_id: str, *, wait_for: JobStatus | None = None, wait_seconds: float = 30.0) -> VideoJob:
        """One job. With `wait_for` (luma-v2 only) the API holds the answer until that state or later,
        for up to 30 s: the API takes no shorter hold, so the timeout allows for the full one."""
        request = self.dialect.fetch(job_id, wait_for, max(wait_seconds, LUMA_MAX_HOLD_SECONDS))
        answer = await self._request(request, idempotent=True)
        if isinstance(answer.body, list) and not answer.body:
            raise NotFoundError(f"Generation {job_id} was not found.", status=404)
        return _job(self.dialect.parse_job, answer, created=False)

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
            for job in _parsed(self.dialect.parse_many, answer.body, created=False):
                found[job.id] = job

        chunks = [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
        outcomes = await asyncio.gather(*(batch(chunk) for chunk in chunks), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]
        return found

    async def models_catalogue(self, ids: Sequence[str], etag: str | None = None) -> CatalogueAnswer:
        """`GET /v1/models?id=…&include=pricing`: these models and their prices, or 304 when
        `etag` still matches (the ETag covers the whole answer). Needs no API key, so none is sent."""
        request = Request("GET", "/v1/models", params=[("id", ",".join(ids)), ("include", "pricing")])
        headers = {"If-None-Match": etag} if etag else {}
        answer = await self._request(request, idempotent=True, auth=False, extra_headers=headers)
        if answer.status == 304:
            return CatalogueAnswer(304, etag, None)
        body = answer.body
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise UnexpectedResponseError("The model catalogue answered with something that is not a list.")
        return CatalogueAnswer(200, answer.headers.get("ETag"), [item for item in data if isinstance(item, dict)])

    async def logs(self, start: datetime, end: datetime, *, models: Sequence[str] = (), limit: int = LOGS_PAGE_LIMIT,
                   offset: int = 0) -> LogsPage:
        """One page of `GET /v2/logs` (newest first) for a window; `models` filter by exact name
        (one parameter each: a comma-separated value would match nothing)."""
        params = [("start", _iso(start)), ("end", _iso(end)), ("limit", str(limit)), ("offset", str(offset))]
        params += [("model", model) for model in models]
        answer = await self._request(Request("GET", "/v2/logs", params=params), idempotent=True)
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise UnexpectedResponseError("The usage logs answered with something that is not a page of rows.")
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        rows = [row for row in (_log_row(item) for item in body["data"]) if row is not None]
        return LogsPage(rows, bool(pagination.get("has_more")), int(pagination.get("total") or 0))

    # Transport ------------------------------------------------------------------

    async def _request(self, request: Request, *, idempotent: bool, client_request_id: str | None = None,
                       auth: bool = True, extra_headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request, retrying what is safe to retry.

        Fetches retry on 429, 5xx and network trouble. A create retries only when the API
        surely did not take it: the connection was never made, or it answered 429.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(request, idempotent=idempotent, client_request_id=client_request_id,
                                        auth=auth, extra_headers=extra_headers)
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

    async def _send(self, request: Request, *, idempotent: bool, client_request_id: str | None = None,
                    auth: bool = True, extra_headers: Mapping[str, str] | None = None) -> Answer:
        session = self._get_session()
        headers = {"Accept": "application/json", **(extra_headers or {})}
        if auth:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if client_request_id is not None:
            if not CLIENT_REQUEST_ID.fullmatch(client_request_id):
                # The provider would drop it silently and the request could never be traced.
                raise ValueError(f"not a valid X-Client-Request-Id: {client_request_id!r}")
            headers["X-Client-Request-Id"] = client_request_id
        timeout = aiohttp.ClientTimeout(total=self.timeout + request.server_wait)
        url = self.base_url + request.path
        try:
            async with session.request(request.method, url, params=request.params or None, json=request.json,
                                       headers=headers, timeout=timeout) as response:
                body = await self._read_body(response)
                if response.status >= 400:
                    raise self._status_error(response, body, maybe_accepted=not idempotent)
                return Answer(body, response.headers, response.status)
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


def _job(parse, answer: Answer, *, created: bool) -> VideoJob:
    """A job from a success answer; the cost comes from the body's `meta.usage` or, failing
    that, the `x-aimlapi-credits-used` header (only once completed: it is 0 before)."""
    job = _parsed(parse, answer.body, created=created)
    if job.credits_used is None and job.status is JobStatus.COMPLETED:
        header = _whole_number(answer.headers.get("x-aimlapi-credits-used"))
        if header is not None:
            job = job.model_copy(update={"credits_used": header})
    return job


def _whole_number(value: str | None) -> int | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return int(round(number)) if number is not None and number >= 0 and number == number else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _log_row(item: Any) -> LogRow | None:
    """A row, read tolerantly: a row the bot cannot read is skipped, never fatal."""
    if not isinstance(item, dict):
        return None
    cost = item.get("cost") if isinstance(item.get("cost"), dict) else {}
    credits = cost.get("credits")
    created = None
    if isinstance(item.get("created"), str):
        try:
            created = datetime.fromisoformat(item["created"].replace("Z", "+00:00"))
        except ValueError:
            created = None
    return LogRow(
        created=created,
        status=str(item.get("status") or ""),
        model=str(item.get("model") or ""),
        credits=int(credits) if isinstance(credits, (int, float)) and not isinstance(credits, bool) and credits >= 0 else 0,
        inference_id=str(item["inference_id"]) if item.get("inference_id") else None,
        client_request_id=str(item["client_request_id"]) if item.get("client_request_id") else None,
    )


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
