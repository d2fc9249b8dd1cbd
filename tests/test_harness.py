"""Proves the offline harness runs a real bot through discord.py's own code.

The bot here is a throwaway ``commands.Bot`` subclass, not dreambot: these tests are
about the harness (payload shapes, the fake's answers, error collection), so they
must not break when the real bot's features change.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.harness import DiscordHarness, FakeDiscord, HarnessError, payloads

EPHEMERAL = 64


class CounterButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"test:btn:(?P<id>\d+)"):
    """A persistent button that carries its own state, like dreambot's action buttons."""

    def __init__(self, item_id: int) -> None:
        super().__init__(discord.ui.Button(label="Go", custom_id=f"test:btn:{item_id}"))
        self.item_id = item_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CounterButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.item_id == 0:
            raise LookupError("no item 0")  # surfaces only through discord.py's view logger
        bot = interaction.client
        assert isinstance(bot, TinyBot)
        await interaction.response.send_message(f"clicked {self.item_id} by {bot.generation}", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="Your words", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"thanks for: {self.text.value}")


class FormView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Open form", custom_id="test:form")
    async def open_form(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @discord.ui.button(label="Close", custom_id="test:close")
    async def close_form(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="closed", view=None)


class TinyBot(commands.Bot):
    """Just enough bot to touch every path the harness must support."""

    def __init__(self, generation: int = 1) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.generation = generation

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CounterButton)
        self.add_view(FormView())
        self.tree.add_command(render)
        self.tree.add_command(secret)
        self.tree.add_command(post)
        self.tree.add_command(form)
        self.tree.add_command(boom)
        self.tree.add_command(dream)
        self.tree.add_command(quote)
        self.tree.add_command(dm_me)
        self.tree.add_command(upload)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content == "explode":
            raise ValueError("listener blew up")
        if message.reference is None:
            return
        await message.reply("noted", mention_author=False)


@app_commands.command(description="Render something from an image")
async def render(interaction: discord.Interaction[Any], prompt: str, count: int, image: discord.Attachment) -> None:
    await interaction.response.defer()
    data = await image.read()  # served by the fake
    await interaction.followup.send(f"{prompt} x{count} from {image.filename} ({image.content_type}, {len(data)}B)")


@app_commands.command(description="Answer only to the caller")
async def secret(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_message("hush", ephemeral=True)


@app_commands.command(description="Post a persistent button")
async def post(interaction: discord.Interaction[Any], item_id: int) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(CounterButton(item_id))
    assert isinstance(interaction.channel, discord.TextChannel)
    await interaction.channel.send(
        f"<@{interaction.user.id}> your item",
        view=view,
        allowed_mentions=discord.AllowedMentions(users=[interaction.user], everyone=False, roles=False),
    )
    await interaction.response.send_message("posted", ephemeral=True)


@app_commands.command(description="Post a form button")
async def form(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_message("fill this in", view=FormView())


@app_commands.command(description="Fail on purpose")
async def boom(interaction: discord.Interaction[Any]) -> None:
    raise RuntimeError("kaboom")


dream = app_commands.Group(name="dream", description="Dreams")
video = app_commands.Group(name="video", description="Videos", parent=dream)


async def _style_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=s, value=s) for s in ("anime", "analog", "noir") if s.startswith(current)]


@video.command(name="make", description="Make a video")
@app_commands.autocomplete(style=_style_choices)
async def video_make(interaction: discord.Interaction[Any], prompt: str, style: str, loop: bool = False) -> None:
    await interaction.response.send_message(f"making {prompt!r} style={style} loop={loop}")


@app_commands.context_menu(name="Quote")
async def quote(interaction: discord.Interaction[Any], message: discord.Message) -> None:
    await interaction.response.send_message(f"> {message.content} (by {message.author.name})")


@app_commands.command(description="DM the caller")
async def dm_me(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.defer(ephemeral=True)
    await interaction.user.send("here is your DM")
    await interaction.edit_original_response(content="sent you a DM")


@app_commands.command(description="Upload files both ways")
async def upload(interaction: discord.Interaction[Any]) -> None:
    assert isinstance(interaction.channel, discord.TextChannel)
    await interaction.channel.send("log", file=discord.File(io.BytesIO(b"channel bytes"), "log.txt"))
    await interaction.response.send_message("card", file=discord.File(io.BytesIO(b"abc"), "card.txt"))


# ------------------------------------------------------------------------------- tests


async def test_login_and_ready_use_the_fake() -> None:
    bot = TinyBot()
    async with DiscordHarness(bot, guild_ids=[111, 222]) as h:
        assert bot.is_ready()
        assert bot.user is not None and bot.user.id == h.application_id
        assert bot.application_id == h.application_id
        guild = bot.get_guild(h.guild_id)
        assert guild is not None and guild.me is not None
        channel = bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        assert channel.permissions_for(guild.me).send_messages
        assert [r.path for r in h.fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
        assert discord.http.Route.BASE == h.fake.base_url
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_fake_answers_with_exact_json_content_type() -> None:
    # Pitfall 1: discord.py compares the header string exactly.
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        async with session.get(f"{fake.base_url}/users/@me") as response:
            assert response.headers["Content-Type"] == "application/json"
        async with session.get(f"{fake.base_url}/nope") as response:
            assert response.status == 404
            assert await response.json() == {"message": "Unknown", "code": 0}
        assert [r.path for r in fake.unhandled] == ["/nope"]


async def test_slash_with_options_and_attachment_defers_then_follows_up() -> None:
    async with DiscordHarness(TinyBot()) as h:
        image = h.attachment("cat.png", b"12345678", content_type="image/png")
        iid = await h.slash("render", {"prompt": "a cat", "count": 3, "image": image})

        callback = await h.fake.wait_callback(iid)
        assert callback.json == {"type": 5}
        assert callback.query == {"with_response": "1"}
        followup = await h.fake.wait_followup(iid)
        assert followup.query["wait"] == "1"
        assert followup.json["content"] == "a cat x3 from cat.png (image/png, 8B)"
        stored = h.fake.message(followup.message_id)
        assert stored is not None and int(stored["channel_id"]) == h.channel_id
        assert stored["webhook_id"] == str(h.application_id)


async def test_ephemeral_reply_sets_flag_64() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("secret")
        callback = await h.fake.wait_callback(iid)
        assert callback.json["type"] == 4
        assert callback.json["data"]["content"] == "hush"
        assert callback.json["data"]["flags"] & EPHEMERAL
        # The 2.5+ answer shape, with the original response created with a fresh id.
        original = callback.response["interaction"]["response_message_id"]
        assert callback.response["resource"]["message"]["id"] == original
        assert h.fake.original_message_id(iid) == int(original)


async def test_subcommand_group_and_autocomplete() -> None:
    async with DiscordHarness(TinyBot()) as h:
        aid = await h.autocomplete("dream", {"prompt": "x", "style": "an"}, "style", subcommand="video make")
        choices = (await h.fake.wait_callback(aid)).json
        assert choices["type"] == 8
        assert [c["value"] for c in choices["data"]["choices"]] == ["anime", "analog"]

        iid = await h.slash("dream", {"prompt": "sea", "style": "noir", "loop": True}, subcommand="video make")
        callback = await h.fake.wait_callback(iid)
        assert callback.json["data"]["content"] == "making 'sea' style=noir loop=True"


async def test_dynamic_button_survives_restart_and_allowed_mentions_are_recorded() -> None:
    async with DiscordHarness(TinyBot(generation=1)) as h:
        iid = await h.slash("post", {"item_id": 42})
        await h.fake.wait_callback(iid)
        posted = await h.fake.wait_message(h.channel_id, lambda m: "your item" in m["content"])
        body = h.fake.requests_to("POST", rf"/channels/{h.channel_id}/messages")[0].json
        assert body["allowed_mentions"] == {"parse": [], "users": [int(h.user["id"])], "replied_user": True}
        assert posted["allowed_mentions"] == body["allowed_mentions"]
        assert posted["components"][0]["components"][0]["custom_id"] == "test:btn:42"

        click = await h.click("test:btn:42", int(posted["id"]))
        answer = await h.fake.wait_callback(click)
        assert answer.json["data"]["content"] == "clicked 42 by 1"

        await h.restart(TinyBot(generation=2))
        assert h.bot.is_ready()
        click = await h.click("test:btn:42", int(posted["id"]))
        answer = await h.fake.wait_callback(click)
        assert answer.json["data"]["content"] == "clicked 42 by 2"


async def test_button_opens_modal_and_submit_is_handled() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("form")
        callback = await h.fake.wait_callback(iid)
        form_message = h.fake.message(h.fake.original_message_id(iid))
        assert form_message is not None and form_message["components"]

        click = await h.click("test:form", form_message)
        modal = await h.fake.wait_callback(click)
        assert modal.json["type"] == 9
        assert modal.json["data"]["title"] == "Feedback"

        submit = await h.submit_modal(modal, {"feedback:text": "lovely"})
        answer = await h.fake.wait_callback(submit)
        assert answer.json["type"] == 4
        assert answer.json["data"]["content"] == "thanks for: lovely"
        assert callback.ok


async def test_message_context_menu_sees_target() -> None:
    async with DiscordHarness(TinyBot()) as h:
        mid = await h.send_message("a fine sentence")
        iid = await h.context_menu("Quote", mid)
        callback = await h.fake.wait_callback(iid)
        assert callback.json["data"]["content"] == f"> a fine sentence (by {h.user['username']})"


async def test_on_message_reply_carries_message_reference() -> None:
    async with DiscordHarness(TinyBot()) as h:
        original = await h.send_message("first")
        reply = await h.send_message("second", reply_to=original)
        request = await h.fake.wait_for(lambda r: r.route == "create_message")
        assert request.json["message_reference"]["message_id"] == reply
        assert request.json["allowed_mentions"]["replied_user"] is False
        stored = await h.fake.wait_message(h.channel_id, lambda m: m["content"] == "noted")
        assert stored["type"] == 19
        assert stored["message_reference"]["message_id"] == str(reply)


async def test_429_is_retried_and_message_stored_once() -> None:
    async with DiscordHarness(TinyBot()) as h:
        h.fake.inject_fault("POST", r"/channels/\d+/messages", status=429, retry_after=0.05)
        started = time.monotonic()
        original = await h.send_message("first")
        await h.send_message("second", reply_to=original)
        await h.fake.wait_message(h.channel_id, lambda m: m["content"] == "noted")
        attempts = h.fake.requests_to("POST", rf"/channels/{h.channel_id}/messages")
        assert [r.status for r in attempts] == [429, 200]
        assert attempts[1].at - attempts[0].at >= 0.04
        assert [m["content"] for m in h.fake.channel_messages(h.channel_id)].count("noted") == 1
        assert time.monotonic() - started < 2


async def test_command_error_is_collected() -> None:
    async with DiscordHarness(TinyBot()) as h:
        await h.slash("boom")
        error = await h.wait_error()
        assert error.source == "app_command:boom"
        assert isinstance(error.error, app_commands.CommandInvokeError)
        assert isinstance(error.error.original, RuntimeError)
        assert len(h.take_errors()) == 1


async def test_uncollected_error_fails_the_test_on_exit() -> None:
    with pytest.raises(HarnessError, match="kaboom"):
        async with DiscordHarness(TinyBot()) as h:
            await h.slash("boom")
            await h.wait_error()


async def test_deleted_channel_and_message_answer_404_with_codes() -> None:
    async with DiscordHarness(TinyBot()) as h:
        # Both 404s are the point of the test (strict mode would fail it otherwise).
        h.expect_refusal(status=404, code=10008)
        h.expect_refusal(status=404, code=10003)
        mid = await h.send_message("doomed")
        h.fake.delete_message(h.channel_id, mid)
        channel = h.bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.NotFound) as missing_message:
            await channel.fetch_message(mid)
        assert missing_message.value.code == 10008

        h.fake.delete_channel(h.channel_id)
        with pytest.raises(discord.NotFound) as missing_channel:
            await channel.send("anyone?")
        assert missing_channel.value.code == 10003


async def test_dm_and_deferred_edit_of_original() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("dm_me")
        callback = await h.fake.wait_callback(iid)
        assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
        original_id = h.fake.original_message_id(iid)
        assert original_id is not None
        edit = await h.fake.wait_edit(original_id)
        assert edit.json["content"] == "sent you a DM"
        dm_id = h.fake.dm_channel_id(int(h.user["id"]))
        assert dm_id is not None
        assert [m["content"] for m in h.fake.channel_messages(dm_id)] == ["here is your DM"]
        stored = h.fake.message(original_id)
        assert stored is not None and stored["flags"] == EPHEMERAL  # loading flag cleared by the edit


async def test_command_sync_echoes_ids_and_descriptions() -> None:
    async with DiscordHarness(TinyBot()) as h:
        synced = await h.bot.tree.sync(guild=discord.Object(h.guild_id))
        assert synced == []  # nothing is guild-scoped
        synced = await h.bot.tree.sync()
        names = {c.name for c in synced}
        assert {"render", "dream", "Quote"} <= names
        assert all(c.id for c in synced)
        # Later interactions carry the synced id.
        iid = await h.slash("secret")
        assert h.interactions[iid]["data"]["id"] == str(h.fake.command_id("secret"))
        await h.fake.wait_callback(iid)


def test_payload_permissions_are_string_bitfields() -> None:
    payload = payloads.slash_command(
        "x",
        {"n": 1},
        application_id=1,
        channel=payloads.text_channel(5, guild_id=7),
        user=payloads.user(9),
        guild_id=7,
        member_permissions=discord.Permissions(administrator=True),
    )
    assert payload["member"]["permissions"] == str(discord.Permissions(administrator=True).value)
    assert isinstance(payload["app_permissions"], str)
    assert payload["member"]["flags"] == 0
    assert payload["version"] == 1 and payload["attachment_size_limit"] > 0
    assert payload["channel"]["type"] == 0


async def test_view_and_listener_errors_are_collected() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("post", {"item_id": 0})
        await h.fake.wait_callback(iid)
        posted = await h.fake.wait_message(h.channel_id, lambda m: "your item" in m["content"])
        await h.click("test:btn:0", posted)
        view_error = await h.wait_error(lambda e: isinstance(e.error, LookupError))
        assert view_error.source.startswith("log:discord.ui")

        await h.send_message("explode")
        listener_error = await h.wait_error(lambda e: isinstance(e.error, ValueError))
        assert listener_error.source == "event:on_message"
        assert len(h.take_errors()) == 2


async def test_multipart_uploads_to_channel_and_callback() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("upload")
        callback = await h.fake.wait_callback(iid)
        assert callback.json["data"]["content"] == "card"
        assert [(f.filename, f.data) for f in callback.files] == [("card.txt", b"abc")]
        log = await h.fake.wait_message(h.channel_id, lambda m: m["content"] == "log")
        assert log["attachments"][0]["filename"] == "log.txt"
        assert log["attachments"][0]["size"] == len(b"channel bytes")
        card = h.fake.message(h.fake.original_message_id(iid))
        assert card is not None and card["attachments"][0]["filename"] == "card.txt"


async def test_button_edit_message_is_an_edit_of_that_message() -> None:
    async with DiscordHarness(TinyBot()) as h:
        iid = await h.slash("form")
        await h.fake.wait_callback(iid)
        message_id = h.fake.original_message_id(iid)
        click = await h.click("test:close", message_id)
        update = await h.fake.wait_callback(click)
        assert update.json["type"] == 7
        assert [e.json["data"]["content"] for e in h.fake.edits_of(message_id)] == ["closed"]
        stored = h.fake.message(message_id)
        assert stored is not None and stored["content"] == "closed" and stored["components"] == []


async def test_server_errors_and_double_acknowledge() -> None:
    async with DiscordHarness(TinyBot()) as h:
        channel = h.bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        h.fake.inject_fault("POST", r"/channels/\d+/messages", status=503)
        with pytest.raises(discord.DiscordServerError):
            await channel.send("lost")  # discord.py does not retry 503 on REST routes
        assert h.fake.channel_messages(h.channel_id) == []

        iid = await h.slash("secret")
        await h.fake.wait_callback(iid)
        token = h.interactions[iid]["token"]
        h.expect_refusal(status=400, code=40060)  # the second answer below is refused on purpose
        async with aiohttp.ClientSession() as session:
            second = await session.post(
                f"{h.fake.base_url}/interactions/{iid}/{token}/callback", json={"type": 4, "data": {"content": "again"}}
            )
            assert second.status == 400
            assert (await second.json())["code"] == 40060


class BrokenSetupBot(TinyBot):
    async def setup_hook(self) -> None:
        raise RuntimeError("setup failed")


async def test_setup_hook_failure_propagates_and_restores_route_base() -> None:
    with pytest.raises(RuntimeError, match="setup failed"):
        async with DiscordHarness(BrokenSetupBot()):
            pass
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
