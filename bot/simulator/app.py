"""The aiohttp routes of the three dialects, the catalogue and the usage logs, over a `Simulator`.

Every dialect handler runs the same prelude (count, authenticate, inject a fault), then
validates, then acts. Errors are raised as `SimError` and turned into the provider's JSON
error body by one middleware, so no handler formats an error itself. Unified handlers are
also wrapped by `_Routes.traced`, which adds the tracing headers and the usage-log row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from aiohttp import web

from . import catalogue, logs, render, tracing
from .schemas import FieldError, validate_legacy, validate_luma_v2, validate_unified
from .state import LOSE_ANSWER, PHASE_RANK, Job, SimError, Simulator, iso_now

log = logging.getLogger(__name__)

SIM_KEY: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# luma-v2 `state=` words a client may wait for, as phases; waiting for `failed` is refused.
_WAITABLE: dict[str, str] = {"queued": "queued", "dreaming": "running", "completed": "completed"}
# What an `accept_then_garbage` create is answered with: a proxy's page, not the API's JSON.
_PROXY_PAGE = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
               "</center><hr><center>nginx</center></body></html>")


class _NoAnswer(web.Response):
    """Returned after the connection was closed on purpose: nothing reaches the client."""


def error_response(request: web.Request, status: int, message: str, *,
                   errors: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None, request_id: str | None = None) -> web.Response:
    body: dict[str, Any] = {
        "statusCode": status,
        "message": message,
        "path": request.path,
        "requestId": request_id or str(uuid.uuid4()),
        "timestamp": iso_now(),
    }
    if errors is not None:
        body["errors"] = errors
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def _errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    try:
        response = await handler(request)
    except SimError as error:
        response = error_response(request, error.status, error.message, errors=error.errors, headers=error.headers)
    except web.HTTPException as error:  # the router's own 404/405
        message = f"Cannot {request.method} {request.path}" if error.status == 404 else error.reason
        response = error_response(request, error.status, message)
    except Exception:
        log.exception("simulator handler failed on %s %s", request.method, request.path)
        response = error_response(request, 500, "Internal server error")
    if not isinstance(response, _NoAnswer):
        sim.counters.statuses[response.status] += 1
    log.debug("%s %s -> %s", request.method, request.path, response.status)
    return response


def _invalid(errors: list[FieldError], message: str = "Body validation error!") -> SimError:
    return SimError(400, message, errors=[error.as_json() for error in errors])


async def _read_json(request: web.Request) -> tuple[Any, bool]:
    """The body and whether it parsed; a parse error is reported after auth, like the real API."""
    try:
        return await request.json(), True
    except ValueError:
        return None, False


def _generation_frames(body: Any) -> list[str]:
    """Ids named by `{"type": "generation"}` keyframes (frame0 first)."""
    frames = body.get("keyframes") if isinstance(body, dict) else None
    if not isinstance(frames, dict):
        return []
    refs = [frames.get(name) for name in ("frame0", "frame1")]
    return [str(ref.get("id")) for ref in refs if isinstance(ref, dict) and ref.get("type") == "generation"]


def query_lists(request: web.Request) -> dict[str, list[str]]:
    """Every parameter with all its values, in order (repeated parameters kept)."""
    return {name: request.query.getall(name) for name in dict.fromkeys(request.query.keys())}


def _seconds(value: float) -> str:
    """A Retry-After value: scaled seconds, rounded up to the millisecond."""
    return f"{max(math.ceil(value * 1000) / 1000, 0.001):g}"


def _drop(request: web.Request) -> _NoAnswer:
    """Close the connection without a byte of answer: the client sees a server disconnect."""
    if request.transport is not None:
        request.transport.close()
    return _NoAnswer()


@dataclass(slots=True)
class _Trace:
    """One unified request: its ids, the job it made or asked about, and whether it is logged."""

    request_id: str  # also the error body's requestId and the log row's request_id
    client_id: str | None  # a valid X-Client-Request-Id, else None
    created: datetime  # wall clock, for the log row
    at: float  # simulator clock, for the log row's visibility
    key: str | None = None  # set once authenticated; no key, no log row
    model: str = "unknown"
    poll_id: str | None = None  # a fetch's generation_id, as given
    job: Job | None = None  # the job the answer is about
    made: Job | None = None  # the job a create made (its outcome and cost are the row's)
    lost: bool = False  # the answer is lost: no tracing headers reach the client
    logged: bool = False
    fresh_id: str = field(default_factory=tracing.new_inference_id)

    def header_inference_id(self) -> str | None:
        """The job's id; on a poll, the id polled with (left out if malformed); else a fresh id."""
        if self.job is not None:
            return self.job.id
        if self.poll_id is not None:
            return self.poll_id if tracing.looks_like_generation_id(self.poll_id) else None
        return self.fresh_id


def collect_ids(query: Any, name: str) -> list[str]:
    """Ids given as `name=a&name=b`, `name[]=a`, `name[0]=a`, or `name=a,b`; order kept, repeats dropped."""
    indexed = re.compile(rf"{re.escape(name)}\[\d*\]")
    seen: dict[str, None] = {}
    for key, value in query.items():
        if key == name or indexed.fullmatch(key):
            for part in value.split(","):
                if part.strip():
                    seen.setdefault(part.strip(), None)
    return list(seen)


class _Routes:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    # -- shared steps ------------------------------------------------------------------------
    async def _begin(self, request: web.Request, dialect: str, kind: str, ids: int = 0,
                     trace: _Trace | None = None) -> tuple[str, str | None]:
        """Count the call, check the key, and apply an injected fault; returns (key, fault)."""
        sim, cfg = self.sim, self.sim.config
        sim.count(dialect, kind, ids)
        key = sim.authenticate(request.headers.get("Authorization"))
        if trace is not None:
            trace.key = key
        fault = sim.next_fault(kind)
        if fault is None:
            return key, None
        sim.counters.faults[fault] += 1
        if fault == "429":
            retry_after = f"{cfg.scaled(cfg.retry_after_seconds):g}"
            raise SimError(429, "Too many requests", headers={"Retry-After": retry_after})
        if fault.isdigit():
            raise SimError(int(fault), "Internal server error")
        if fault == "slow":
            await asyncio.sleep(cfg.scaled(cfg.slow_seconds))
        return key, fault

    def _sources(self, key: str, dialect: str, ids: list[str]) -> tuple[str, ...]:
        return tuple(self.sim.require_completed(key, dialect, job_id).id for job_id in ids)

    async def _answer(self, request: web.Request, body: Any, fault: str | None, status: int = 200,
                      trace: _Trace | None = None) -> web.StreamResponse:
        """The create's answer, or a lost one: the job exists and was charged either way."""
        if fault in LOSE_ANSWER and trace is not None:
            self._log(trace, status)  # the provider saw a request that succeeded
        if fault == "accept_then_hang":
            await self._hang(request)  # then the real answer, long after any client gave up
        elif fault in LOSE_ANSWER:
            if trace is not None:
                trace.lost = True  # what reaches the client is not the API's answer
            if fault == "accept_then_502":
                raise SimError(502, "Internal server error")
            if fault == "accept_then_garbage":
                return web.Response(status=200, text=_PROXY_PAGE, content_type="text/html")
            return _drop(request)
        return web.json_response(body, status=status)

    async def _hang(self, request: web.Request) -> None:
        """Hold the answer for `hang_seconds` (scaled), or until the client hangs up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.sim.config.scaled(self.sim.config.hang_seconds)
        while (left := deadline - loop.time()) > 0:
            transport = request.transport
            if transport is None or transport.is_closing():
                return  # nobody is left to answer
            await asyncio.sleep(min(left, 0.05))

    def _lookup(self, key: str, dialect: str, job_id: str) -> Job:
        job = self.sim.find(key, dialect, job_id)
        if job is None:
            raise SimError(404, "Generation not found")
        return job

    @staticmethod
    def _required_param(request: web.Request, name: str) -> str:
        value = request.query.get(name, "").strip()
        if not value:
            raise _invalid([FieldError(name, f"'{name}' is a required query parameter")], "Query validation error!")
        return value

    # -- the v2 family (unified and luma-v2 share the Luma v2 payload) -------------------------------
    async def _v2_create(self, request: web.Request, dialect: str, validate, default_model: str | None,
                         render_job, status: int) -> web.Response:
        body, parsed = await _read_json(request)
        refs = _generation_frames(body)
        kind = "extend" if refs else "create"
        key, fault = await self._begin(request, dialect, kind)
        if not parsed:
            raise SimError(400, "Malformed JSON body")
        if errors := validate(body):
            raise _invalid(errors)
        parents = self._sources(key, dialect, refs)
        job = self.sim.create_job(key, dialect, model=body.get("model") or default_model, prompt=body["prompt"],
                                  request=body, kind=kind, aspect_ratio=body.get("aspect_ratio"), parents=parents)
        return await self._answer(request, render_job(job, self.sim.now()), fault, status=status)

    # -- unified ---------------------------------------------------------------------------------
    def traced(self, handler: Callable[[web.Request, _Trace], Awaitable[web.StreamResponse]]) -> Handler:
        """Wrap a unified handler: tracing headers on its answer, one usage-log row per request."""
        async def serve(request: web.Request) -> web.StreamResponse:
            trace = _Trace(request_id=str(uuid.uuid4()),
                           client_id=tracing.client_request_id(request.headers.get("X-Client-Request-Id")),
                           created=datetime.now(timezone.utc), at=self.sim.now())
            try:
                try:
                    response = await handler(request, trace)
                except SimError as error:
                    response = error_response(request, error.status, error.message, errors=error.errors,
                                              headers=error.headers, request_id=trace.request_id)
                if not trace.lost:
                    response.headers.update(self._trace_headers(trace, response))
                self._log(trace, response.status)
                return response
            finally:
                self._log(trace, 500)  # cancelled or crashed: still one row (a no-op once logged)
        return serve

    def _trace_headers(self, trace: _Trace, response: web.StreamResponse) -> dict[str, str]:
        credits: int | None = None
        if self.sim.config.report_credits in ("both", "header") and response.content_type == "application/json":
            # The charge is recorded after completion: until then an answer reports 0.
            job = trace.job
            credits = job.credits_used if job is not None and self.sim.phase(job) == "completed" else 0
        return tracing.headers(inference_id=trace.header_inference_id(), client_id=trace.client_id, credits=credits)

    def _log(self, trace: _Trace, status: int) -> None:
        """Record the request's usage-log row, once; an unauthenticated request has none."""
        if trace.logged or trace.key is None:
            return
        trace.logged = True
        answered = "succeeded" if trace.made is not None or status < 400 else "failed"
        self.sim.logbook.record(key=trace.key, at=trace.at, created=trace.created, model=trace.model,
                                request_id=trace.request_id,
                                inference_id=trace.header_inference_id() or trace.fresh_id,
                                client_request_id=trace.client_id, answered=answered, job=trace.made)

    def _unified_body(self, job: Job) -> dict[str, Any]:
        return render.unified(job, self.sim.now(), usage=self.sim.config.report_credits in ("both", "body"))

    async def unified_create(self, request: web.Request, trace: _Trace) -> web.StreamResponse:
        body, parsed = await _read_json(request)
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and model:
            trace.model = model
        refs = _generation_frames(body)
        kind = "extend" if refs else "create"
        key, fault = await self._begin(request, "unified", kind, trace=trace)
        if not parsed:
            raise SimError(400, "Malformed JSON body")
        if model in catalogue.RETIRED_MODELS:
            raise SimError(404, f"Model {model} is no longer supported")
        if errors := validate_unified(body):
            raise _invalid(errors)
        parents = self._sources(key, "unified", refs)
        job = self.sim.create_job(key, "unified", model=model, prompt=body["prompt"], request=body, kind=kind,
                                  aspect_ratio=body.get("aspect_ratio"), parents=parents,
                                  client_request_id=trace.client_id)
        trace.job = trace.made = job
        return await self._answer(request, self._unified_body(job), fault, trace=trace)

    async def unified_fetch(self, request: web.Request, trace: _Trace) -> web.StreamResponse:
        trace.poll_id = request.query.get("generation_id", "").strip()
        if ":" in trace.poll_id:
            trace.model = trace.poll_id.split(":", 1)[1]
        key, _ = await self._begin(request, "unified", "fetch_one", ids=1, trace=trace)
        job = self._lookup(key, "unified", self._required_param(request, "generation_id"))
        trace.job, trace.model = job, job.model
        return web.json_response(self._unified_body(job))

    # -- luma-v2 ---------------------------------------------------------------------------------
    async def luma_v2_create(self, request: web.Request) -> web.Response:
        return await self._v2_create(request, "luma-v2", validate_luma_v2, "ray-2", render.luma_v2, 201)

    async def luma_v2_fetch(self, request: web.Request) -> web.Response:
        key, _ = await self._begin(request, "luma-v2", "fetch_one", ids=1)
        job_id = self._required_param(request, "generation_id")
        wanted = (request.query.get("state") or request.query.get("status") or "").strip()
        if wanted == "failed":
            raise SimError(400, "cannot wait for failed")
        if wanted and wanted not in _WAITABLE:
            raise _invalid([FieldError("state", f"{wanted!r} is not one of {list(_WAITABLE)}")],
                           "Query validation error!")
        job = self._lookup(key, "luma-v2", job_id)
        if wanted:
            await self._wait_for(job, PHASE_RANK[_WAITABLE[wanted]])
        return web.json_response(render.luma_v2(job, self.sim.now()))

    async def _wait_for(self, job: Job, rank: int) -> None:
        """Hold the answer until the job reaches `rank` or later, or the (scaled) 30 s pass."""
        cfg = self.sim.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.scaled(cfg.max_wait_seconds)
        real_clock = cfg.clock is time.monotonic
        while True:
            now = self.sim.now()
            if PHASE_RANK[job.phase(now)] >= rank:
                return
            left = deadline - loop.time()
            if left <= 0:
                return
            step = cfg.wait_poll_interval
            change = job.next_change(now)
            if real_clock and change is not None:
                # On the real clock we know when the phase changes; wake then (capped, in case
                # `finish_now` moves it earlier) instead of spinning.
                step = max(step, min(change, 0.25))
            await asyncio.sleep(min(step, left))

    async def luma_v2_fetch_many(self, request: web.Request) -> web.Response:
        ids = collect_ids(request.query, "generation_ids")
        key, _ = await self._begin(request, "luma-v2", "fetch_many", ids=len(ids))
        if not ids:
            raise _invalid([FieldError("generation_ids", "'generation_ids' is a required query parameter")],
                           "Query validation error!")
        now = self.sim.now()
        jobs = (self.sim.find(key, "luma-v2", job_id) for job_id in ids)
        return web.json_response([render.luma_v2(job, now) for job in jobs if job is not None])

    # -- legacy ----------------------------------------------------------------------------------
    async def legacy_create(self, request: web.Request) -> web.Response:
        body, parsed = await _read_json(request)
        key, fault = await self._begin(request, "legacy", "create")
        if not parsed:
            raise SimError(400, "Malformed JSON body")
        if errors := validate_legacy(body):
            raise _invalid(errors)
        job = self._legacy_job(key, body, "create", ())
        return await self._answer(request, render.legacy(job, self.sim.now()), fault)

    async def legacy_extend(self, request: web.Request) -> web.Response:
        body, parsed = await _read_json(request)
        key, fault = await self._begin(request, "legacy", "extend")
        if not parsed:
            raise SimError(400, "Malformed JSON body")
        if errors := validate_legacy(body, extend=True):
            raise _invalid(errors)
        parents = self._sources(key, "legacy", [request.match_info["taskId"]])
        job = self._legacy_job(key, body, "extend", parents)
        return await self._answer(request, render.legacy(job, self.sim.now()), fault)

    def _legacy_job(self, key: str, body: dict[str, Any], kind: str, parents: tuple[str, ...]) -> Job:
        return self.sim.create_job(key, "legacy", model="ray-1-6", prompt=body["user_prompt"], request=body,
                                   kind=kind, aspect_ratio=body["aspect_ratio"], parents=parents)

    async def legacy_fetch(self, request: web.Request) -> web.Response:
        ids = collect_ids(request.query, "ids")
        # One endpoint for one id or many: count by how many were asked.
        key, _ = await self._begin(request, "legacy", "fetch_one" if len(ids) == 1 else "fetch_many", ids=len(ids))
        if not ids:
            raise _invalid([FieldError("ids", "'ids' is a required query parameter")], "Query validation error!")
        now = self.sim.now()
        jobs = (self.sim.find(key, "legacy", job_id) for job_id in ids)
        return web.json_response([render.legacy(job, now) for job in jobs if job is not None])

    async def legacy_list(self, request: web.Request) -> web.Response:
        key, _ = await self._begin(request, "legacy", "list")
        return web.json_response([{"luma_generation_id": job.id, "prompt": job.prompt}
                                  for job in self.sim.jobs(key=key, dialect="legacy")])

    # -- the catalogue (no key needed) -----------------------------------------------------------
    async def catalogue_list(self, request: web.Request) -> web.StreamResponse:
        return self._catalogue(request, catalogue.list_body(self.sim.config.prices, query_lists(request)))

    async def catalogue_model(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["model_id"]
        body = catalogue.model_body(self.sim.config.prices, name, query_lists(request))
        if body is None and not self.sim.config.catalogue_fault:
            raise SimError(404, f"Model {name} not found")
        return self._catalogue(request, body)

    def _catalogue(self, request: web.Request, body: dict[str, Any] | None) -> web.StreamResponse:
        """The body with its ETag, a 304 if the client holds that ETag, or the configured fault."""
        sim = self.sim
        sim.counters.catalogue_requests += 1
        fault = sim.config.catalogue_fault
        if fault == "drop":
            return _drop(request)
        if fault:
            raise SimError(int(fault) if fault.isdigit() else 503, "Internal server error")
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        tag = catalogue.etag(data)
        if catalogue.not_modified(request.headers.get("If-None-Match"), tag):
            sim.counters.catalogue_not_modified += 1
            return web.Response(status=304, headers={"ETag": tag})
        return web.Response(body=data, content_type="application/json", headers={"ETag": tag})

    # -- usage logs ------------------------------------------------------------------------------
    async def usage_logs(self, request: web.Request) -> web.Response:
        sim, cfg = self.sim, self.sim.config
        sim.counters.logs_requests += 1
        key = sim.authenticate(request.headers.get("Authorization"))
        # 200 a minute per key, in real seconds scaled like every other duration.
        wait = sim.logbook.admit(key, time.monotonic(), cfg.scaled(logs.RATE_WINDOW_SECONDS))
        if wait is not None:
            raise SimError(429, "Too many requests", headers={"Retry-After": _seconds(wait)})
        try:
            query = logs.parse_query(query_lists(request), datetime.now(timezone.utc))
        except logs.QueryError as error:
            raise _invalid([FieldError(error.path, error.message)], "Query validation error!") from None
        now = sim.now()
        try:
            page = sim.logbook.page(key, query, now=now, visible_before=now - cfg.scaled(cfg.logs_delay_seconds),
                                    other_keys=cfg.api_keys or ())
        except PermissionError:
            raise SimError(403, "Forbidden") from None
        except LookupError:
            raise SimError(404, "Key not found") from None
        return web.json_response(page)


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[_errors_middleware])
    app[SIM_KEY] = sim
    routes = _Routes(sim)
    app.add_routes([
        web.post("/v2/video/generations", routes.traced(routes.unified_create)),
        web.get("/v2/video/generations", routes.traced(routes.unified_fetch)),
        # The catalogue: /v1/models is canonical, the other two serve the same (complete-model-list.md).
        *(web.get(path, routes.catalogue_list) for path in ("/v1/models", "/models", "/api/v1/models")),
        web.get("/model/{model_id:.+}", routes.catalogue_model),
        web.get("/v2/logs", routes.usage_logs),
        web.post("/v2/generate/video/luma-ai/generation", routes.luma_v2_create),
        web.get("/v2/generate/video/luma-ai/generation", routes.luma_v2_fetch),
        web.get("/v2/generate/video/luma-ai/generations", routes.luma_v2_fetch_many),
        web.post("/luma-ai/generations", routes.legacy_create),
        web.get("/luma-ai/generations", routes.legacy_list),
        web.get("/luma-ai/generation", routes.legacy_fetch),
        web.post("/luma-ai/generations/{taskId}/extend", routes.legacy_extend),
    ])
    return app
