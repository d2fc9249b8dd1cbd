"""Who may run which `/dreamadmin` command: the whole rule in one place, testable without Discord.

Two levels of power. Manage Server (as Discord resolves it on the interaction, so it
includes Administrator and the owner) may do everything. The moderator role that a
Manage Server member names may moderate *other, plain members* and read the reports,
but may not change anything that also binds the moderator: the server-wide cap and
limits, the role itself, their own cap or block, or another moderator's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import discord


class Access(enum.IntEnum):
    MEMBER = 0
    ROLE_MODERATOR = 1  # holds the role named with /dreamadmin role
    MANAGER = 2  # Manage Server or Administrator on the interaction


class Reason(enum.StrEnum):
    """Why a /dreamadmin call was refused; stored in the audit log as is."""

    NOT_MODERATOR = "not_moderator"
    NEEDS_MANAGE_SERVER = "needs_manage_server"
    OWN_ACCOUNT = "own_account"
    MODERATOR_TARGET = "moderator_target"
    EVERYONE_ROLE = "everyone_role"
    MANAGED_ROLE = "managed_role"


# Subcommands (without the group name) the moderator role may run as they are.
ROLE_MODERATOR_COMMANDS = frozenset({
    "cap show", "history", "report", "audit", "undelivered", "channels allow", "channels remove", "channels everywhere",
})
# Subcommands that change one member: the role may run them on a plain member who is not themselves.
# Without a member, `cap set` / `cap clear` change the server default, which binds the moderator too.
MEMBER_CHANGES = frozenset({"cap set", "cap clear", "block", "unblock"})


@dataclass(frozen=True, slots=True)
class Target:
    """The member a command acts on."""

    user_id: int
    is_moderator: bool


def refusal(command: str, access: Access, actor_id: int, target: Target | None) -> Reason | None:
    """None when `command` may run; else why not."""
    if access is Access.MANAGER:
        return None
    if access is Access.MEMBER:
        return Reason.NOT_MODERATOR
    if command in ROLE_MODERATOR_COMMANDS:
        return None
    if command in MEMBER_CHANGES and target is not None:
        if target.user_id == actor_id:
            return Reason.OWN_ACCOUNT
        if target.is_moderator:
            return Reason.MODERATOR_TARGET
        return None
    return Reason.NEEDS_MANAGE_SERVER


def role_refusal(role: discord.Role) -> Reason | None:
    """A moderator role must be one that admins hand out by hand.

    @everyone would make every member a moderator; a managed role (a bot's own, the
    Server Booster role, a linked service's) is given by Discord or an integration, not
    chosen by an admin. The role's place in the hierarchy does not matter here: the bot
    never assigns the role, it only reads who holds it.
    """
    if role.is_default():
        return Reason.EVERYONE_ROLE
    if role.managed or role.is_bot_managed() or role.is_premium_subscriber() or role.is_integration():
        return Reason.MANAGED_ROLE
    return None


def has_manage_server(permissions: discord.Permissions | None) -> bool:
    return permissions is not None and (permissions.manage_guild or permissions.administrator)


def holds_role(user: discord.abc.User | None, role_id: int | None) -> bool:
    return role_id is not None and isinstance(user, discord.Member) and any(r.id == role_id for r in user.roles)


def access_of(permissions: discord.Permissions, user: discord.abc.User, role_id: int | None) -> Access:
    """From the interaction's resolved permissions (authoritative) and the member's roles."""
    if has_manage_server(permissions):
        return Access.MANAGER
    if holds_role(user, role_id):
        return Access.ROLE_MODERATOR
    return Access.MEMBER


def target_of(user: discord.abc.User | None, role_id: int | None) -> Target | None:
    """A member given as a command option; Discord resolves their permissions in the channel."""
    if user is None:
        return None
    permissions = getattr(user, "resolved_permissions", None)
    if permissions is None and isinstance(user, discord.Member):
        permissions = user.guild_permissions
    return Target(user.id, has_manage_server(permissions) or holds_role(user, role_id))
