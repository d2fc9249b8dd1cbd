"""Logging that can never print a secret: every formatted line is scrubbed of the token and key."""

from __future__ import annotations

import logging
import sys
from typing import Iterable

REDACTED = "[redacted]"


class RedactingFormatter(logging.Formatter):
    """Replaces each secret in the final text, including tracebacks and third-party messages."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Short strings would blank out ordinary words; real tokens and keys are long.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    """One line per event on stderr, scrubbed of secrets."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway chatter at DEBUG is huge; keep it at INFO unless asked for.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))
