"""Turning a member's request into a reserved, submitted generation — or a polite refusal.

The order matters for money: reserve first (atomic in the store, so caps hold under a
burst), then send to the API once, then record the API's id. If the API refuses, or we
cannot be sure it took the request, the reserve is refunded at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.api import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    RateLimitError,
    UnsupportedByDialect,
    VideoAPI,
    VideoAPIError,
    VideoOptions,
)
from bot.services.inputs import InputError, clean_prompt
from storage import Generation, Store

log = logging.getLogger(__name__)

Kind = Literal["dream", "extend_forward", "extend_backward", "reroll", "image_to_video"]


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks, and where: the unit caps and limits apply to."""

    guild_id: int | None
    channel_id: int
    user_id: int
    is_moderator: bool = False


class ServiceUnavailable(Exception):
    """The API refuses the bot itself (key, credits): moderators must act; members wait."""

    def __init__(self, member_text: str, moderator_text: str) -> None:
        super().__init__(moderator_text)
        self.member_text = member_text
        self.moderator_text = moderator_text

    def text_for(self, requester: Requester) -> str:
        return self.moderator_text if requester.is_moderator else self.member_text


class DreamService:
    def __init__(self, store: Store, api: VideoAPI, *, cost: int, on_submitted=None) -> None:
        self.store = store
        self.api = api
        self.cost = cost
        # Called after a job is accepted, so the poller looks at once (it wakes itself otherwise).
        self.on_submitted = on_submitted

    def check_options(self, options: VideoOptions) -> None:
        """Refuse options the configured dialect cannot send, before anything is reserved."""
        caps = self.api.capabilities
        unsupported = [
            label for label, asked, able in (
                ("model", options.model, caps.models),
                ("resolution", options.resolution, caps.resolution),
                ("duration", options.duration, caps.duration),
                ("loop", options.loop, caps.loop),
                ("end image", options.end_image_url, caps.end_image),
            ) if asked is not None and not able
        ]
        if unsupported:
            raise InputError(f"This bot's video service does not support: {', '.join(unsupported)}.")

    async def check_parent(self, requester: Requester, parent_id: int, *, backward: bool = False) -> Generation:
        """The clip to extend must exist in this guild, be finished well, and be extendable."""
        parent = await self.store.get(parent_id)
        if parent is None or parent.guild_id != requester.guild_id:
            raise InputError(f"I can't find clip #{parent_id} in this server.")
        if parent.status != "completed" or not parent.api_id:
            state = "failed" if parent.status == "failed" else "is not finished yet"
            raise InputError(f"Clip #{parent_id} {state}; only a finished clip can be extended.")
        if backward and not self.api.capabilities.backward_extend:
            raise InputError("This bot's video service can only extend clips forward.")
        if parent.dialect and parent.dialect != self.api.dialect.name:
            raise InputError(f"Clip #{parent_id} was made with another video service and can't be extended here.")
        return parent

    async def start(
        self,
        requester: Requester,
        prompt: str,
        options: VideoOptions,
        *,
        kind: Kind = "dream",
        parent: Generation | None = None,
    ) -> Generation:
        """Reserve, submit and record one generation. Raises InputError, ReserveRefused,
        ServiceUnavailable or VideoAPIError; in every error case nothing stays charged."""
        prompt = clean_prompt(prompt)
        self.check_options(options)
        if requester.guild_id is not None and not await self.store.is_channel_allowed(requester.guild_id, requester.channel_id):
            allowed = sorted((await self.store.guild_settings(requester.guild_id)).allowed_channel_ids)
            where = ", ".join(f"<#{channel_id}>" for channel_id in allowed[:10])
            raise InputError(f"Clips can't be made in this channel; please use {where}.")
        generation = await self.store.reserve(
            guild_id=requester.guild_id,
            channel_id=requester.channel_id,
            user_id=requester.user_id,
            kind=kind,
            prompt=prompt,
            model=options.model or self.api.default_model,
            options=options.model_dump(exclude_none=True),
            dialect=self.api.dialect.name,
            parent_id=parent.id if parent else None,
            cost=self.cost,
        )
        try:
            job = await self._submit(prompt, options, kind, parent)
        except VideoAPIError as error:
            await self.store.reject(generation.id, _reason(error))
            log.warning("generation %s refused by the API (%s; guild %s, user %s)", generation.id,
                        type(error).__name__, requester.guild_id, requester.user_id)
            raise _explain(error) from error
        except BaseException:
            # Anything else (a bug, a cancel): the member must not pay for a job that was not sent.
            await self.store.reject(generation.id, "The request could not be sent.")
            raise
        await self.store.mark_submitted(generation.id, job.id)
        log.info("generation %s submitted as %s (guild %s, user %s, kind %s)", generation.id, job.id,
                 requester.guild_id, requester.user_id, kind)
        if self.on_submitted is not None:
            self.on_submitted()
        refreshed = await self.store.get(generation.id)
        assert refreshed is not None
        return refreshed

    async def _submit(self, prompt: str, options: VideoOptions, kind: Kind, parent: Generation | None):
        if kind == "reroll" and parent is not None:
            parent, kind = await self._reroll_target(parent)
        if kind in ("extend_forward", "extend_backward") and parent is not None:
            direction = "forward" if kind == "extend_forward" else "backward"
            return await self.api.extend(parent.api_id or "", prompt, direction, options)
        return await self.api.create(prompt, options)

    async def _reroll_target(self, source: Generation) -> tuple[Generation | None, Kind]:
        """What a re-roll sends again: a re-rolled extension extends the same clip again
        (sent as a plain create, it would be an unrelated clip charged as another take)."""
        while source.kind == "reroll" and source.parent_id:
            earlier = await self.store.get(source.parent_id)
            if earlier is None:
                break
            source = earlier
        if source.kind in ("extend_forward", "extend_backward") and source.parent_id:
            base = await self.store.get(source.parent_id)
            if base is not None and base.api_id:
                return base, source.kind
        return None, "reroll"

    async def reroll_options(self, source: Generation) -> VideoOptions:
        """The options a clip was made with, to make it again."""
        return VideoOptions(**{k: v for k, v in (source.options or {}).items() if k in VideoOptions.model_fields})


def _reason(error: VideoAPIError) -> str:
    return f"{type(error).__name__}: {error.message}"[:300]


def _explain(error: VideoAPIError) -> Exception:
    """The API's error as something a member can read; the original stays chained for the logs."""
    if isinstance(error, (AuthenticationError, InsufficientCreditsError)):
        what = "its API key was refused" if isinstance(error, AuthenticationError) else "the AI/ML API account is out of credits"
        return ServiceUnavailable(
            "The bot is not available right now. Nothing was charged; please try again later.",
            f"The video service refused the bot: {what}. Please check the AI/ML API account. Nothing was charged.",
        )
    if isinstance(error, BadRequestError):
        return InputError(f"The video service did not accept that request: {error.message}. Nothing was charged.")
    if isinstance(error, UnsupportedByDialect):
        return InputError(f"{error.message} Nothing was charged.")
    if isinstance(error, RateLimitError):
        return InputError("The video service is busy right now. Nothing was charged; please try again in a minute.")
    if error.maybe_accepted:
        return InputError("The video service did not confirm the request. Nothing was charged; please try again.")
    if isinstance(error, APIConnectionError):
        return InputError("The video service can't be reached right now. Nothing was charged; please try again later.")
    return InputError("The video service had trouble with that request. Nothing was charged; please try again later.")
