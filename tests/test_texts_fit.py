"""Every text and embed the bot builds fits Discord's limits, whatever the inputs.

Discord refuses a whole message (HTTP 400, code 50035) when one part is over its limit, and
the member only sees "interaction failed". The property test drives every public function of
`bot.texts` (a new one without a strategy here fails `test_every_public_function_has_a_strategy`)
with extreme inputs: the longest prompt the bot accepts, 2,000+ character URLs, 50-item lists,
astral characters, zero-width characters, markdown and mention syntax.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import fitting, texts
from bot.prices import PriceStatus
from bot.services.inputs import MAX_PROMPT_CHARS
from storage import (
    AuditEntry,
    Generation,
    GuildSettings,
    HistoryEntry,
    Kind,
    MemberBudget,
    Period,
    ProviderTotals,
    RefusalReason,
    ReserveRefused,
    Spender,
    Status,
)

FIT = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Limits, counted both ways: code points (len) and UTF-16 units (astral characters are two).
CONTENT, TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE = 2000, 256, 4096, 25, 256, 1024
FOOTER, AUTHOR, TOTAL, CHOICE = 2048, 256, 6000, 100


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def within(text: str, limit: int, what: str) -> None:
    assert isinstance(text, str), (what, type(text))
    assert len(text) <= limit and utf16(text) <= limit, f"{what}: {len(text)} chars / {utf16(text)} units > {limit}"


def shows_something(text: str, what: str) -> None:
    assert text and text.strip() and not all(c in "\u200b\u200c\u200d\u2060\ufeff" or c.isspace() for c in text), \
        f"{what} would be empty: {text!r}"


def no_mass_ping(text: str, what: str) -> None:
    """`@everyone`/`@here` only ever appear inside inline code, so they can't ping even if mentions were on."""
    bare = re.sub(r"`[^`]*`", "", text)
    assert "@everyone" not in bare and "@here" not in bare, f"{what} could ping: {text!r}"


def check_content(text: str, what: str = "content") -> None:
    within(text, CONTENT, what)
    shows_something(text, what)
    no_mass_ping(text, what)


def check_field_value(text: str, what: str = "field value") -> None:
    within(text, FIELD_VALUE, what)
    shows_something(text, what)


def check_embed(embed: discord.Embed, what: str = "embed") -> None:
    assert isinstance(embed, discord.Embed), (what, type(embed))
    data = embed.to_dict()
    total = []
    if "title" in data:
        within(data["title"], TITLE, f"{what} title")
        total.append(data["title"])
    if "description" in data:
        within(data["description"], DESCRIPTION, f"{what} description")
        shows_something(data["description"], f"{what} description")
        total.append(data["description"])
    fields = data.get("fields", [])
    assert len(fields) <= FIELDS, f"{what}: {len(fields)} fields"
    for field in fields:
        within(field["name"], FIELD_NAME, f"{what} field name")
        shows_something(field["name"], f"{what} field name")
        within(field["value"], FIELD_VALUE, f"{what} field {field['name']!r}")
        shows_something(field["value"], f"{what} field {field['name']!r}")
        total += [field["name"], field["value"]]
    if "footer" in data:
        within(data["footer"]["text"], FOOTER, f"{what} footer")
        total.append(data["footer"]["text"])
    if "author" in data:
        within(data["author"]["name"], AUTHOR, f"{what} author")
        total.append(data["author"]["name"])
    assert sum(map(len, total)) <= TOTAL and sum(map(utf16, total)) <= TOTAL, f"{what}: total {sum(map(utf16, total))}"
    assert fitting.embed_total(embed) == sum(map(utf16, total))


def check_message(result: tuple[str, discord.Embed], what: str = "message") -> None:
    content, embed = result
    check_content(content, f"{what} content")
    check_embed(embed, f"{what} embed")
    # The embed and content of one message: at most 10 embeds, 6,000 units of embed text in all (one here).


# Strategies ------------------------------------------------------------------------------

TRICKY = ["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "<#123456789012345678>", "`", "```",
          "||", "**", "__", "~~", "*", "_", "\\", "> ", "# ", "- ", "[click](https://evil.example/x_y)", "\u200b",
          "\u200d", "\ufeff", "\u2028", "\n", "\t", "  ", "👨\u200d👩\u200d👧", "🇫🇷", "👍🏽", "e\u0301", "𝕏", "😀",
          "https://cdn.example/a_b*c~d", "<t:1:f>", ")", "](", "%s", "{n}", "ﷺ", "\u202e"]
MARKDOWN_CHARS = ["*", "_", "`", "|", "~", "\\", "😀", "𝕏", "@", "a", " ", "\u200b", "e\u0301"]


def wild_text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Anything a member, a moderator or an API could put in a text, up to `max_size` code points."""
    mixed = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(TRICKY)), max_size=40).map("".join)
    sizes = st.integers(0, max_size) | st.just(max_size)  # the maximum itself, often: that is where limits break
    repeated = st.builds(lambda piece, n: piece * n, st.sampled_from(MARKDOWN_CHARS + TRICKY), sizes)
    return st.one_of(st.text(max_size=min(max_size, 200)), mixed, repeated).map(lambda t: t[:max_size]).filter(
        lambda t: len(t) >= min_size)


many = 50


def lists_of(strategy: st.SearchStrategy[Any], most: int = many) -> st.SearchStrategy[list[Any]]:
    """Up to `most` items, cheaply: a few drawn ones, repeated (length is what strains the limits)."""
    few = st.lists(strategy, min_size=1, max_size=4)
    sizes = st.integers(0, most) | st.just(most)
    return st.tuples(few, sizes).map(lambda t: [t[0][i % len(t[0])] for i in range(t[1])])


prompts = st.one_of(wild_text(MAX_PROMPT_CHARS, 1),
                    st.sampled_from(["*" * MAX_PROMPT_CHARS, "😀" * MAX_PROMPT_CHARS, "a" * MAX_PROMPT_CHARS,
                                     "@everyone " * (MAX_PROMPT_CHARS // 10), "\\" * MAX_PROMPT_CHARS]))
urls = st.one_of(st.none(), st.just(""), st.just("https://cdn.example/v.mp4"),
                 st.builds(lambda n, c: "https://cdn.example/" + c * n, st.integers(0, 5000) | st.sampled_from([2000, 3100, 5000]),
                           st.sampled_from(["a", "_", "*", ")", "😀", "%2F"])))
snowflakes = st.integers(0, 2**63 - 1)
amounts = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(0, 10**7))
costs = st.one_of(st.integers(0, 2**40), st.just(500_000))
times = st.floats(-1e12, 1e12, allow_nan=False)
optional_times = st.one_of(st.none(), times)
# JSON as the store keeps it (details, options); one level of lists and objects is enough to be long and odd.
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | wild_text(300)
json_values = scalars | st.lists(scalars, max_size=50) | st.dictionaries(wild_text(30), scalars, max_size=5)

options = st.fixed_dictionaries({}, optional={
    "aspect_ratio": scalars, "resolution": scalars, "duration": scalars, "loop": st.booleans(),
    "start_image_url": urls, "end_image_url": urls})

# Only what the texts read varies; the message/channel bookkeeping does not show anywhere.
generations = st.builds(
    Generation, id=snowflakes, api_id=st.just("job"), dialect=st.just("unified"), guild_id=st.none() | snowflakes,
    channel_id=snowflakes, user_id=snowflakes, status_channel_id=st.none(), status_message_id=st.none(),
    result_channel_id=st.none(), result_message_id=st.none(), kind=st.sampled_from(Kind),
    parent_id=st.none() | snowflakes, prompt=prompts, model=st.none() | wild_text(2000), options=options,
    status=st.sampled_from(Status), requested_at=times, submitted_at=optional_times, running_at=st.none(),
    completed_at=st.none(), failed_at=st.none(), posted_at=st.none(), video_url=urls,
    failure_reason=st.none() | wild_text(3000), tokens_reserved=amounts, tokens_charged=st.none() | amounts,
    post_attempts=st.just(0), client_request_id=st.none() | st.just("dreambot:1:abcdef"),
    in_doubt_since=optional_times, provider_credits=st.none() | amounts, provider_source=st.none() | st.just("logs"),
    price_text=st.none() | st.just("$0.65/s × 10 s") | wild_text(500),
    undeliverable_at=optional_times, post_error=st.none() | wild_text(400))
# What the provider side of the books can say; and the price book's state, fresh or stale.
provider_totals = st.builds(ProviderTotals, *([amounts] * 9))
price_statuses = st.builds(PriceStatus, source=st.sampled_from(["catalogue", "cache", "file", "none"]) | wild_text(50),
                           checked_at=optional_times, stale=st.booleans(), etag=st.none() | wild_text(100),
                           fetched_at=optional_times)
optional_prices = st.none() | price_statuses

budgets = st.builds(
    MemberBudget, guild_id=st.none() | snowflakes, user_id=snowflakes, cost=costs, cap=st.none() | amounts,
    cap_is_override=st.booleans(), period=st.sampled_from(Period), period_started_at=optional_times,
    period_resets_at=optional_times, spent=amounts, remaining=st.none() | amounts, running=amounts,
    running_limit=amounts, guild_running=amounts, guild_running_limit=st.none() | amounts, blocked=st.booleans(),
    cooldown_seconds=amounts, retry_after_seconds=times, refusal=st.none() | st.sampled_from(RefusalReason),
    checked_at=times)
refusals = st.builds(ReserveRefused, st.sampled_from(RefusalReason), budgets)
guild_settings = st.builds(
    GuildSettings, guild_id=snowflakes, cap_tokens=st.none() | amounts, cap_period=st.sampled_from(Period),
    member_running_limit=amounts, guild_running_limit=st.none() | amounts, cooldown_seconds=amounts,
    moderator_role_id=st.none() | snowflakes, allowed_channel_ids=st.frozensets(snowflakes, max_size=50))
spenders = st.builds(Spender, user_id=snowflakes, spent=amounts, clips=amounts, completed=amounts, failed=amounts,
                     refunded=amounts)
history_entries = st.builds(HistoryEntry, generation=generations, reserved=amounts, charged=st.none() | amounts,
                            refunded=amounts)

ACTIONS = ["set_guild_cap", "set_member_cap", "clear_member_cap", "set_member_running_limit",
           "set_guild_running_limits", "set_cooldown", "block", "unblock", "set_allowed_channels", "allow_channel",
           "disallow_channel", "set_moderator_role", "refused"]
cap_details = st.fixed_dictionaries({"cap_tokens": st.none() | amounts, "period": st.none() | st.sampled_from(Period)})
realistic_details = st.fixed_dictionaries({}, optional={
    "cap_tokens": st.none() | amounts, "period": st.none() | st.sampled_from(Period),
    "previous": st.one_of(st.none(), amounts, st.booleans(), lists_of(snowflakes, 300),
                          cap_details.map(lambda d: {**d, "override": True}), st.just({"override": False})),
    "limit": st.none() | amounts, "member_limit": amounts, "guild_limit": st.none() | amounts, "seconds": amounts,
    "channel_ids": lists_of(snowflakes, 300), "channel_id": snowflakes, "role_id": st.none() | snowflakes,
    "command": st.sampled_from(["cap set", "cap clear", "limits", "role", "block"]) | wild_text(200),
    "reason": st.sampled_from(list(texts.REFUSED_WHY)) | wild_text(200)})
audit_entries = st.builds(
    AuditEntry, id=snowflakes, guild_id=snowflakes, actor_id=snowflakes,
    action=st.sampled_from(ACTIONS) | wild_text(200), target_user_id=st.none() | snowflakes,
    details=realistic_details | st.dictionaries(wild_text(50), json_values, max_size=8), created_at=times)

names = st.one_of(wild_text(300), st.sampled_from(["*" * 32, "@everyone", "\u200b" * 32, "", "   ", "`||**"]))
def args(*positional: st.SearchStrategy[Any], **keywords: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple]:
    return st.tuples(st.tuples(*positional), st.fixed_dictionaries(keywords))


def _shown_prompt_check(result: str, a: tuple, kw: dict) -> None:
    limit = a[1] if len(a) > 1 else texts.PROMPT_SHOWN_CHARS
    within(result, min(limit, DESCRIPTION), "shown_prompt")


def _spenders_check(result: str, a: tuple, kw: dict) -> None:
    check_field_value(result, "spenders_text")
    no_mass_ping(result, "spenders_text")


def _choice_check(result: str, a: tuple, kw: dict) -> None:
    within(result, CHOICE, "choice name")
    shows_something(result, "choice name")


def _period_start_check(result: Any, a: tuple, kw: dict) -> None:
    assert result is None or isinstance(result, float)


def content(result: str, a: tuple, kw: dict) -> None:
    check_content(result)


def field(result: str, a: tuple, kw: dict) -> None:
    check_field_value(result)  # embeds never ping, so member text there only needs its markdown escaped


def footer(result: str, a: tuple, kw: dict) -> None:
    within(result, FOOTER, "footer")
    shows_something(result, "footer")


def message(result: tuple[str, discord.Embed], a: tuple, kw: dict) -> None:
    check_message(result)


def embed(result: discord.Embed, a: tuple, kw: dict) -> None:
    check_embed(result)


def audit_line_check(result: str, a: tuple, kw: dict) -> None:
    check_content(result, "audit line")
    within(result, texts.AUDIT_LINE_CHARS, "audit line")


# Each public function of bot.texts: a strategy of (args, kwargs), and what its result must satisfy (where it goes).
def _optional_content(result: str | None, a: tuple, kw: dict) -> None:
    if result is not None:
        check_content(result, "warning")


REGISTRY: dict[str, tuple[st.SearchStrategy[tuple], Callable[[Any, tuple, dict], None]]] = {
    "cost_text": (args(generations), field),
    "shown_prompt": (st.one_of(args(prompts), args(prompts, st.integers(1, 4096))), _shown_prompt_check),
    "elapsed": (args(times), content),
    "options_line": (args(generations), field),
    "footer": (args(generations), footer),
    "status_footer": (args(generations), footer),
    "status_message": (args(generations, st.sampled_from(list(texts.STATE_LABELS)) | wild_text(300), optional_times,
                            eta=optional_times), message),
    "undelivered_text": (args(lists_of(generations)), content),
    "finished_status": (args(generations), message),
    "result_message": (args(generations), message),
    "failure_text": (st.one_of(args(st.none() | wild_text(3000)), args(wild_text(3000), st.integers(1, 1024))), field),
    "status_embed": (args(budgets, lists_of(generations), costs, st.none() | amounts), embed),
    "clip_details": (args(generations, ahead=st.none() | amounts, now=optional_times), embed),
    "clip_missing": (args(st.integers(-(2**63), 2**63 - 1)), embed),
    "clip_choice_name": (args(generations), _choice_check),
    "abandoned_message": (args(generations), content),
    "accepted_text": (args(generations), content),
    "in_doubt_text": (args(generations), content),
    "when": (args(optional_times), content),
    "refusal": (args(refusals, costs), content),
    "budget_text": (args(budgets, costs), field),
    "limits_text": (args(guild_settings), content),
    "period_start": (args(st.sampled_from(Period), st.floats(0, 2e9)), _period_start_check),
    "spenders_text": (args(lists_of(spenders)), _spenders_check),
    "books_text": (args(provider_totals), field),
    "stale_prices_text": (args(optional_prices), _optional_content),
    "report_embed": (args(st.sampled_from(Period) | wild_text(300), lists_of(spenders), lists_of(spenders),
                          st.none() | provider_totals, st.none() | provider_totals, prices=optional_prices,
                          image=st.none() | st.just("attachment://spend.png")), embed),
    "history_text": (args(lists_of(history_entries)), content),
    "member_heading": (args(names), content),
    "history_message": (args(names, lists_of(history_entries)), content),
    "cap_show_text": (args(names, budgets, costs, prices=optional_prices), content),
    "cap_set_text": (args(st.none() | snowflakes, amounts, st.sampled_from(Period), costs), content),
    "channels_text": (args(lists_of(snowflakes, 300)), content),
    "audit_line": (args(audit_entries), audit_line_check),
    "moderation_refusal": (args(st.sampled_from(list(texts.REFUSED_WHY) + ["other"]) | wild_text(100),
                                st.sampled_from(list(texts.MANAGER_ONLY_WHAT)) | wild_text(300),
                                target_user_id=st.none() | snowflakes, role_id=st.none() | snowflakes), content),
    "audit_text": (st.one_of(args(lists_of(audit_entries)),
                             args(lists_of(audit_entries), empty=st.just("No refused attempts yet."))), content),
}


def public_functions() -> set[str]:
    return {name for name, obj in inspect.getmembers(texts, inspect.isfunction)
            if not name.startswith("_") and obj.__module__ == texts.__name__}


def test_every_public_function_has_a_strategy():
    assert public_functions() - set(REGISTRY) == set(), "add a strategy and a check for these to REGISTRY"
    assert set(REGISTRY) - public_functions() == set(), "these are no longer public functions of bot.texts"


@pytest.mark.parametrize("name", sorted(REGISTRY))
@FIT
@given(data=st.data())
def test_every_text_fits_discord(name: str, data: st.DataObject):
    strategy, check = REGISTRY[name]
    positional, keywords = data.draw(strategy, label="arguments")
    check(getattr(texts, name)(*positional, **keywords), positional, keywords)


# The fitting helpers themselves ------------------------------------------------------------

@FIT
@given(text=wild_text(300), limit=st.integers(0, 400))
def test_truncate_keeps_a_prefix_and_says_so(text: str, limit: int):
    for cut in (fitting.truncate(text, limit), fitting.truncate_words(text, limit)):
        within(cut, limit, "truncate")
        if cut != text:
            assert cut.endswith("…") or limit < 1
            assert text.startswith(cut[:-1].rstrip()) or limit < 1


@FIT
@given(text=wild_text(60), limit=st.integers(0, 80))
def test_fit_escaped_never_splits_an_escape(text: str, limit: int):
    escape = fitting.escape_text
    shown = fitting.fit_escaped(text, limit, escape)
    within(shown, limit, "fit_escaped")
    if shown != escape(text) and limit >= 1:
        # What is shown is the escape of a whole prefix of the raw text, then "…": no escape cut in half.
        assert shown.endswith("…")
        assert any(shown[:-1] == escape(text[:k]).rstrip() for k in range(len(text) + 1)), shown


@FIT
@given(items=st.lists(wild_text(200), max_size=many), limit=st.integers(20, 2000))
def test_join_within_keeps_whole_items_and_counts_the_rest(items: list[str], limit: int):
    joined = fitting.join_within(items, limit)
    within(joined, limit, "join_within")
    lines = joined.split("\n") if joined else []
    match = re.fullmatch(r"… and (\d+) more", lines[-1]) if lines else None
    left_out = int(match.group(1)) if match else 0
    assert "\n".join(items[: len(items) - left_out]) == "\n".join(lines[:-1] if match else lines)


# The cases that failed for real --------------------------------------------------------------

def generation(number: int, *, prompt: str = "a red balloon", url: str | None = None, status: str = "completed",
               **changes: Any) -> Generation:
    values = dict(id=number, api_id=f"job-{number}", dialect="unified", guild_id=1, channel_id=2, user_id=3,
                  status_channel_id=None, status_message_id=None, result_channel_id=None, result_message_id=None,
                  kind=Kind.DREAM, parent_id=None, prompt=prompt, model="ray-2", options={"aspect_ratio": "16:9"},
                  status=Status(status), requested_at=1_700_000_000.0, submitted_at=None, running_at=None,
                  completed_at=None, failed_at=None, posted_at=None, video_url=url, failure_reason=None,
                  tokens_reserved=500_000, tokens_charged=500_000 if status == "completed" else None, post_attempts=0)
    return Generation(**{**values, **changes})


def budget() -> MemberBudget:
    return MemberBudget(guild_id=1, user_id=3, cost=500_000, cap=2_000_000, cap_is_override=False, period=Period.WEEK,
                        period_started_at=0.0, period_resets_at=86_400.0, spent=1_000_000, remaining=1_000_000,
                        running=0, running_limit=2, guild_running=0, guild_running_limit=None, blocked=False,
                        cooldown_seconds=0, retry_after_seconds=0.0, refusal=None, checked_at=3_600.0)


def fields_of(embed: discord.Embed) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.to_dict()["fields"]}


def test_status_with_eight_finished_clips_fits_and_says_how_many_more():
    """The reported failure: 8 finished clips with signed CDN URLs made a 1,600-character field."""
    url = "https://cdn.example/videos/" + "x" * 150 + ".mp4?sig=abc"
    recent = [generation(n, prompt="a long prompt about a red balloon over the sea at night", url=url)
              for n in range(8, 0, -1)]
    embed = texts.status_embed(budget(), recent, 500_000)
    check_embed(embed)
    lines = fields_of(embed)["Recent"].splitlines()
    shown = len(lines) - 1
    assert 0 < shown < 8 and lines[-1] == f"… and {8 - shown} more"
    assert lines[0] == f"#8 ✅ done · [video]({url}) · a long prompt about a red balloon over the sea at night"


def test_status_with_25_maximal_clips_fits_shows_the_newest_and_and_n_more():
    prompt = "🎈*" * (MAX_PROMPT_CHARS // 2)
    recent = [generation(n, prompt=prompt, url="https://cdn.example/" + "v" * 2100) for n in range(25, 0, -1)]
    embed = texts.status_embed(budget(), recent, 500_000)
    check_embed(embed)
    lines = fields_of(embed)["Recent"].splitlines()
    assert lines[0].startswith("#25 ✅ done · video: `/status clip:25` · ")  # a 2,100-char link can't be in a field
    assert lines[0].endswith("…") and all(line.startswith(f"#{25 - i} ") for i, line in enumerate(lines[:-1]))
    assert re.fullmatch(r"… and (\d+) more", lines[-1]) and int(lines[-1].split()[2]) == 25 - (len(lines) - 1)


def test_the_longest_prompt_is_ellipsised_and_its_escapes_stay_whole():
    shown = texts.shown_prompt("*" * MAX_PROMPT_CHARS)
    assert shown.endswith("…") and len(shown) <= texts.PROMPT_SHOWN_CHARS
    assert shown[:-1] == "\\*" * ((texts.PROMPT_SHOWN_CHARS - 1) // 2)  # 449 whole escapes, no lone backslash
    emoji = texts.shown_prompt("😀" * MAX_PROMPT_CHARS)
    assert emoji.endswith("…") and utf16(emoji) <= texts.PROMPT_SHOWN_CHARS and set(emoji[:-1]) == {"😀"}
    assert texts.shown_prompt("a *star* falls") == "a \\*star\\* falls"


def test_a_result_with_a_2100_character_url_keeps_the_url_whole():
    url = "https://cdn.example/" + "v" * 2100
    content, embed = texts.result_message(generation(7, url=url, prompt="*" * MAX_PROMPT_CHARS))
    check_message((content, embed))
    assert url not in content and f"Video: {url}" in embed.description
    details = texts.clip_details(generation(7, url=url), now=0.0)
    check_embed(details)
    assert f"Video: {url}" in details.description.splitlines()


def test_a_result_with_a_short_url_still_leads_with_it():
    content, _ = texts.result_message(generation(7, url="https://cdn.example/v.mp4"))
    assert content == "https://cdn.example/v.mp4\n✅ Clip #7 for <@3> is ready."


def test_a_huge_audit_log_fits_and_a_huge_entry_does_not_crowd_out_the_others():
    channels = AuditEntry(1, 1, 9, "set_allowed_channels", None, {"channel_ids": list(range(10**17, 10**17 + 300))},
                          1_700_000_000.0)
    block = AuditEntry(2, 1, 9, "block", 5, {"previous": False}, 1_700_000_000.0)
    text = texts.audit_text([channels, block] * 25)
    check_content(text)
    lines = text.splitlines()
    assert lines[0].endswith(" more") and "<#100000000000000000>" in lines[0]
    assert lines[1] == "<t:1700000000:f> <@9> blocked <@5>"
    assert re.fullmatch(r"… and \d+ older entries not shown", lines[-1])


def test_member_names_and_prompts_in_history_can_neither_format_nor_ping():
    entries = [HistoryEntry(generation(n, prompt="@everyone <@123456789012345678> **look**"), 500_000, 500_000, 0)
               for n in range(15)]
    text = texts.history_message("**@everyone**" + "😀" * 300, entries)
    check_content(text)
    heading, first = text.splitlines()[:2]
    assert heading.startswith("**\\*\\*@\u200beveryone\\*\\*😀") and heading.endswith("…**")
    assert "@\u200beveryone <@\u200b123456789012345678> \\*\\*look\\*\\*" in first


# Money as members and moderators read it ----------------------------------------------------

def test_the_confirmation_shows_the_price_before_it_is_spent():
    clip = generation(7, status="requested", tokens_reserved=13_000_000, tokens_charged=None,
                      price_text="$0.65/s × 10 s")
    assert texts.accepted_text(clip) == (
        "Clip #7 is on its way: 13,000,000 credits ($6.50) reserved ($0.65/s × 10 s). You pay what the video "
        "service bills for it and get the rest back; failed clips are refunded.")
    # How it was priced is text from the price book: shown short, escaped, never pinging.
    odd = texts.accepted_text(generation(7, status="requested", price_text="@everyone " + "*" * 500))
    check_content(odd)
    assert "@\u200beveryone" in odd and "\\*" in odd


def test_a_lost_answer_tells_the_member_the_reserve_is_held_then_posted_or_refunded():
    clip = generation(9, status="requested", api_id=None, in_doubt_since=1.0, tokens_charged=None,
                      tokens_reserved=4_500_000)
    text = texts.in_doubt_text(clip)
    check_content(text)
    assert text.startswith("Clip #9: the video service didn't confirm")
    for words in ("checking its records", "4,500,000 credits ($2.25)", "posted here", "refunded in full",
                  "Nothing is charged twice"):
        assert words in text, words
    content, embed = texts.status_message(clip, "requested")
    assert content.endswith("clip #9: 🔎 checking with the video service")
    assert fields_of(embed)["Cost"] == "4,500,000 credits ($2.25) reserved"

    refunded = generation(9, status="failed", api_id=None, in_doubt_since=1.0, tokens_charged=0,
                          tokens_reserved=4_500_000)
    assert texts.abandoned_message(refunded) == (
        "❌ Clip #9 for <@3> was not made: the video service didn't confirm it, and its records show no clip was "
        "made for it. 4,500,000 credits ($2.25) refunded in full; nothing was charged.")
    never_sent = generation(9, status="failed", api_id=None, tokens_charged=0, tokens_reserved=4_500_000)
    assert "the bot restarted before it reached the video service. 4,500,000 credits ($2.25) refunded in full" \
        in texts.abandoned_message(never_sent)


def test_the_result_post_shows_the_charge_and_what_was_refunded_or_overran():
    def cost(**changes) -> str:
        return fields_of(texts.result_message(generation(5, url="https://cdn.example/v.mp4", **changes))[1])["Cost"]

    assert cost(tokens_reserved=4_500_000, tokens_charged=4_500_000) == "4,500,000 credits ($2.25)"
    assert cost(tokens_reserved=4_500_000, tokens_charged=4_000_000) == \
        "4,000,000 credits ($2.00); 500,000 credits ($0.25) of the reserve refunded"
    assert cost(tokens_reserved=4_500_000, tokens_charged=5_000_000) == \
        "5,000,000 credits ($2.50): cost 500,000 credits ($0.25) more than reserved"
    assert cost(status="failed", tokens_reserved=4_500_000, tokens_charged=0) == \
        "nothing: 4,500,000 credits ($2.25) refunded"


def test_no_text_says_tokens_any_more():
    shown = [texts.budget_text(budget(), 4_500_000), texts.cap_set_text(None, 20_000_000, "month", 4_500_000),
             texts.clip_details(generation(1), now=0.0).description,
             texts.audit_line(AuditEntry(1, 1, 9, "set_guild_cap", None,
                                         {"cap_tokens": 20_000_000, "period": "month",
                                          "previous": {"cap_tokens": 1_000_000, "period": "day"}}, 1.0))]
    assert shown[1].startswith("Default cap for everyone: 20,000,000 credits ($10.00) per month, about 4 plain clips.")
    assert shown[3].endswith("set the default cap to 20,000,000 credits ($10.00) per month "
                             "(was 1,000,000 credits ($0.50) per day)")
    assert not any("token" in text.lower() for text in shown)
