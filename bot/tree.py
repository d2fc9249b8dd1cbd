"""One error path for every slash command and context menu (RoboDanny style).

discord.py runs a cog's ``cog_app_command_error`` *and then* the tree's ``on_error`` for
the same failure, so two handlers that both answer make the second one a double
acknowledgement (Discord: 40060). Only the tree answers here; views and modals, which
the tree never sees, call :func:`answer_unexpected` from their own ``on_error``.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong on my side. Nothing was charged; please try again."
SERVER_ONLY = "Clips are made in servers, not in direct messages."


def command_name(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "-"


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer, or follow up when the interaction was already answered (deferred, refused)."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def answer_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """`send_ephemeral` for an error path: a failure to tell the member is logged, not raised."""
    try:
        await send_ephemeral(interaction, text)
    except discord.HTTPException:
        # Too late (10062) or Discord is down: the failure is logged already, nothing more to do.
        log.debug("could not tell user %s about an error", interaction.user.id, exc_info=True)


async def answer_unexpected(interaction: discord.Interaction, error: BaseException, text: str = SOMETHING_WENT_WRONG) -> None:
    """Log the failure once, with its traceback, and tell the member politely."""
    log.error("interaction failed (guild %s, user %s, command %s)", interaction.guild_id, interaction.user.id,
              command_name(interaction), exc_info=error)
    await answer_ephemeral(interaction, text)


def unexpected_text(interaction: discord.Interaction) -> str:
    """A cog may word the apology for its own commands (`unexpected_error_text`), e.g. when
    "nothing was charged" would not be the point."""
    binding = getattr(interaction.command, "binding", None)
    return getattr(binding, "unexpected_error_text", SOMETHING_WENT_WRONG)


def expected_text(error: app_commands.AppCommandError) -> str | None:
    """The answer for a failure that is the member's input or context, not a bug (None: a bug)."""
    if isinstance(error, app_commands.NoPrivateMessage):
        return SERVER_ONLY
    if isinstance(error, app_commands.TransformerError):
        return f"That value doesn't fit: {discord.utils.escape_mentions(str(error))}"
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        # A check that refused has answered the member itself (see cogs' interaction_check).
        return ""
    return None


class DreamTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        text = expected_text(error)
        if text is None:
            await answer_unexpected(interaction, getattr(error, "original", error), unexpected_text(interaction))
        elif text:
            log.info("refused %s to user %s: %s", command_name(interaction), interaction.user.id, type(error).__name__)
            await answer_ephemeral(interaction, text)
