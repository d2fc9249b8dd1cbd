"""Turning a member's request into a reserved, submitted generation — or a polite refusal.

The order matters for money: price the exact options, reserve that (atomic in the store,
so caps hold under a burst), then send to the API once with the generation's own
X-Client-Request-Id, then record the API's id. If the API refuses, the reserve is refunded
at once. If we cannot be sure it took the request (the answer was lost), the generation is
"in doubt": the reserve stays and the reconciler looks it up in the provider's logs.
"""

from __future__ import annotations

import asyncio
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
from bot.api.catalog import has_model_choice
from bot.services.inputs import InputError, clean_prompt
from bot.services.quotes import Price, Quoter
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


class InDoubt(Exception):
    """The create went out but its answer was lost: the clip is being looked up, not refunded."""

    def __init__(self, generation: Generation) -> None:
        super().__init__(f"generation {generation.id} is in doubt")
        self.generation = generation


class DreamService:
    def __init__(self, store: Store, api: VideoAPI, quoter: Quoter, *, on_submitted=None, on_in_doubt=None) -> None:
        self.store = store
        self.api = api
        self.quoter = quoter
        # Called after a job is accepted, so the poller looks at once (it wakes itself otherwise).
        self.on_submitted = on_submitted
        # Called when a create's answer was lost, so the reconciler looks at once.
        self.on_in_doubt = on_in_doubt
        # Generations this process is sending right now: not the reconciler's to look up.
        self.in_flight: set[int] = set()

    def check_options(self, options: VideoOptions, *, extending: bool = False) -> Price:
        """Refuse options the chosen model cannot make, before anything is reserved; the price."""
        return self.quoter.price(options, extending=extending)

    def extend_options(self, parent: Generation, options: VideoOptions | None = None) -> VideoOptions:
        """An extension is made with the model of the clip it extends, unless one was chosen."""
        options = options or VideoOptions()
        if options.model is None and parent.model and has_model_choice(self.api.dialect.name):
            options = options.model_copy(update={"model": parent.model})
        return options

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
        ServiceUnavailable (nothing stays charged) or InDoubt (the reserve stays while the
        provider's logs are searched; it is posted or refunded later)."""
        prompt = clean_prompt(prompt)
        extending = kind in ("extend_forward", "extend_backward")
        if parent is not None and extending:
            options = self.extend_options(parent, options)
        price = self.check_options(options, extending=extending)
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
            model=price.model,
            options=options.model_dump(exclude_none=True),
            dialect=self.api.dialect.name,
            parent_id=parent.id if parent else None,
            cost=price.credits,
            price_text=price.text,
        )
        self.in_flight.add(generation.id)
        try:
            try:
                job = await self._submit(prompt, options, kind, parent, generation.client_request_id)
            except VideoAPIError as error:
                if error.maybe_accepted:
                    raise await self._in_doubt(generation, error) from error
                await self.store.reject(generation.id, _reason(error))
                log.warning("generation %s refused by the API (%s; guild %s, user %s)", generation.id,
                            type(error).__name__, requester.guild_id, requester.user_id)
                raise _explain(error) from error
            except asyncio.CancelledError:
                # Cancelled while the create may already be on the wire: look it up, never refund blind.
                await self.store.mark_in_doubt(generation.id)
                raise
            except Exception:
                # A bug before or while building the request: nothing that could be billed was sent.
                await self.store.reject(generation.id, "The request could not be sent.")
                raise
            await self.store.mark_submitted(generation.id, job.id)
        finally:
            self.in_flight.discard(generation.id)
        log.info("generation %s submitted as %s (guild %s, user %s, kind %s)", generation.id, job.id,
                 requester.guild_id, requester.user_id, kind)
        if self.on_submitted is not None:
            self.on_submitted()
        refreshed = await self.store.get(generation.id)
        assert refreshed is not None
        return refreshed

    async def _in_doubt(self, generation: Generation, error: VideoAPIError) -> InDoubt:
        await self.store.mark_in_doubt(generation.id)
        log.warning("generation %s: the create's answer was lost (%s); looking it up in the provider's logs",
                    generation.id, type(error).__name__)
        if self.on_in_doubt is not None:
            self.on_in_doubt()
        refreshed = await self.store.get(generation.id)
        return InDoubt(refreshed or generation)

    async def _submit(self, prompt: str, options: VideoOptions, kind: Kind, parent: Generation | None,
                      client_request_id: str | None):
        if kind == "reroll" and parent is not None:
            parent, kind = await self._reroll_target(parent)
        if kind in ("extend_forward", "extend_backward") and parent is not None:
            direction = "forward" if kind == "extend_forward" else "backward"
            return await self.api.extend(parent.api_id or "", prompt, direction, options,
                                         client_request_id=client_request_id)
        return await self.api.create(prompt, options, client_request_id=client_request_id)

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
    if isinstance(error, APIConnectionError):
        return InputError("The video service can't be reached right now. Nothing was charged; please try again later.")
    return InputError("The video service had trouble with that request. Nothing was charged; please try again later.")
