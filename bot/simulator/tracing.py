"""The tracing and cost headers of inference answers (request-tracing-and-cost.md).

Pure functions: what to echo, which inference id an answer carries, and the four headers.
A malformed `X-Client-Request-Id` is never an error; it is dropped without a word.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

from .prices import to_usd

CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# An id the unified endpoint could have issued: a uuid, optionally with its ":<model>" suffix.
GENERATION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(:[\w./-]+)?")
EXPOSED: tuple[str, ...] = ("x-inference-id", "x-client-request-id", "x-aimlapi-credits-used", "x-aimlapi-usd-spent")


def client_request_id(value: str | None) -> str | None:
    """The client's id if it is 1-128 characters of [A-Za-z0-9._:-], else None (silently dropped)."""
    return value if value is not None and CLIENT_REQUEST_ID.fullmatch(value) else None


def looks_like_generation_id(value: str) -> bool:
    return GENERATION_ID.fullmatch(value) is not None


def new_inference_id() -> str:
    """A fresh id for a call that made no generation, shaped like the docs' `V1StGXR8Z5jdHi6BmyT8k`."""
    # base64url is nanoid's own alphabet; one call instead of 21 draws (the simulator shares the
    # benchmarks' event loop with the bot, so its CPU must stay small).
    return secrets.token_urlsafe(16)[:21]


def usd_text(credits: int) -> str:
    """USD as the header spells it, nine decimals (`0.001240000`)."""
    return f"{to_usd(credits).quantize(Decimal('0.000000001')):f}"


def headers(*, inference_id: str | None, client_id: str | None, credits: int | None) -> dict[str, str]:
    """The tracing headers of one answer. `credits` None leaves the cost headers out."""
    out = {"Access-Control-Expose-Headers": ", ".join(EXPOSED)}
    if inference_id is not None:
        out["x-inference-id"] = inference_id
    if client_id is not None:
        out["x-client-request-id"] = client_id
    if credits is not None:
        out["x-aimlapi-credits-used"] = str(credits)
        out["x-aimlapi-usd-spent"] = usd_text(credits)
    return out
