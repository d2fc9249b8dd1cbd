"""Exceptions the store raises for expected situations (not bugs)."""

from __future__ import annotations

from typing import Any

from storage.db import StoreError
from storage.models import MemberBudget, Period, RefusalReason

__all__ = ["DuplicateRequest", "ReserveRefused", "StoreError", "UnknownGeneration"]


class UnknownGeneration(LookupError):
    """A transition named a generation id that does not exist."""

    def __init__(self, generation_id: int) -> None:
        super().__init__(f"no generation #{generation_id}")
        self.generation_id = generation_id


class ReserveRefused(Exception):
    """A reserve the member's limits do not allow; carries what a polite message needs.

    `running`/`limit` are the member's numbers, or the guild's for GUILD_RUNNING_LIMIT.
    `retry_after_seconds`: cooldown left (COOLDOWN), time until the period resets
    (OVER_CAP; None for a lifetime cap), None otherwise.
    """

    def __init__(self, reason: RefusalReason, budget: MemberBudget) -> None:
        self.reason = reason
        self.budget = budget
        self.cost: int = budget.cost
        self.cap: int | None = budget.cap
        self.period: Period = budget.period
        self.spent: int = budget.spent
        self.remaining: int | None = budget.remaining
        if reason is RefusalReason.GUILD_RUNNING_LIMIT:
            self.running: int = budget.guild_running
            self.limit: int | None = budget.guild_running_limit
        else:
            self.running = budget.running
            self.limit = budget.running_limit
        self.retry_after_seconds: float | None = None
        if reason is RefusalReason.COOLDOWN:
            self.retry_after_seconds = budget.retry_after_seconds
        elif reason is RefusalReason.OVER_CAP and budget.period_resets_at is not None:
            self.retry_after_seconds = max(0.0, budget.period_resets_at - budget.checked_at)
        super().__init__(self._describe())

    def _describe(self) -> str:
        match self.reason:
            case RefusalReason.OVER_CAP:
                return f"over_cap: spent {self.spent} of {self.cap} this {self.period}, cost {self.cost}"
            case RefusalReason.MEMBER_RUNNING_LIMIT | RefusalReason.GUILD_RUNNING_LIMIT:
                return f"{self.reason}: {self.running} running, limit {self.limit}"
            case RefusalReason.COOLDOWN:
                return f"cooldown: retry after {self.retry_after_seconds:.1f}s"
            case _:
                return str(self.reason)


class DuplicateRequest(Exception):
    """The member made this very request moments ago (a double click): nothing new was reserved."""

    def __init__(self, earlier: Any) -> None:
        super().__init__(f"the same request was made as generation {getattr(earlier, 'id', '?')}")
        self.earlier = earlier
