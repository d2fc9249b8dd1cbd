"""Row types the store hands out: frozen dataclasses, plain values, no connection attached.

Enums are `StrEnum`s, so `generation.status == "completed"` and dict lookups by the
plain string both work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    DREAM = "dream"
    EXTEND_FORWARD = "extend_forward"
    EXTEND_BACKWARD = "extend_backward"
    REROLL = "reroll"
    IMAGE_TO_VIDEO = "image_to_video"
    # Schema 5: ray-3.2's edits of a finished clip, and a clip leading from one clip into another.
    RESTYLE = "restyle"
    REFRAME = "reframe"
    BRIDGE = "bridge"


class Status(StrEnum):
    REQUESTED = "requested"  # reserved, not yet accepted by the API
    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


OPEN_STATUSES = frozenset({Status.REQUESTED, Status.SUBMITTED, Status.RUNNING})
FINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED})


class LedgerKind(StrEnum):
    RESERVE = "reserve"
    CHARGE = "charge"
    REFUND = "refund"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    LIFETIME = "lifetime"


class ReplyMode(StrEnum):
    """What a member's reply to a clip post does."""

    CONFIRM = "confirm"  # ask first, with the price (the default)
    DIRECT = "direct"  # extend at once
    OFF = "off"  # nothing


class RefusalReason(StrEnum):
    BLOCKED = "blocked"
    OVER_CAP = "over_cap"
    MEMBER_RUNNING_LIMIT = "member_running_limit"
    GUILD_RUNNING_LIMIT = "guild_running_limit"
    COOLDOWN = "cooldown"


def _json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


@dataclass(frozen=True, slots=True)
class Generation:
    id: int
    api_id: str | None
    dialect: str | None
    guild_id: int | None
    channel_id: int
    user_id: int
    status_channel_id: int | None
    status_message_id: int | None
    result_channel_id: int | None
    result_message_id: int | None
    kind: Kind
    parent_id: int | None
    prompt: str
    model: str | None
    options: dict[str, Any]
    status: Status
    requested_at: float
    submitted_at: float | None
    running_at: float | None
    completed_at: float | None
    failed_at: float | None
    posted_at: float | None
    video_url: str | None
    failure_reason: str | None
    tokens_reserved: int
    tokens_charged: int | None
    post_attempts: int
    # Schema 3: the create's own id, a lost answer's doubt, and the provider's side of the money.
    client_request_id: str | None = None
    in_doubt_since: float | None = None
    provider_credits: int | None = None
    provider_source: str | None = None
    price_text: str | None = None
    # Schema 4: a post that gave up, and why.
    undeliverable_at: float | None = None
    post_error: str | None = None
    # Schema 5: the clip a bridge leads into, and the size of the attached MP4 (None: a link post).
    second_parent_id: int | None = None
    attached_bytes: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def in_doubt(self) -> bool:
        """Sent (or maybe sent) to the provider, but its answer was lost: being looked up."""
        return self.status == Status.REQUESTED and self.api_id is None and self.in_doubt_since is not None

    @property
    def is_finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Generation:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["kind"] = Kind(values["kind"])
        values["status"] = Status(values["status"])
        values["options"] = _json(values["options"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    generation_id: int
    guild_id: int | None
    user_id: int
    kind: LedgerKind
    amount: int
    created_at: float


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's effective settings; defaults when moderators never set anything."""

    guild_id: int
    cap_tokens: int | None  # None = unlimited
    cap_period: Period
    member_running_limit: int
    guild_running_limit: int | None  # None = no guild-wide limit
    cooldown_seconds: int
    moderator_role_id: int | None
    allowed_channel_ids: frozenset[int]  # empty = every channel
    # Who set each setting and when (None = never set, the default applies).
    cap_set_by: int | None = None
    cap_set_at: float | None = None
    running_set_by: int | None = None
    running_set_at: float | None = None
    cooldown_set_by: int | None = None
    cooldown_set_at: float | None = None
    moderator_role_set_by: int | None = None
    moderator_role_set_at: float | None = None
    channels_set_by: int | None = None
    channels_set_at: float | None = None
    # Schema 5: what a reply to a clip post does.
    reply_mode: ReplyMode = ReplyMode.CONFIRM
    reply_mode_set_by: int | None = None
    reply_mode_set_at: float | None = None


@dataclass(frozen=True, slots=True)
class MemberSettings:
    """A member's overrides in one guild (all None/False = follows the guild)."""

    guild_id: int
    user_id: int
    cap_override: bool
    cap_tokens: int | None  # meaningful only when cap_override; None = unlimited
    cap_period: Period | None  # None = the guild's period
    running_limit: int | None  # None = the guild's member default
    blocked: bool
    cap_set_by: int | None = None
    cap_set_at: float | None = None
    running_set_by: int | None = None
    running_set_at: float | None = None
    blocked_set_by: int | None = None
    blocked_set_at: float | None = None


@dataclass(frozen=True, slots=True)
class MemberBudget:
    """What a member may still do now: the same numbers `reserve` decides with."""

    guild_id: int | None
    user_id: int
    cost: int
    cap: int | None  # effective cap, None = unlimited
    cap_is_override: bool
    period: Period
    period_started_at: float | None  # None for lifetime
    period_resets_at: float | None  # None for lifetime
    spent: int  # charged + still-open reserves in the current period
    remaining: int | None  # None = unlimited
    running: int  # this member's open jobs in this guild
    running_limit: int
    guild_running: int
    guild_running_limit: int | None
    blocked: bool
    cooldown_seconds: int
    retry_after_seconds: float  # cooldown left, 0 when none
    refusal: RefusalReason | None  # what reserve() would refuse with now, None = allowed
    checked_at: float  # the `now` these numbers are for

    @property
    def can_afford(self) -> bool:
        return self.remaining is None or self.cost <= self.remaining

    @property
    def allowed(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Spender:
    user_id: int
    spent: int
    clips: int  # generations requested (any outcome)
    completed: int
    failed: int
    refunded: int  # tokens given back


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    generation: Generation
    reserved: int
    charged: int | None
    refunded: int

    @property
    def spent(self) -> int:
        if self.charged is not None:
            return self.charged
        return self.reserved - self.refunded


@dataclass(frozen=True, slots=True)
class DaySpend:
    day: date  # UTC calendar day
    spent: int
    clips: int


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    reserved: int
    charged: int
    refunded: int
    open_reserved: int  # reserves of generations neither charged nor refunded yet
    overage: int  # charged beyond the reserve (the API reported more than list price)
    generations: int
    open_generations: int

    @property
    def balanced(self) -> bool:
        """Σreserve + Σoverage = Σcharge + Σrefund + Σopen reserves."""
        return self.reserved + self.overage == self.charged + self.refunded + self.open_reserved


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    guild_id: int
    actor_id: int
    action: str
    target_user_id: int | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ProviderTotals:
    """The member side of the books beside what the provider says it billed, for one window."""

    member_charged: int  # what members were charged for finished clips
    member_charged_known: int  # of that, on generations whose provider cost is known
    provider_billed: int  # what the provider reported (credits_used or its logs), where known
    known: int  # finished generations whose provider cost is known
    unknown: int  # finished generations whose provider cost is not known (yet)
    overruns: int  # clips whose actual cost exceeded the reserve
    overrun_credits: int  # by how much, in all
    in_doubt: int  # creates whose answer was lost, being looked up
    in_doubt_reserved: int

    @property
    def difference(self) -> int:
        """Provider minus members, over the generations whose provider cost is known."""
        return self.provider_billed - self.member_charged_known
