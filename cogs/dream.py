"""What members touch: /dream, /extend, the "Extend this clip" menu, replies and buttons.

The cog stays thin: it reads the interaction, answers inside Discord's 3-second window
(an ephemeral defer), and hands the work to `DreamService`. Every refusal is ephemeral
and costs nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Literal

import discord
import pydantic
from discord import app_commands
from discord.ext import commands

from bot import texts
from bot.api import DURATIONS, RESOLUTIONS, VideoOptions
from bot.api.catalog import models_for
from bot.services.dreams import InDoubt, Kind, Requester, ServiceUnavailable
from bot.services.inputs import MAX_PROMPT_CHARS, InputError, check_image, clean_prompt
from bot.tree import SOMETHING_WENT_WRONG, answer_unexpected, send_ephemeral
from cogs.views import DYNAMIC_ITEMS, PromptModal
from storage import Generation, ReserveRefused

if TYPE_CHECKING:
    from bot.client import DreamBot
    from cogs.clips import ClipsCog

log = logging.getLogger(__name__)

AspectChoice = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"]
Prompt = app_commands.Range[str, 1, MAX_PROMPT_CHARS]
# A refusal to a plain reply can't be ephemeral; it removes itself after this long instead.
REPLY_ERROR_SECONDS = 30


def offer_dialect_choices(command: app_commands.Command, dialect: str) -> None:
    """Give /dream the configured dialect's current models, and only the resolutions, lengths
    and switches some of them have (each is still checked against the chosen model).

    The choices depend on a setting, so they can't be written as Literals; the cog's own copy
    of the command gets fresh parameter objects (the class's copy is shared)."""
    specs = models_for(dialect)
    params = command._params
    if not specs:
        for name in ("model", "resolution", "duration", "loop", "hdr"):
            params.pop(name, None)
        return
    resolutions = [r for r in RESOLUTIONS if any(r in spec.resolutions for spec in specs)]
    durations = [d for d in DURATIONS if any(d in spec.durations for spec in specs)]
    params["model"] = dataclasses.replace(
        params["model"], choices=[app_commands.Choice(name=spec.label, value=spec.name) for spec in specs])
    params["resolution"] = dataclasses.replace(
        params["resolution"], choices=[app_commands.Choice(name=r, value=r) for r in resolutions])
    params["duration"] = dataclasses.replace(
        params["duration"], choices=[app_commands.Choice(name=f"{d} seconds", value=d) for d in durations])
    for name, has in (("loop", lambda spec: spec.loop), ("hdr", lambda spec: spec.hdr)):
        if not any(has(spec) for spec in specs):
            params.pop(name, None)


class DreamCog(commands.Cog):
    def __init__(self, bot: DreamBot) -> None:
        self.bot = bot
        offer_dialect_choices(self.dream, bot.settings.aimlapi_dialect)
        # Its failures, like every command's, are answered by the tree (bot/tree.py).
        self.extend_menu = app_commands.ContextMenu(name="Extend this clip", callback=self.extend_from_menu)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.extend_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.extend_menu.name, type=self.extend_menu.type)

    @property
    def clips(self) -> ClipsCog:
        return self.bot.get_cog("ClipsCog")  # type: ignore[return-value]

    # Commands ---------------------------------------------------------------------

    @app_commands.command(name="dream", description="Make a short AI video from a prompt")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What should happen in the clip?",
        aspect_ratio="Shape of the video (default 16:9)",
        model="Which video model (each has its own price, resolutions and lengths)",
        resolution="Video resolution (higher costs more)",
        duration="Length in seconds (the price is per second)",
        loop="Make the clip loop seamlessly",
        hdr="HDR output (ray-3.2, 5 s clips at 720p or 1080p)",
        start_image="An image for the first frame",
        end_image="An image for the last frame",
    )
    async def dream(
        self,
        interaction: discord.Interaction,
        prompt: Prompt,
        aspect_ratio: AspectChoice | None = None,
        model: str | None = None,
        resolution: str | None = None,
        duration: int | None = None,
        loop: bool | None = None,
        hdr: bool | None = None,
        start_image: discord.Attachment | None = None,
        end_image: discord.Attachment | None = None,
    ) -> None:
        try:
            for image in (start_image, end_image):
                if image is not None:
                    check_image(image.filename, image.content_type, image.size)
            options = VideoOptions(model=model, aspect_ratio=aspect_ratio, resolution=resolution, duration=duration,
                                   loop=loop, hdr=hdr, start_image_url=start_image.url if start_image else None,
                                   end_image_url=end_image.url if end_image else None)
        except pydantic.ValidationError:
            # Only a stale client (commands synced for another dialect) can send a value no model takes.
            await self._refuse(interaction, "One of those options isn't offered here any more; please pick from "
                                            "the list. Nothing was charged.")
            return
        except InputError as error:
            await self._refuse(interaction, str(error))
            return
        kind: Kind = "image_to_video" if start_image or end_image else "dream"
        await self.request(interaction, prompt, options, kind=kind)

    @app_commands.command(name="extend", description="Continue a finished clip, or lead into it")
    @app_commands.guild_only()
    @app_commands.describe(clip="The clip to extend (start typing to pick one)", prompt="What happens in the new part?",
                           direction="forward: continue after the clip; backward: lead into it")
    async def extend(self, interaction: discord.Interaction, clip: int, prompt: Prompt,
                     direction: Literal["forward", "backward"] = "forward") -> None:
        kind: Kind = "extend_forward" if direction == "forward" else "extend_backward"
        await self.request(interaction, prompt, VideoOptions(), kind=kind, parent_id=clip)

    @extend.autocomplete("clip")
    async def clip_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """The member's own and this channel's recent finished clips, newest first."""
        if interaction.guild_id is None:
            return []
        mine = await self.bot.store.recent(interaction.guild_id, user_id=interaction.user.id, status="completed", limit=15)
        here = await self.bot.store.recent(interaction.guild_id, channel_id=interaction.channel_id, status="completed", limit=15)
        seen: dict[int, Generation] = {}
        for generation in [*mine, *here]:
            seen.setdefault(generation.id, generation)
        needle = current.strip().lstrip("#").lower()
        choices = []
        for generation in seen.values():
            if needle and needle not in f"#{generation.id} · {generation.prompt}".lower():
                continue
            # 1-100 characters, one line: Discord refuses the whole answer otherwise.
            choices.append(app_commands.Choice(name=texts.clip_choice_name(generation), value=generation.id))
        return choices[:25]

    async def extend_from_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        # A post not recorded yet (see `_replied_clip`) is recognised by its author and footer.
        generation = await self.bot.store.by_message(message.id) or await self.clips.clip_of_post(message)
        if generation is None:
            await self._refuse(interaction, "That message is not one of my clips.")
            return
        await self.open_extend_modal(interaction, generation.id, backward=False)

    # Buttons and modals ---------------------------------------------------------------

    async def open_extend_modal(self, interaction: discord.Interaction, generation_id: int, *, backward: bool) -> None:
        await PromptModal(generation_id, backward=backward).send(interaction)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every extend-modal submit, opened by this process or one before a restart.

        The modal is never kept in discord.py's modal store (`PromptModal.send`), so this is
        its only handler: each submit is handled once."""
        submission = PromptModal.submission(interaction)
        if submission is None:
            return
        kind: Kind = "extend_backward" if submission.backward else "extend_forward"
        try:
            await self.request(interaction, submission.prompt, VideoOptions(), kind=kind,
                               parent_id=submission.generation_id)
        except Exception as error:
            await self.report_unexpected(interaction, error)

    async def reroll(self, interaction: discord.Interaction, generation_id: int) -> None:
        # Acknowledged before the clip is read: the store may be busy, Discord waits 3 s at most.
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = await self.bot.store.get(generation_id)
        if source is None or source.guild_id != interaction.guild_id:
            await self._refuse(interaction, f"I can't find clip #{generation_id} in this server.")
            return
        options = await self.bot.dreams.reroll_options(source)
        await self.request(interaction, source.prompt, options, kind="reroll", parent_id=None, source=source)

    # Replies ---------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A reply to one of the bot's clip posts extends that clip forward with the reply as prompt."""
        if message.author.bot or message.guild is None or message.reference is None or not message.reference.message_id:
            return
        if not self.bot.intents.message_content:
            # MESSAGE_CONTENT_INTENT=false: Discord sends replies without their text; not read.
            return
        parent = await self._replied_clip(message, message.reference.message_id)
        if parent is None:
            return
        requester = Requester(message.guild.id, message.channel.id, message.author.id,
                              await self.bot.is_moderator(message.author))
        try:
            checked = await self.bot.dreams.check_parent(requester, parent.id)
            generation = await self.bot.dreams.start(requester, message.content, VideoOptions(),
                                                     kind="extend_forward", parent=checked)
        except InDoubt as doubt:
            await message.reply(texts.in_doubt_text(doubt.generation), mention_author=False)
            await self.clips.post_status(doubt.generation, message.channel, reference=message)
            return
        except Exception as error:  # every refusal gets words, nothing is charged
            text = self._refusal_text(error, requester)
            # No ping: a mention in a message that deletes itself is a ghost ping. Only result posts ping.
            await message.reply(text, delete_after=REPLY_ERROR_SECONDS, mention_author=False)
            return
        await self.clips.post_status(generation, message.channel, reference=message)

    async def _replied_clip(self, message: discord.Message, replied_id: int) -> Generation | None:
        """The clip whose result post `message` replies to; None for a reply to anything else.

        The store knows a post once `publish` has recorded it, which is only after Discord
        answered the post: a member can reply sooner. Then the replied-to message itself is
        the proof: written by this bot and carrying the clip's result footer."""
        parent = await self.bot.store.by_message(replied_id)
        if parent is not None:
            return parent if parent.result_message_id == replied_id else None  # not its status message
        replied = message.reference.resolved if message.reference else None
        if replied is None:  # Discord did not load it (a deleted one arrives as DeletedReferencedMessage)
            try:
                replied = await message.channel.fetch_message(replied_id)
            except discord.HTTPException:
                return None
        if not isinstance(replied, discord.Message):
            return None
        return await self.clips.clip_of_post(replied)

    # The common path ---------------------------------------------------------------

    async def request(self, interaction: discord.Interaction, prompt: str, options: VideoOptions, *, kind: Kind,
                      parent_id: int | None = None, source=None) -> None:
        """Answer at once, then reserve and submit; tell the member the outcome ephemerally.

        Nothing before the defer touches the store: it may be waiting for another process's
        write lock, and Discord drops an interaction not answered within 3 s."""
        try:
            clean_prompt(prompt)  # cheap checks first, so a typo gets an instant answer
            self.bot.dreams.check_options(options)
        except InputError as error:
            await self._refuse(interaction, str(error))
            return
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        requester = await self._requester(interaction)
        try:
            parent = source
            if parent_id is not None:
                parent = await self.bot.dreams.check_parent(requester, parent_id, backward=kind == "extend_backward")
            generation = await self.bot.dreams.start(requester, prompt, options, kind=kind, parent=parent)
        except InDoubt as doubt:
            # The reserve stays: the clip may exist. It is posted, or refunded, when the logs say.
            await interaction.followup.send(texts.in_doubt_text(doubt.generation), ephemeral=True)
            if interaction.channel is not None:
                await self.clips.post_status(doubt.generation, interaction.channel)
            return
        except (InputError, ReserveRefused, ServiceUnavailable) as error:
            await interaction.followup.send(self._refusal_text(error, requester), ephemeral=True)
            return
        text = texts.accepted_text(generation)
        if kind == "reroll":
            text = f"Re-rolling clip #{parent.id}: this is a new clip and is charged again. " + text  # type: ignore[union-attr]
        try:
            await interaction.followup.send(text, ephemeral=True)
        except discord.HTTPException:
            # The clip is reserved and on its way: a lost confirmation must not skip its status message,
            # nor turn into "something went wrong, nothing was charged", which would be untrue.
            log.warning("could not confirm clip %s to user %s", generation.id, requester.user_id, exc_info=True)
        if interaction.channel is not None:
            await self.clips.post_status(generation, interaction.channel)

    async def _requester(self, interaction: discord.Interaction) -> Requester:
        return Requester(interaction.guild_id, interaction.channel_id or 0, interaction.user.id,
                         await self.bot.interaction_is_moderator(interaction))

    def _refusal_text(self, error: Exception, requester: Requester) -> str:
        if isinstance(error, ReserveRefused):
            return texts.refusal(error, self.bot.quoter.typical())
        if isinstance(error, ServiceUnavailable):
            return error.text_for(requester)
        if isinstance(error, InputError):
            return str(error)
        log.error("unexpected error while requesting a clip", exc_info=error)
        return SOMETHING_WENT_WRONG

    async def _refuse(self, interaction: discord.Interaction, text: str) -> None:
        await send_ephemeral(interaction, text)

    async def report_unexpected(self, interaction: discord.Interaction, error: Exception) -> None:
        """For modals and buttons, which the tree's error handler never sees."""
        await answer_unexpected(interaction, error)


async def setup(bot: DreamBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(DreamCog(bot))
