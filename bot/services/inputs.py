"""Checks on what a member typed or attached, before anything is reserved or sent."""

from __future__ import annotations

import re
import unicodedata

MAX_PROMPT_CHARS = 1000
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


class InputError(ValueError):
    """Something the member can fix; the message is shown to them as is."""


def clean_prompt(prompt: str | None) -> str:
    """The prompt as it goes to the API: control and invisible characters become spaces, runs of
    white space fold to one. Empty or over-long prompts are refused rather than silently cut."""
    text = unicodedata.normalize("NFC", prompt or "")
    text = " ".join(_CONTROL.sub(" ", text).split())
    if not text:
        raise InputError("Please describe the clip you want: the prompt is empty.")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"That prompt is {len(text):,} characters long; please keep it under "
                         f"{MAX_PROMPT_CHARS:,}.")
    return text


def check_image(filename: str, content_type: str | None, size: int) -> None:
    """Only still images the video models accept, and not huge ones."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        raise InputError(f"`{safe_inline(filename, 60)}` is not a PNG, JPEG or WebP image.")
    if size > MAX_IMAGE_BYTES:
        raise InputError(f"`{safe_inline(filename, 60)}` is {size / 1048576:.1f} MiB; images may be at most "
                         f"{MAX_IMAGE_BYTES // 1048576} MiB.")


def safe_inline(text: str, limit: int) -> str:
    """Text safe inside inline code: no backticks, no newlines, at most `limit` characters."""
    text = " ".join(text.replace("`", "'").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
