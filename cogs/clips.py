"""The poller's Discord end: status messages, progress edits, and the post of each finished clip.

Posting is exactly-once across restarts: the store records the post; before a retry we
look for a post we made but did not record (the footer marker), and Discord's enforced
nonce drops a duplicate sent within a few minutes. Results go out with `channel.send`,
never an interaction followup (those die after 15 minutes).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import texts
from bot.api import JobStatus, VideoJob
from bot.services.poller import Poller
from bot.services.posting import Undeliverable
from bot.services.reconciler import Reconciler
from cogs.views import clip_view
from storage import Generation

if TYPE_CHECKING:
    from bot.client import DreamBot

log = logging.getLogger(__name__)

# A running clip's status message is edited at most this often (Discord allows ~5 edits / 5 s per channel).
PROGRESS_EDIT_SECONDS = 15.0
# All status edits together, per second, so 1,000 running clips never flood the API.
EDITS_PER_SECOND = 4.0
# Messages to look back through for a post we made but did not record.
HISTORY_LOOKBACK = 300
# The clip number in a footer marker (`texts.footer`); a match is then checked against the whole marker.
_CLIP_NUMBER = re.compile(r"#([0-9]{1,18})\b")


def _progress_state(status: str) -> str:
    """The editor's name for a stored status ("submitted" shows as queued)."""
    return "running" if status == "running" else "queued"


class StatusEditor:
    """Coalesces status edits (latest wins) and sends them at a steady, bounded pace."""

    def __init__(self, bot: DreamBot) -> None:
        self.bot = bot
        self._pending: dict[int, tuple[Generation, str]] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dreambot-status-editor")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def offer(self, generation: Generation, state: str, now: float) -> None:
        """Queue an edit if the state changed or the elapsed time is worth refreshing."""
        if not generation.status_message_id:
            # Not posted yet (the poller can look before the status message exists): recording this
            # state as shown would hide it until the next 15 s refresh.
            return
        last_state, last_at = self._last.get(generation.id, ("", 0.0))
        if state == last_state and now - last_at < PROGRESS_EDIT_SECONDS:
            return
        self._last[generation.id] = (state, now)
        self._pending[generation.id] = (generation, state)
        self._wake.set()

    def shown(self, generation_id: int, state: str, now: float) -> None:
        """A status message was just posted in this state: no edit needed to say it again."""
        self._last[generation_id] = (state, now)

    def forget(self, generation_id: int) -> None:
        self._pending.pop(generation_id, None)
        self._last.pop(generation_id, None)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                generation_id = next(iter(self._pending))
                generation, state = self._pending.pop(generation_id)
                try:
                    await self._edit(generation, state)
                except Exception:
                    log.warning("status edit of clip %s failed", generation_id, exc_info=True)
                await asyncio.sleep(1 / EDITS_PER_SECOND)

    async def _edit(self, generation: Generation, state: str) -> None:
        if not generation.status_message_id:
            return
        channel = self.bot.get_partial_messageable(generation.channel_id)
        content, embed = texts.status_message(generation, state, eta=self.eta(generation))
        await channel.get_partial_message(generation.status_message_id).edit(content=content, embed=embed)

    def eta(self, generation: Generation) -> float | None:
        cog = self.bot.get_cog("ClipsCog")
        return cog.poller.eta(generation) if cog is not None else None  # type: ignore[attr-defined]


def longest_create(bot: DreamBot) -> float:
    """How long one create may take with its retries: an unmarked row older than this has no sender."""
    retry = bot.api.retry
    return max(120.0, bot.api.timeout * retry.max_attempts + retry.max_retry_after * (retry.max_attempts - 1))


class ClipsCog(commands.Cog):
    def __init__(self, bot: DreamBot) -> None:
        self.bot = bot
        self.editor = StatusEditor(bot)
        self.poller = Poller(
            bot.store, bot.api, self,
            schedule=bot.poll_schedule(),
            job_timeout=bot.settings.job_timeout_minutes * 60,
            # One fetch with the client's own retries; past this it is looked at again later.
            fetch_deadline=bot.api.timeout * 2,
            default_model=bot.settings.default_model,
            heartbeat_path=bot.settings.heartbeat_path,
        )
        # Clips whose last post got a definite refusal from Discord: nothing was posted, so the
        # next attempt need not read the channel's history looking for it.
        self._surely_unposted: set[int] = set()
        self.reconciler = Reconciler(
            bot.store, bot.api, self,
            give_up_after=bot.settings.reconcile_give_up_minutes * 60,
            stale_after=longest_create(bot),
            requests_per_minute=bot.settings.logs_requests_per_minute,
            interval=max(1.0, bot.settings.poll_interval_seconds * 4),
            in_flight=lambda: bot.dreams.in_flight,
            on_found=self.poller.wake,
        )
        self._starter: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.dreams.on_submitted = self.poller.wake
        self.bot.dreams.on_in_doubt = self.reconciler.wake
        self.editor.start()
        # Posting needs the channel cache, so the loop waits for the gateway to be ready.
        self._starter = asyncio.create_task(self._start_when_ready())

    async def _start_when_ready(self) -> None:
        await self.bot.wait_until_ready()
        self.poller.start()
        self.reconciler.start()

    async def cog_unload(self) -> None:
        if self._starter:
            self._starter.cancel()
        await self.reconciler.stop()
        await self.poller.stop()
        await self.editor.stop()

    # Status messages -----------------------------------------------------------------

    async def post_status(self, generation: Generation, channel: discord.abc.Messageable,
                          reference: discord.Message | None = None) -> None:
        """The public message that follows a clip from request to result."""
        content, embed = texts.status_message(generation, generation.status, eta=self.poller.eta(generation))
        try:
            message = await channel.send(content, embed=embed, reference=reference, mention_author=False)
        except discord.HTTPException:
            log.warning("could not post the status message of clip %s (channel %s)", generation.id,
                        generation.channel_id, exc_info=True)
            return
        self.editor.shown(generation.id, _progress_state(generation.status), time.time())
        await self.bot.store.set_status_message(generation.id, message.channel.id, message.id)

    # Publisher (called by the poller) ------------------------------------------------

    async def show_progress(self, generation: Generation, job: VideoJob) -> None:
        state = "running" if job.status is JobStatus.RUNNING else "queued"
        self.editor.offer(generation, state, time.time())

    async def show_abandoned(self, generation: Generation) -> None:
        if not generation.status_message_id:
            return
        text = texts.abandoned_message(generation)
        try:
            await self.bot.get_partial_messageable(generation.channel_id).get_partial_message(
                generation.status_message_id).edit(content=text, embed=None)
        except discord.HTTPException:
            log.warning("could not update the status of abandoned clip %s", generation.id)

    async def publish(self, generation: Generation) -> None:
        """Post a finished clip once and record it. Raises Undeliverable when Discord refuses the
        post itself (a 400: the same post would be refused again), anything else to be retried."""
        self.editor.forget(generation.id)
        if generation.post_attempts > 0 and generation.id not in self._surely_unposted:
            # An earlier attempt may have gone through unrecorded (a crash, a lost answer).
            found = await self._find_earlier_post(generation)
            if found is not None:
                await self.bot.store.mark_posted(generation.id, found.channel.id, found.id)
                # The crash came before the status message was finished: finish it now, or it says "queued" forever.
                await self._finish_status(generation)
                return
        await self.bot.store.bump_post_attempts(generation.id)
        try:
            message = await self._post_in_channel(generation) or await self._post_by_dm(generation)
        except discord.HTTPException as error:
            if error.status < 500:
                self._surely_unposted.add(generation.id)  # Discord answered: it made no message
            if error.status < 500 and error.status != 429:
                raise Undeliverable(f"Discord refused the post: HTTP {error.status}, code {error.code}") from error
            raise
        self._surely_unposted.discard(generation.id)
        if message is None:
            # Retrying changes nothing until someone reopens the channel: moderators see it listed.
            self._surely_unposted.add(generation.id)  # both refusals were Discord's own answers
            raise Undeliverable("the channel is gone or closed to the bot, and the member's DMs are closed")
        await self.bot.store.mark_posted(generation.id, message.channel.id, message.id)
        log.info("clip %s posted (guild %s, user %s, message %s)", generation.id, generation.guild_id,
                 generation.user_id, message.id)
        await self._finish_status(generation)

    def _result(self, generation: Generation) -> dict:
        content, embed = texts.result_message(generation)
        kwargs: dict = {"content": content, "embed": embed,
                        # Only the member who asked is pinged, whatever the prompt contains.
                        "allowed_mentions": discord.AllowedMentions(everyone=False, roles=False,
                                                                    users=[discord.Object(generation.user_id)])}
        if generation.status == "completed":
            kwargs["view"] = clip_view(generation.id, backward=self.bot.api.capabilities.backward_extend)
        return kwargs

    async def _post_in_channel(self, generation: Generation) -> discord.Message | None:
        channel = self.bot.get_partial_messageable(generation.channel_id, guild_id=generation.guild_id)
        reference = None
        if generation.status_message_id:
            reference = discord.MessageReference(message_id=generation.status_message_id,
                                                 channel_id=generation.channel_id, fail_if_not_exists=False)
        try:
            return await channel.send(**self._result(generation), reference=reference,
                                      nonce=f"dreambot-{generation.id}")
        except (discord.NotFound, discord.Forbidden):
            log.warning("channel %s of clip %s is gone or closed to the bot; trying a DM", generation.channel_id,
                        generation.id)
            return None

    async def _post_by_dm(self, generation: Generation) -> discord.Message | None:
        try:
            # Opening the DM needs only the id: no user fetch (members are not cached without that intent).
            dm = await self.bot.create_dm(discord.Object(generation.user_id))
            kwargs = self._result(generation)
            kwargs["content"] = "The channel of this clip is gone, so here it is.\n" + kwargs["content"]
            return await dm.send(**kwargs, nonce=f"dreambot-{generation.id}")
        except (discord.NotFound, discord.Forbidden):
            return None

    async def _find_earlier_post(self, generation: Generation) -> discord.Message | None:
        """A post we sent before a crash but did not record, found by its footer marker."""
        channel = self.bot.get_partial_messageable(generation.channel_id, guild_id=generation.guild_id)
        # Results are posted after the status message, or at least after the clip finished.
        finished = generation.completed_at or generation.failed_at or generation.requested_at
        after = discord.Object(generation.status_message_id or discord.utils.time_snowflake(
            datetime.fromtimestamp(finished, timezone.utc)))
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK, after=after):
                if self.is_result_post(message, generation):
                    return message
        except discord.HTTPException:
            return None
        return None

    def is_result_post(self, message: discord.Message, generation: Generation) -> bool:
        """The result post of `generation`: written by this bot, in the clip's channel, with its footer marker."""
        mine = self.bot.user is not None and message.author.id == self.bot.user.id
        marker = texts.footer(generation)
        return (mine and message.channel.id == generation.channel_id
                and any(e.footer and e.footer.text == marker for e in message.embeds))

    async def clip_of_post(self, message: discord.Message) -> Generation | None:
        """The clip `message` is the result post of, whether or not the post is recorded yet."""
        for embed in message.embeds:
            found = _CLIP_NUMBER.search(embed.footer.text or "")
            generation = await self.bot.store.get(int(found[1])) if found else None
            if generation is not None and self.is_result_post(message, generation):
                return generation
        return None

    async def _finish_status(self, generation: Generation) -> None:
        refreshed = await self.bot.store.get(generation.id)
        if refreshed is None or not refreshed.status_message_id:
            return
        content, embed = texts.finished_status(refreshed)
        try:
            await self.bot.get_partial_messageable(refreshed.channel_id).get_partial_message(
                refreshed.status_message_id).edit(content=content, embed=embed)
        except discord.HTTPException:
            pass  # the status message is a courtesy; the result is already posted


async def setup(bot: DreamBot) -> None:
    await bot.add_cog(ClipsCog(bot))
