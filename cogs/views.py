"""Buttons on finished clips and the prompt modal, built to work after a restart.

Each button is a `DynamicItem` whose custom_id carries the clip id, registered once with
`bot.add_dynamic_items`, so a click on a week-old message still finds its handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

import discord

from bot.services.inputs import MAX_PROMPT_CHARS

if TYPE_CHECKING:
    from cogs.dream import DreamCog

PromptHandler = Callable[[discord.Interaction, str], Awaitable[None]]


def _dream_cog(interaction: discord.Interaction) -> DreamCog:
    cog = interaction.client.get_cog("DreamCog")  # type: ignore[union-attr]
    assert cog is not None, "the dream cog is not loaded"
    return cog  # type: ignore[return-value]


class PromptModal(discord.ui.Modal):
    """Asks for the prompt of an extension; hands it to `on_prompt`."""

    prompt: discord.ui.TextInput = discord.ui.TextInput(
        label="What happens next?", style=discord.TextStyle.paragraph,
        placeholder="Describe the continuation", max_length=MAX_PROMPT_CHARS,
    )

    def __init__(self, title: str, on_prompt: PromptHandler) -> None:
        super().__init__(title=title, timeout=900)
        self._on_prompt = on_prompt

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_prompt(interaction, self.prompt.value)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await _dream_cog(interaction).report_unexpected(interaction, error)


class ExtendButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dream:extend:(?P<way>fwd|back):(?P<id>[0-9]+)"):
    def __init__(self, generation_id: int, way: str = "fwd") -> None:
        label = "Extend" if way == "fwd" else "Extend backward"
        emoji = "⏩" if way == "fwd" else "⏪"
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=discord.ButtonStyle.primary,
                                           custom_id=f"dream:extend:{way}:{generation_id}"))
        self.generation_id = generation_id
        self.way = way

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> ExtendButton:
        return cls(int(match["id"]), match["way"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _dream_cog(interaction).open_extend_modal(interaction, self.generation_id, backward=self.way == "back")


class RerollButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dream:reroll:(?P<id>[0-9]+)"):
    def __init__(self, generation_id: int) -> None:
        super().__init__(discord.ui.Button(label="Re-roll (costs a clip)", emoji="🎲",
                                           style=discord.ButtonStyle.secondary,
                                           custom_id=f"dream:reroll:{generation_id}"))
        self.generation_id = generation_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> RerollButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await _dream_cog(interaction).reroll(interaction, self.generation_id)


def clip_view(generation_id: int, *, backward: bool = True) -> discord.ui.View:
    """The buttons under a finished clip."""
    view = discord.ui.View(timeout=None)
    view.add_item(ExtendButton(generation_id, "fwd"))
    if backward:
        view.add_item(ExtendButton(generation_id, "back"))
    view.add_item(RerollButton(generation_id))
    return view


DYNAMIC_ITEMS = (ExtendButton, RerollButton)
