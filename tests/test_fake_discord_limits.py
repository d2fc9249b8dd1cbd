"""The fake Discord refuses what real Discord refuses, with Discord's exact answer.

Most tests talk plain HTTP to a bare ``FakeDiscord`` (fast, and the body on the wire is
exactly what the test wrote); a few go through discord.py's own ``http`` calls to show
the bot would see the same ``HTTPException`` it sees in production. Every limit is
checked on both sides: at the limit passes, one over is refused at the right path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.harness import DiscordHarness, FakeDiscord, HarnessError, payloads
from tests.harness import discord_limits as limits

EPHEMERAL = 1 << 6
V2 = limits.FLAG_COMPONENTS_V2


# ---------------------------------------------------------------- plumbing


class World:
    """A bare fake with one text channel, an HTTP client and shortcuts for its routes."""

    def __init__(self, fake: FakeDiscord, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session
        self.guild_id = payloads.ids.next()
        self.channel_id = payloads.ids.next()
        fake.add_channel(payloads.text_channel(self.channel_id, "general", guild_id=self.guild_id))

    async def call(self, method: str, path: str, body: Any = None, *, data: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        url = f"{self.fake.base_url}{path}"
        async with self.session.request(method, url, json=body, data=data, headers=headers) as response:
            return response.status, (await response.json() if response.content_type == "application/json" else None)

    async def send(self, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/channels/{self.channel_id}/messages", body)

    def interaction(self, *, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """A registered slash (or, with ``message``, button) interaction."""
        payload = payloads.interaction(
            3 if message else 2,
            {"component_type": 2, "custom_id": "b"} if message else {"id": "1", "name": "x", "type": 1},
            application_id=self.fake.application_id,
            channel=self.fake.channels[self.channel_id],
            user=payloads.user(username="tester"),
            guild_id=self.guild_id,
            message=message,
        )
        self.fake.register_interaction(payload)
        return payload

    async def answer(self, interaction: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback?with_response=1"
        return await self.call("POST", path, body)

    async def followup(self, interaction: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call("POST", f"/webhooks/{self.fake.application_id}/{interaction['token']}?wait=1", body)

    async def edit_original(self, interaction: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        path = f"/webhooks/{self.fake.application_id}/{interaction['token']}/messages/@original"
        return await self.call("PATCH", path, body)

    async def sync(self, commands_body: list[dict[str, Any]]) -> tuple[int, Any]:
        return await self.call("PUT", f"/applications/{self.fake.application_id}/commands", commands_body)


@pytest.fixture
async def w() -> AsyncIterator[World]:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as session:
        yield World(fake, session)


def form_error(path: str, code: str, message: str) -> dict[str, Any]:
    """Discord's 50035 body with one error at the dotted ``path``."""
    node: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        node = {part: node}
    return {"code": 50035, "message": "Invalid Form Body", "errors": node}


def too_long(path: str, limit: int) -> dict[str, Any]:
    return form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def bad_length(path: str, low: int, high: int) -> dict[str, Any]:
    return form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def button(custom_id: str = "b", **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "go", "custom_id": custom_id, **extra}


def row(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(items)}


def select(options: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": 3, "custom_id": "s", "options": [{"label": f"o{i}", "value": f"v{i}"} for i in range(options)],
            **extra}


def embed_with_field(value: str, *, index: int = 3) -> dict[str, Any]:
    fields = [{"name": f"f{i}", "value": "v"} for i in range(index)] + [{"name": "last", "value": value}]
    return {"title": "t", "fields": fields}


def text(n: int) -> str:
    return "é" * n  # a code point that is 2 bytes in UTF-8: lengths are characters, not bytes


# ---------------------------------------------------------------- messages: each limit on both sides

MESSAGE_LIMITS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("content", {"content": text(2000)}, {"content": text(2001)}, too_long("content", 2000)),
    ("embed count", {"embeds": [{"title": "t"}] * 10}, {"embeds": [{"title": "t"}] * 11}, too_long("embeds", 10)),
    ("title", {"embeds": [{"title": text(256)}]}, {"embeds": [{"title": text(257)}]}, too_long("embeds.0.title", 256)),
    ("description", {"embeds": [{"description": text(4096)}]}, {"embeds": [{"description": text(4097)}]},
     too_long("embeds.0.description", 4096)),
    ("field count", {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 25}]},
     {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, too_long("embeds.0.fields", 25)),
    ("field name", {"embeds": [{"fields": [{"name": text(256), "value": "v"}]}]},
     {"embeds": [{"fields": [{"name": text(257), "value": "v"}]}]}, too_long("embeds.0.fields.0.name", 256)),
    ("field value", {"embeds": [embed_with_field(text(1024))]}, {"embeds": [embed_with_field(text(1025))]},
     too_long("embeds.0.fields.3.value", 1024)),
    ("field value required", {"embeds": [embed_with_field("\u200b")]}, {"embeds": [embed_with_field(" ")]},
     form_error("embeds.0.fields.3.value", "BASE_TYPE_REQUIRED", "This field is required")),
    ("field name required", {"embeds": [{"fields": [{"name": "n", "value": "v"}]}]},
     {"embeds": [{"fields": [{"name": "", "value": "v"}]}]},
     form_error("embeds.0.fields.0.name", "BASE_TYPE_REQUIRED", "This field is required")),
    ("footer", {"embeds": [{"footer": {"text": text(2048)}}]}, {"embeds": [{"footer": {"text": text(2049)}}]},
     too_long("embeds.0.footer.text", 2048)),
    ("author", {"embeds": [{"author": {"name": text(256)}}]}, {"embeds": [{"author": {"name": text(257)}}]},
     too_long("embeds.0.author.name", 256)),
    ("embed total", {"embeds": [{"description": text(3000)}, {"description": text(2990), "title": text(10)}]},
     {"embeds": [{"description": text(3000)}, {"description": text(2990), "title": text(11)}]},
     form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")),
    ("action rows", {"components": [row(button(f"b{i}")) for i in range(5)]},
     {"components": [row(button(f"b{i}")) for i in range(6)]}, too_long("components", 5)),
    ("buttons per row", {"components": [row(*[button(f"b{i}") for i in range(5)])]},
     {"components": [row(*[button(f"b{i}") for i in range(6)])]}, bad_length("components.0.components", 1, 5)),
    ("select fills its row", {"components": [row(select()), row(button())]},
     {"components": [row(select(), button())]},
     form_error("components.0.components.1", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width")),
    ("custom_id", {"components": [row(button("x" * 100))]}, {"components": [row(button("x" * 101))]},
     bad_length("components.0.components.0.custom_id", 1, 100)),
    ("custom_id required", {"components": [row({"type": 2, "style": 5, "label": "site", "url": "https://a.b"})]},
     {"components": [row({"type": 2, "style": 1, "label": "go"})]},
     form_error("components.0.components.0.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                "A custom id is required")),
    ("link needs url", {"components": [row({"type": 2, "style": 5, "label": "site", "url": "https://a.b"})]},
     {"components": [row({"type": 2, "style": 5, "label": "site"})]},
     form_error("components.0.components.0.url", "BASE_TYPE_REQUIRED", "This field is required")),
    ("button label", {"components": [row(button(label=text(80)))]}, {"components": [row(button(label=text(81)))]},
     too_long("components.0.components.0.label", 80)),
    ("select options", {"components": [row(select(25))]}, {"components": [row(select(26))]},
     bad_length("components.0.components.0.options", 1, 25)),
    ("select placeholder", {"components": [row(select(placeholder=text(150)))]},
     {"components": [row(select(placeholder=text(151)))]}, too_long("components.0.components.0.placeholder", 150)),
]


@pytest.mark.parametrize(("at_limit", "over", "expected"), [c[1:] for c in MESSAGE_LIMITS],
                         ids=[c[0] for c in MESSAGE_LIMITS])
async def test_message_create_limits(w: World, at_limit: dict[str, Any], over: dict[str, Any],
                                     expected: dict[str, Any]) -> None:
    assert (await w.send(at_limit))[0] == 200
    status, body = await w.send(over)
    assert (status, body) == (400, expected)
    assert len(w.fake.channel_messages(w.channel_id)) == 1  # the refused one was not made


def v2_texts(count: int, size: int = 1) -> dict[str, Any]:
    return {"flags": V2, "components": [{"type": 10, "content": "t" * size} for _ in range(count)]}


V2_LIMITS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("no content", {**v2_texts(1), "content": ""}, {**v2_texts(1), "content": "hi"},
     form_error("content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")),
    ("no embeds", {**v2_texts(1), "embeds": []}, {**v2_texts(1), "embeds": [{"title": "t"}]},
     form_error("embeds", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")),
    # A container of 19 rows of one button each is 1 + 19 * 2 = 39 components; the 40th/41st is a text display.
    ("40 components, nested ones counted",
     {"flags": V2, "components": [{"type": 17, "components": [row(button(f"b{i}")) for i in range(19)]},
                                  {"type": 10, "content": "t"}]},
     {"flags": V2, "components": [{"type": 17, "components": [row(button(f"b{i}")) for i in range(19)]},
                                  {"type": 10, "content": "t"}, {"type": 10, "content": "t"}]},
     form_error("components", "MESSAGE_COMPONENTS_V2_TOO_MANY_COMPONENTS", "Must be 40 or fewer components in total.")),
    ("4000 characters of text", v2_texts(4, 1000), {"flags": V2, "components": [
        {"type": 10, "content": "t" * 1000}] * 3 + [{"type": 9, "components": [{"type": 10, "content": "t" * 1001}],
                                                       "accessory": button()}]},
     form_error("components", "MESSAGE_COMPONENTS_V2_TEXT_TOO_LONG",
                "Text display content must be 4000 or fewer in length in total.")),
    ("more than 5 rows are fine in V2", {"flags": V2, "components": [row(button(f"b{i}")) for i in range(6)]},
     {"flags": V2, "components": [row(*[button(f"b{i}") for i in range(6)])]},
     bad_length("components.0.components", 1, 5)),
]


@pytest.mark.parametrize(("at_limit", "over", "expected"), [c[1:] for c in V2_LIMITS], ids=[c[0] for c in V2_LIMITS])
async def test_components_v2_limits(w: World, at_limit: dict[str, Any], over: dict[str, Any],
                                    expected: dict[str, Any]) -> None:
    assert (await w.send(at_limit))[0] == 200
    assert await w.send(over) == (400, expected)


async def test_components_v2_flag_cannot_be_removed_and_forbids_content_on_edit(w: World) -> None:
    status, message = await w.send(v2_texts(1))
    assert status == 200
    path = f"/channels/{w.channel_id}/messages/{message['id']}"
    assert (await w.call("PATCH", path, {"flags": V2, **v2_texts(2)}))[0] == 200
    assert (await w.call("PATCH", path, {"content": None}))[0] == 200  # clearing is allowed
    assert await w.call("PATCH", path, {"flags": 0, "content": "back to text"}) == (400, {
        "code": 50035, "message": "Invalid Form Body", "errors": {
            "flags": {"_errors": [{"code": "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG",
                                   "message": "The IS_COMPONENTS_V2 flag cannot be removed from a message"}]},
            "content": {"_errors": [{"code": "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                                     "message": "The 'content' field cannot be used when using "
                                                "MessageFlags.IS_COMPONENTS_V2"}]}}})
    status, body = await w.call("PATCH", path, {"content": "sneaky"})  # the stored flag still applies
    assert status == 400 and "content" in body["errors"]


async def test_empty_message_is_refused_with_50006(w: World) -> None:
    empty = (400, {"code": 50006, "message": "Cannot send an empty message"})
    assert await w.send({}) == empty
    assert await w.send({"content": "   ", "embeds": [], "components": []}) == empty
    assert (await w.send({"sticker_ids": ["1"]}))[0] == 200
    assert (await w.send({"components": [row(button())]}))[0] == 200
    form = aiohttp.FormData()
    form.add_field("payload_json", "{}", content_type="application/json")
    form.add_field("files[0]", b"data", filename="a.txt", content_type="text/plain")
    assert (await w.call("POST", f"/channels/{w.channel_id}/messages", data=form))[0] == 200  # an attachment alone


async def test_edits_are_checked_against_the_stored_message(w: World) -> None:
    status, message = await w.send({"content": "hello"})
    path = f"/channels/{w.channel_id}/messages/{message['id']}"
    assert await w.call("PATCH", path, {"content": text(2001)}) == (400, too_long("content", 2000))
    assert w.fake.message(int(message["id"]))["content"] == "hello"  # untouched
    assert (await w.call("PATCH", path, {"embeds": [{"title": "t"}]}))[0] == 200  # content stays
    assert (await w.call("PATCH", path, {"content": ""}))[0] == 200  # the embed stays
    assert await w.call("PATCH", path, {"embeds": []}) == (400, {"code": 50006, "message": "Cannot send an empty message"})


# ---------------------------------------------------------------- uploads


def upload(size: int) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("payload_json", '{"content": "file"}', content_type="application/json")
    form.add_field("files[0]", b"\0" * size, filename="clip.mp4", content_type="video/mp4")
    return form


async def test_uploads_over_the_attachment_size_limit_get_413(w: World) -> None:
    assert w.fake.attachment_size_limit == payloads.ATTACHMENT_SIZE_LIMIT == 10 * 1024 * 1024
    w.fake.attachment_size_limit = 1024  # same rule, smaller bytes: keeps the test fast
    path = f"/channels/{w.channel_id}/messages"
    assert (await w.call("POST", path, data=upload(1024)))[0] == 200
    assert await w.call("POST", path, data=upload(1025)) == (413, {"code": 40005, "message": "Request entity too large"})


async def test_default_limit_is_ten_mebibytes(w: World) -> None:
    path = f"/channels/{w.channel_id}/messages"
    too_big = await w.call("POST", path, data=upload(payloads.ATTACHMENT_SIZE_LIMIT + 1))
    assert too_big == (413, {"code": 40005, "message": "Request entity too large"})


# ---------------------------------------------------------------- interactions


async def test_callback_message_data_is_checked_and_a_refused_answer_can_be_retried(w: World) -> None:
    interaction = w.interaction()
    assert await w.answer(interaction, {"type": 4, "data": {"content": text(2001)}}) == (
        400, too_long("data.content", 2000))
    assert await w.answer(interaction, {"type": 4, "data": {}}) == (
        400, {"code": 50006, "message": "Cannot send an empty message"})
    status, body = await w.answer(interaction, {"type": 4, "data": {"content": text(2000), "flags": EPHEMERAL}})
    assert status == 200 and body["resource"]["message"]["content"] == text(2000)


async def test_update_message_callback_checks_the_clicked_message(w: World) -> None:
    _, message = await w.send({"content": "pick", "components": [row(button())]})
    interaction = w.interaction(message=message)
    assert await w.answer(interaction, {"type": 7, "data": {"embeds": [embed_with_field(text(1025))]}}) == (
        400, too_long("data.embeds.0.fields.3.value", 1024))
    assert await w.answer(interaction, {"type": 7, "data": {"content": "", "components": []}}) == (
        400, {"code": 50006, "message": "Cannot send an empty message"})
    assert (await w.answer(interaction, {"type": 7, "data": {"components": []}}))[0] == 200


def modal(**changes: Any) -> dict[str, Any]:
    field = {"type": 4, "custom_id": "f", "style": 1, "label": "Prompt", "min_length": 0, "max_length": 4000,
             "placeholder": "p", "value": "v"}
    field.update(changes.pop("field", {}))
    data = {"title": "Title", "custom_id": "m", "components": [row(field)]}
    data.update(changes)
    return {"type": 9, "data": data}


MODAL_LIMITS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("title", modal(title=text(45)), modal(title=text(46)), bad_length("data.title", 1, 45)),
    ("title required", modal(title="T"), modal(title=""), bad_length("data.title", 1, 45)),
    ("custom_id", modal(custom_id="m" * 100), modal(custom_id="m" * 101), bad_length("data.custom_id", 1, 100)),
    ("rows", modal(components=[row({"type": 4, "custom_id": f"f{i}", "style": 1, "label": "L"}) for i in range(5)]),
     modal(components=[row({"type": 4, "custom_id": f"f{i}", "style": 1, "label": "L"}) for i in range(6)]),
     bad_length("data.components", 1, 5)),
    ("no rows", modal(), modal(components=[]), bad_length("data.components", 1, 5)),
    ("label", modal(field={"label": text(45)}), modal(field={"label": text(46)}),
     bad_length("data.components.0.components.0.label", 1, 45)),
    ("placeholder", modal(field={"placeholder": text(100)}), modal(field={"placeholder": text(101)}),
     too_long("data.components.0.components.0.placeholder", 100)),
    ("value", modal(field={"value": text(4000)}), modal(field={"value": text(4001)}),
     too_long("data.components.0.components.0.value", 4000)),
    ("min_length", modal(field={"min_length": 4000}), modal(field={"min_length": 4001}),
     form_error("data.components.0.components.0.min_length", "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 4000.")),
    ("max_length", modal(field={"max_length": 1}), modal(field={"max_length": 0}),
     form_error("data.components.0.components.0.max_length", "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 1.")),
    ("label component", modal(components=[{"type": 18, "label": text(45), "component": {
        "type": 4, "custom_id": "f", "style": 1}}]),
     modal(components=[{"type": 18, "label": text(46), "component": {"type": 4, "custom_id": "f", "style": 1}}]),
     bad_length("data.components.0.label", 1, 45)),
    ("text input in a label", modal(components=[{"type": 18, "label": "L", "component": {
        "type": 4, "custom_id": "f", "style": 1, "value": text(4000)}}]),
     modal(components=[{"type": 18, "label": "L", "component": {
         "type": 4, "custom_id": "f", "style": 1, "value": text(4001)}}]),
     too_long("data.components.0.component.value", 4000)),
]


@pytest.mark.parametrize(("at_limit", "over", "expected"), [c[1:] for c in MODAL_LIMITS],
                         ids=[c[0] for c in MODAL_LIMITS])
async def test_modal_limits(w: World, at_limit: dict[str, Any], over: dict[str, Any],
                            expected: dict[str, Any]) -> None:
    assert await w.answer(w.interaction(), over) == (400, expected)
    assert (await w.answer(w.interaction(), at_limit))[0] == 200


def choices(count: int, *, name: str = "n", value: Any = "v") -> dict[str, Any]:
    return {"type": 8, "data": {"choices": [{"name": name, "value": value}] * count}}


AUTOCOMPLETE_LIMITS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("count", choices(25), choices(26), too_long("data.choices", 25)),
    ("name", choices(1, name=text(100)), choices(1, name=text(101)), bad_length("data.choices.0.name", 1, 100)),
    ("name required", choices(1, name="n"), choices(1, name=""), bad_length("data.choices.0.name", 1, 100)),
    ("string value", choices(1, value=text(100)), choices(1, value=text(101)), too_long("data.choices.0.value", 100)),
]


@pytest.mark.parametrize(("at_limit", "over", "expected"), [c[1:] for c in AUTOCOMPLETE_LIMITS],
                         ids=[c[0] for c in AUTOCOMPLETE_LIMITS])
async def test_autocomplete_limits(w: World, at_limit: dict[str, Any], over: dict[str, Any],
                                   expected: dict[str, Any]) -> None:
    assert await w.answer(w.interaction(), over) == (400, expected)
    assert (await w.answer(w.interaction(), at_limit))[0] == 200
    assert (await w.answer(w.interaction(), choices(1, value=10**12)))[0] == 200  # numbers have no length


async def test_second_answer_is_40060(w: World) -> None:
    interaction = w.interaction()
    assert (await w.answer(interaction, {"type": 5}))[0] == 200
    assert await w.answer(interaction, {"type": 4, "data": {"content": "again"}}) == (
        400, {"code": 40060, "message": "Interaction has already been acknowledged."})


async def test_answer_after_the_ack_window_is_10062(w: World) -> None:
    assert w.fake.ack_window == 3.0
    w.fake.ack_window = 0.0  # instead of sleeping 3 s
    assert await w.answer(w.interaction(), {"type": 4, "data": {"content": "late"}}) == (
        404, {"code": 10062, "message": "Unknown interaction"})
    w.fake.ack_window = 60.0
    assert (await w.answer(w.interaction(), {"type": 4, "data": {"content": "in time"}}))[0] == 200


async def test_followups_and_edits_after_the_token_lifetime_are_50027(w: World) -> None:
    assert w.fake.token_lifetime == 15 * 60
    interaction = w.interaction()
    assert (await w.answer(interaction, {"type": 5}))[0] == 200
    assert (await w.followup(interaction, {"content": "soon"}))[0] == 200
    assert (await w.edit_original(interaction, {"content": "done"}))[0] == 200
    w.fake.token_lifetime = 0.0
    expired = (401, {"code": 50027, "message": "Invalid Webhook Token"})
    assert await w.followup(interaction, {"content": "later"}) == expired
    assert await w.edit_original(interaction, {"content": "later"}) == expired


async def test_followups_and_webhook_edits_are_checked(w: World) -> None:
    interaction = w.interaction()
    await w.answer(interaction, {"type": 5})
    assert await w.followup(interaction, {"content": text(2001)}) == (400, too_long("content", 2000))
    assert (await w.followup(interaction, {"content": text(2000)}))[0] == 200
    assert await w.edit_original(interaction, {"embeds": [{"title": text(257)}]}) == (
        400, too_long("embeds.0.title", 256))
    assert (await w.edit_original(interaction, {"embeds": [{"title": text(256)}]}))[0] == 200


async def test_a_wrong_bot_token_is_401_once_the_fake_checks_tokens(w: World) -> None:
    assert (await w.call("GET", "/users/@me"))[0] == 200  # no token set: any caller is the bot
    w.fake.token = "right-token"
    assert await w.call("GET", "/users/@me", headers={"Authorization": "Bot wrong-token"}) == (
        401, {"code": 0, "message": "401: Unauthorized"})
    assert (await w.call("GET", "/users/@me", headers={"Authorization": "Bot right-token"}))[0] == 200
    # Interaction callbacks are authenticated by the token in their URL.
    assert (await w.answer(w.interaction(), {"type": 4, "data": {"content": "hi"}}))[0] == 200


# ---------------------------------------------------------------- application commands


def command(name: str = "dream", description: str = "Make a clip", **extra: Any) -> dict[str, Any]:
    return {"type": 1, "name": name, "description": description, **extra}


def option(name: str = "prompt", **extra: Any) -> dict[str, Any]:
    return {"type": 3, "name": name, "description": "What to dream", **extra}


COMMAND_LIMITS: list[tuple[str, Any, Any, dict[str, Any]]] = [
    ("name length", [command("d" * 32)], [command("d" * 33)], bad_length("0.name", 1, 32)),
    ("name lowercase", [command("träume-2_x")], [command("Dream")],
     form_error("0.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")),
    ("name characters", [command("ड्रीम")], [command("my dream")],
     form_error("0.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")),
    ("description", [command(description=text(100))], [command(description=text(101))],
     bad_length("0.description", 1, 100)),
    ("description required", [command(description="d")], [command(description="")],
     bad_length("0.description", 1, 100)),
    ("options", [command(options=[option(f"o{i}") for i in range(25)])],
     [command(options=[option(f"o{i}") for i in range(26)])], too_long("0.options", 25)),
    ("option name", [command(options=[option("p" * 32)])], [command(options=[option("Prompt")])],
     form_error("0.options.0.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")),
    ("choices", [command(options=[option(choices=[{"name": "c", "value": "c"}] * 25)])],
     [command(options=[option(choices=[{"name": "c", "value": "c"}] * 26)])], too_long("0.options.0.choices", 25)),
    ("choice name", [command(options=[option(choices=[{"name": text(100), "value": "c"}])])],
     [command(options=[option(choices=[{"name": text(101), "value": "c"}])])],
     bad_length("0.options.0.choices.0.name", 1, 100)),
    ("subcommand option", [command(options=[{"type": 1, "name": "make", "description": "d",
                                             "options": [option("p" * 32)]}])],
     [command(options=[{"type": 1, "name": "make", "description": "d", "options": [option("p" * 33)]}])],
     bad_length("0.options.0.options.0.name", 1, 32)),
]


@pytest.mark.parametrize(("at_limit", "over", "expected"), [c[1:] for c in COMMAND_LIMITS],
                         ids=[c[0] for c in COMMAND_LIMITS])
async def test_command_sync_limits(w: World, at_limit: list[dict[str, Any]], over: list[dict[str, Any]],
                                   expected: dict[str, Any]) -> None:
    assert (await w.sync(at_limit))[0] == 200
    assert await w.sync(over) == (400, expected)
    assert [c["name"] for c in w.fake.commands[None]] == [at_limit[0]["name"]]  # the refused sync changed nothing


async def test_context_menus_may_have_spaces_and_capitals_and_100_commands_is_the_most(w: World) -> None:
    menus = [{"type": 3, "name": "Make a Clip", "description": ""}, {"type": 2, "name": "Show Quota", "description": ""}]
    hundred = [command(f"c{i}") for i in range(100)]
    assert (await w.sync(hundred + menus))[0] == 200
    assert await w.sync(hundred + [command("one-more")]) == (
        400, {"code": 30032, "message": "Maximum number of application commands reached (100)"})


# ---------------------------------------------------------------- through discord.py, and strict mode


class QuietBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)

    async def setup_hook(self) -> None:
        @self.tree.command(description="Answer at once")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")


async def test_a_late_answer_reaches_the_bot_as_discord_py_s_not_found() -> None:
    async with DiscordHarness(QuietBot()) as h:
        h.fake.ack_window = 0.0  # every answer is now "too late", without sleeping 3 s
        late = h.expect_refusal(status=404, code=10062)
        await h.slash("ping")
        error = await h.wait_error()
        assert isinstance(error.error, discord.app_commands.CommandInvokeError)
        assert isinstance(error.error.original, discord.NotFound) and error.error.original.code == 10062
        h.take_errors()
        assert len(late.seen) == 1 and h.fake.callbacks() == []


async def test_discord_py_reads_the_refusal_like_a_real_one() -> None:
    async with DiscordHarness(QuietBot()) as h:
        expected = h.expect_refusal(status=400, code=50035)
        channel = h.bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        embed = discord.Embed(title="t")
        for i in range(3):
            embed.add_field(name=f"f{i}", value="v")
        embed.add_field(name="last", value="x" * 1025)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(embed=embed)
        assert (refused.value.status, refused.value.code) == (400, 50035)
        assert "In embeds.0.fields.3.value: Must be 1024 or fewer in length." in str(refused.value)
        assert [r.path for r in expected.seen] == [f"/channels/{h.channel_id}/messages"]


async def test_strict_mode_fails_a_test_on_an_unexpected_refusal() -> None:
    with pytest.raises(HarnessError) as failure:
        async with DiscordHarness(QuietBot()) as h:
            channel = h.bot.get_channel(h.channel_id)
            assert isinstance(channel, discord.TextChannel)
            with pytest.raises(discord.HTTPException):
                await channel.send("x" * 2001)  # a bot that swallows this would pass without strict mode
    report = str(failure.value)
    assert f"[fake] refused POST /channels/{h.channel_id}/messages -> 400 code 50035 (Invalid Form Body)" in report
    assert '{"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}' in report
    assert "h.expect_refusal" in report


async def test_an_expectation_covers_only_what_it_names() -> None:
    async with DiscordHarness(QuietBot()) as h:
        channel = h.bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        h.expect_refusal(status=404, code=10003, method="post", path=r"/channels/\d+/messages")
        with pytest.raises(discord.HTTPException):
            await channel.send(embeds=[])
        assert h._problems() is not None and "code 50006" in h._problems()
        h.fake.delete_channel(h.channel_id)
        with pytest.raises(discord.NotFound):
            await channel.send("anyone?")
        assert [r.error_code for r in h.unexpected_refusals()] == [50006]
        assert [r.error_code for r in h.take_refusals()] == [50006, 10003]
        assert h._problems() is None  # taken refusals are forgotten


async def test_injected_faults_are_not_refusals() -> None:
    async with DiscordHarness(QuietBot()) as h:
        channel = h.bot.get_channel(h.channel_id)
        assert isinstance(channel, discord.TextChannel)
        h.fake.inject_fault("POST", r"/channels/\d+/messages", status=403, body={"message": "Missing Access", "code": 50001})
        with pytest.raises(discord.Forbidden):
            await channel.send("no")
        assert h.fake.refusals == [] and h._problems() is None
