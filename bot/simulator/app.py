"""The aiohttp routes of the three dialects, over a `Simulator`.

Every handler runs the same prelude (count, authenticate, inject a fault), then validates,
then acts. Errors are raised as `SimError` and turned into the provider's JSON error body
by one middleware, so no handler formats an error itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any, Awaitable, Callable

from aiohttp import web

from . import render
from .schemas import FieldError, validate_legacy, validate_luma_v2, validate_unified
from .state import PHASE_RANK, Job, SimError, Simulator, iso_now

log = logging.getLogger(__name__)

SIM_KEY: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# luma-v2 `state=` words a client may wait for, as phases; waiting for `failed` is refused.
_WAITABLE: dict[str, str] = {"queued": "queued", "dreaming": "running", "completed": "completed"}


def error_response(request: web.Request, status: int, message: str, *,
                   errors: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {
        "statusCode": status,
        "message": message,
        "path": request.path,
        "requestId": str(uuid.uuid4()),
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
    async def _begin(self, request: web.Request, dialect: str, kind: str, ids: int = 0) -> tuple[str, str | None]:
        """Count the call, check the key, and apply an injected fault; returns (key, fault)."""
        sim, cfg = self.sim, self.sim.config
        sim.count(dialect, kind, ids)
        key = sim.authenticate(request.headers.get("Authorization"))
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

    @staticmethod
    def _answer(body: Any, fault: str | None, status: int = 200) -> web.Response:
        # A lost answer: the job exists and was charged, but the client sees a 502.
        if fault == "accept_then_502":
            raise SimError(502, "Internal server error")
        return web.json_response(body, status=status)

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
        return self._answer(render_job(job, self.sim.now()), fault, status=status)

    # -- unified ---------------------------------------------------------------------------------
    async def unified_create(self, request: web.Request) -> web.Response:
        # The schema requires `model`, so it is always there once validated.
        return await self._v2_create(request, "unified", validate_unified, None, render.unified, 200)

    async def unified_fetch(self, request: web.Request) -> web.Response:
        key, _ = await self._begin(request, "unified", "fetch_one", ids=1)
        job = self._lookup(key, "unified", self._required_param(request, "generation_id"))
        return web.json_response(render.unified(job, self.sim.now()))

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
        return self._answer(render.legacy(job, self.sim.now()), fault)

    async def legacy_extend(self, request: web.Request) -> web.Response:
        body, parsed = await _read_json(request)
        key, fault = await self._begin(request, "legacy", "extend")
        if not parsed:
            raise SimError(400, "Malformed JSON body")
        if errors := validate_legacy(body, extend=True):
            raise _invalid(errors)
        parents = self._sources(key, "legacy", [request.match_info["taskId"]])
        job = self._legacy_job(key, body, "extend", parents)
        return self._answer(render.legacy(job, self.sim.now()), fault)

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


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[_errors_middleware])
    app[SIM_KEY] = sim
    routes = _Routes(sim)
    app.add_routes([
        web.post("/v2/video/generations", routes.unified_create),
        web.get("/v2/video/generations", routes.unified_fetch),
        web.post("/v2/generate/video/luma-ai/generation", routes.luma_v2_create),
        web.get("/v2/generate/video/luma-ai/generation", routes.luma_v2_fetch),
        web.get("/v2/generate/video/luma-ai/generations", routes.luma_v2_fetch_many),
        web.post("/luma-ai/generations", routes.legacy_create),
        web.get("/luma-ai/generations", routes.legacy_list),
        web.get("/luma-ai/generation", routes.legacy_fetch),
        web.post("/luma-ai/generations/{taskId}/extend", routes.legacy_extend),
    ])
    return app
