"""Buttons on finished clips and the prompt modal, built to work after a restart.

Each button is a `DynamicItem` whose custom_id carries the clip id, registered once with
`bot.add_dynamic_items`, so a click on a week-old message still finds its handler. The
modal's custom_id carries the clip and direction the same way (see `PromptModal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.services.inputs import MAX_PROMPT_CHARS

if TYPE_CHECKING:
    from cogs.dream import DreamCog


def _dream_cog(interaction: discord.Interaction) -> DreamCog:
    cog = interaction.client.get_cog("DreamCog")  # type: ignore[union-attr]
    assert cog is not None, "the dream cog is not loaded"
    return cog  # type: ignore[return-value]


# The extend modal's custom_id says which clip and which way; its one field's id never changes.
MODAL_TEMPLATE = re.compile(r"dream:extend-modal:(?P<way>fwd|back):(?P<id>[0-9]+)")
PROMPT_FIELD_ID = "dream:extend-modal:prompt"


@dataclass(frozen=True)
class ExtendSubmission:
    """A submitted extend modal, read from the interaction alone."""

    generation_id: int
    backward: bool
    prompt: str


class PromptModal(discord.ui.Modal):
    """The prompt form of an extension: a form only, never a live handler.

    discord.py matches a modal submit by the exact custom_id of a modal object kept in
    memory, so a modal opened before a restart (or a timeout) would go unanswered. Instead
    the opener sends this and `stop()`s it at once (`send`), and the dream cog's
    `on_interaction` listener handles every submission whose custom_id matches
    `MODAL_TEMPLATE`, through `submission()`: one path, whichever process opened it.
    """

    prompt: discord.ui.Label = discord.ui.Label(
        text="What happens next?",
        component=discord.ui.TextInput(custom_id=PROMPT_FIELD_ID, style=discord.TextStyle.paragraph,
                                       placeholder="Describe the continuation", max_length=MAX_PROMPT_CHARS),
    )

    def __init__(self, generation_id: int, *, backward: bool) -> None:
        title = f"Lead into clip #{generation_id}" if backward else f"Extend clip #{generation_id}"
        way = "back" if backward else "fwd"
        super().__init__(title=title[:45], custom_id=f"dream:extend-modal:{way}:{generation_id}", timeout=None)

    async def send(self, interaction: discord.Interaction) -> None:
        """Show the form. Stopped right after, so discord.py's modal store never holds it and the
        listener is the only handler of its submission (no await between storing and stopping)."""
        try:
            await interaction.response.send_modal(self)
        finally:
            self.stop()

    @staticmethod
    def submission(interaction: discord.Interaction) -> ExtendSubmission | None:
        """The clip, direction and prompt of an extend-modal submit; None for any other interaction."""
        if interaction.type is not discord.InteractionType.modal_submit or not interaction.data:
            return None
        match = MODAL_TEMPLATE.fullmatch(str(interaction.data.get("custom_id", "")))
        if match is None:
            return None
        prompt = _submitted_value(interaction.data.get("components", []), PROMPT_FIELD_ID)  # type: ignore[arg-type]
        return ExtendSubmission(int(match["id"]), match["way"] == "back", prompt or "")


def _submitted_value(components: list[dict[str, Any]], custom_id: str) -> str | None:
    """A text input's value in a modal submit: inside action rows (type 1) or labels (type 18)."""
    for component in components:
        inner = component.get("components") or ([component["component"]] if component.get("component") else [])
        if inner:
            found = _submitted_value(inner, custom_id)
            if found is not None:
                return found
        elif component.get("custom_id") == custom_id:
            return component.get("value")
    return None


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
