"""bot.prices: money arithmetic, reading the catalogue's pricing blocks, and the PriceService
(catalogue, store cache, fallback file; ETags; staleness; the refresh loop)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal

import pytest

from bot.prices import (
    CACHE_KEY,
    CREDITS_PER_USD,
    FALLBACK_PRICE_FILE,
    CatalogueAnswer,
    PriceBook,
    PriceFileError,
    PriceService,
    Quote,
    credits_to_usd,
    format_credits,
    format_money,
    format_usd,
    load_fallback,
    load_price_file,
    parse_amount,
    usd_to_credits,
)
from bot.prices import service as service_module
from storage import Store

T0 = 1_780_000_000.0
HOUR = 3600.0

# The doc's own "Reading prices" example, as a catalogue item.
DOC_EXAMPLE = {
    "id": "luma/ray-3.2",
    "aliases": ["ray-3.2"],
    "pricing": {
        "kind": "variants",
        "dimensions": ["resolution"],
        "variants": [
            {"when": {"resolution": "720p"}, "price": 0.39, "unit": "second", "per": 1},
            {"when": {"resolution": "1080p"}, "price": 0.65, "unit": "second", "per": 1},
        ],
    },
}

RAY_32_DEFAULTS = {"resolution": "720p", "duration": 5, "aspect_ratio": "16:9", "hdr": False, "loop": False}


def item(model_id: str, pricing: object, aliases: list[str] | None = None) -> dict:
    """A catalogue item; "luma/ray-2" gets the alias "ray-2", as the catalogue gives it."""
    if aliases is None:
        aliases = [model_id.rsplit("/", 1)[1]] if "/" in model_id else []
    return {"id": model_id, "aliases": aliases, "pricing": pricing}


def fixed(unit: str, price: object = 0.06, per: object = 1) -> dict:
    return {"kind": "fixed", "currency": "USD", "units": [{"name": unit, "price": price, "per": per}]}


def per_second(price: float, res: str = "1080p") -> dict:
    return {"kind": "variants", "dimensions": ["resolution"],
            "variants": [{"when": {"resolution": res}, "price": price, "unit": "second", "per": 1}]}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemoryStore:
    def __init__(self, meta: dict[str, str] | None = None) -> None:
        self.meta = dict(meta or {})
        self.writes = 0

    async def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self.writes += 1
        self.meta[key] = value


class FakeSource:
    """Answers (or raises) in turn, the last one forever; records the ids and ETag it was given."""

    def __init__(self, *answers: CatalogueAnswer | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[list[str], str | None]] = []

    async def models_catalogue(self, ids, etag):
        self.calls.append((list(ids), etag))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    @property
    def etags(self) -> list[str | None]:
        return [etag for _, etag in self.calls]


def ok(etag: str, *items: dict) -> CatalogueAnswer:
    return CatalogueAnswer(status=200, etag=etag, data=list(items))


NOT_MODIFIED = CatalogueAnswer(status=304, etag=None, data=None)
IDS = ["luma/ray-2", "luma/ray-3.2"]


# Money ------------------------------------------------------------------------------------


def test_usd_to_credits_is_exact_and_rounds_up():
    assert CREDITS_PER_USD == 2_000_000
    assert usd_to_credits(Decimal("3.25")) == 6_500_000
    assert usd_to_credits("0.05") == 100_000
    assert usd_to_credits(5) == 10_000_000
    assert usd_to_credits("0.0000005") == 1
    assert usd_to_credits("0.00000051") == 2          # a part of a credit is a whole credit
    assert usd_to_credits("0") == 0
    assert credits_to_usd(6_500_000) == Decimal("3.25")
    assert credits_to_usd(1) == Decimal("0.0000005")


@pytest.mark.parametrize(("credits", "text"), [
    (6_500_000, "$3.25"),
    (2_469_000_000, "$1,234.50"),
    (0, "$0.00"),
    (1, "<$0.01"),
    (19_999, "<$0.01"),
    (20_000, "$0.01"),
    (30_000, "$0.02"),             # half a cent rounds up
    (2_000_000_000_000, "$1,000,000.00"),
    (-6_500_000, "-$3.25"),
])
def test_format_usd(credits, text):
    assert format_usd(credits) == text


def test_format_credits_and_money():
    assert format_credits(6_500_000) == "6,500,000 credits"
    assert format_credits(1) == "1 credit"
    assert format_credits(0) == "0 credits"
    assert format_money(6_500_000) == "6,500,000 credits ($3.25)"
    assert format_money(5) == "5 credits (<$0.01)"


@pytest.mark.parametrize(("value", "unit", "credits"), [
    ("$10", "dollars", 20_000_000),
    ("10", "dollars", 20_000_000),
    (10, "dollars", 20_000_000),
    ("  2.50 ", "dollars", 5_000_000),
    ("1,234.50", "dollars", 2_469_000_000),
    ("10.500", "dollars", 21_000_000),      # trailing zeros are still whole cents
    (0.3, "dollars", 600_000),              # Decimal(0.3) would be 0.2999…; Decimal(str(0.3)) is 0.3
    (1.1, "dollars", 2_200_000),
    (19.99, "dollars", 39_980_000),
    (Decimal("0.01"), "dollars", 20_000),
    ("0", "dollars", 0),
    ("6500000", "credits", 6_500_000),
    ("6,500,000", "credits", 6_500_000),
    (6_500_000, "credits", 6_500_000),
    (5e6, "credits", 5_000_000),            # a float option with no fraction is fine
    (1e15, "credits", 10**15),
])
def test_parse_amount(value, unit, credits):
    assert parse_amount(value, unit) == credits
    assert type(parse_amount(value, unit)) is int


@pytest.mark.parametrize(("value", "unit", "words"), [
    (-1, "dollars", "zero or more"),
    ("-$5", "dollars", "zero or more"),
    (float("nan"), "dollars", "ordinary number"),
    (float("inf"), "credits", "ordinary number"),
    ("NaN", "credits", "ordinary number"),
    ("Infinity", "dollars", "ordinary number"),
    ("sNaN", "dollars", "ordinary number"),
    (0.1 + 0.2, "dollars", "two decimal places"),   # 0.30000000000000004, not a whole cent
    ("1.005", "dollars", "two decimal places"),
    ("1.5", "credits", "whole numbers"),
    (2.5, "credits", "whole numbers"),
    ("1e16", "credits", "too large"),
    (1e16, "credits", "too large"),
    ("500000000.01", "dollars", "too large"),
    ("1e999999", "dollars", "too large"),
    ("ten", "dollars", "number"),
    ("", "credits", "enter an amount"),
    ("1,5", "dollars", "without commas"),          # never read a decimal comma as 15
    ("$5", "credits", "dollar amount"),
    (True, "credits", "number"),
])
def test_parse_amount_refuses_politely(value, unit, words):
    with pytest.raises(ValueError) as caught:
        parse_amount(value, unit)
    message = str(caught.value)
    assert words in message
    assert message[0].isupper() and message.endswith(".") and "\n" not in message


def test_parse_amount_edge_of_the_limit():
    assert parse_amount("500000000", "dollars") == 10**15
    assert parse_amount("500000000.00", "dollars") == 10**15


# The price book -----------------------------------------------------------------------------


def test_doc_example_is_exact():
    book = PriceBook.from_catalogue([DOC_EXAMPLE])
    quote = book.quote("luma/ray-3.2", {**RAY_32_DEFAULTS, "resolution": "1080p", "duration": 5})
    assert quote == Quote(model="luma/ray-3.2", credits=6_500_000, usd=Decimal("3.25"),
                          rate_text="$0.65/s × 5 s", source="catalogue")


def test_ray_32_1080p_ten_seconds():
    quote = PriceBook.from_catalogue([DOC_EXAMPLE]).quote(
        "luma/ray-3.2", {"resolution": "1080p", "duration": 10, "hdr": False, "aspect_ratio": "16:9"})
    assert quote is not None
    assert quote.credits == 13_000_000 and quote.usd == Decimal("6.50")
    assert quote.rate_text == "$0.65/s × 10 s"
    assert format_money(quote.credits) == "13,000,000 credits ($6.50)"


def test_the_bundled_file_has_the_last_known_prices():
    book = load_fallback()
    assert book.source == "file" and book.as_of == "2026-08-01"
    assert book.model_ids == ["luma/ray-2", "luma/ray-flash-2", "luma/ray-3.2"]
    raw = json.loads(FALLBACK_PRICE_FILE.read_text())
    assert raw["object"] == "list" and raw["as_of"] == "2026-08-01"

    def rate(model, **params):
        q = book.quote(model, {"duration": 1, **params})
        return None if q is None else q.usd

    assert [rate("luma/ray-2", resolution=r) for r in ("540p", "720p", "1080p", "4k")] == [
        Decimal("0.12"), Decimal("0.24"), Decimal("0.45"), Decimal("0.90")]
    assert rate("luma/ray-flash-2", resolution="4k") == Decimal("0.06")
    sdr = [rate("luma/ray-3.2", resolution=r, hdr=False) for r in ("360p", "540p", "720p", "1080p")]
    assert sdr == [Decimal("0.13"), Decimal("0.26"), Decimal("0.39"), Decimal("0.65")]
    assert rate("luma/ray-3.2", resolution="720p", hdr=True) == Decimal("0.78")
    assert rate("luma/ray-3.2", resolution="1080p", hdr=True) == Decimal("1.30")
    assert rate("luma/ray-3.2", resolution="360p", hdr=True) is None     # no HDR below 720p
    assert book.quote("luma/ray-2", {"resolution": "1080p", "duration": 9}).credits == 8_100_000


def test_hdr_variant_matches_booleans_as_booleans():
    book = load_fallback()
    base = {"resolution": "1080p", "duration": 5}
    assert book.quote("luma/ray-3.2", {**base, "hdr": True}).credits == 13_000_000
    assert book.quote("luma/ray-3.2", {**base, "hdr": "true"}).credits == 13_000_000
    assert book.quote("luma/ray-3.2", {**base, "hdr": "TRUE"}).credits == 13_000_000
    assert book.quote("luma/ray-3.2", {**base, "hdr": False}).credits == 6_500_000
    assert book.quote("luma/ray-3.2", {**base, "hdr": 1}) is None        # 1 is not a boolean
    assert book.quote("luma/ray-3.2", base) is None                     # hdr unknown: no guess
    # A catalogue that writes its booleans as strings matches a Python bool too.
    stringly = item("m", {"kind": "variants", "dimensions": ["hdr"],
                          "variants": [{"when": {"hdr": "true"}, "price": 2, "unit": "video", "per": 1}]})
    assert PriceBook.from_catalogue([stringly]).quote("m", {"hdr": True}).credits == 4_000_000


def test_fixed_kind():
    book = PriceBook.from_catalogue([
        item("luma/ray-flash-2", fixed("second", 0.06)),
        item("per-video", fixed("video", 0.5)),
        item("per-two", fixed("generation", 1, per=2)),
        item("two-units", {"kind": "fixed", "units": [{"name": "second", "price": 0.1, "per": 1},
                                                      {"name": "request", "price": 0.05, "per": 1}]}),
        item("half-token", {"kind": "fixed", "units": [{"name": "second", "price": 0.1, "per": 1},
                                                       {"name": "token", "price": 3, "per": 1_000_000}]}),
    ])
    flash = book.quote("luma/ray-flash-2", {"duration": 5, "resolution": "720p"})
    assert (flash.credits, flash.usd, flash.rate_text) == (600_000, Decimal("0.30"), "$0.06/s × 5 s")
    assert book.quote("luma/ray-flash-2", {"duration": 9}).credits == 1_080_000
    assert book.quote("luma/ray-flash-2", {"duration": "5"}).credits == 600_000   # the schema's default is "5"
    assert book.quote("luma/ray-flash-2", {}) is None                          # per second, no duration
    video = book.quote("per-video", {"duration": 9})
    assert (video.credits, video.rate_text) == (1_000_000, "$0.50/video")
    assert book.quote("per-two", {}).credits == 1_000_000                      # price / per
    both = book.quote("two-units", {"duration": 10})
    assert both.usd == Decimal("1.05") and both.rate_text == "$0.10/s × 10 s + $0.05/request"
    assert book.quote("half-token", {"duration": 10}) is None                  # every unit must be quotable


def test_per_is_always_read_with_price():
    book = PriceBook.from_catalogue([item("m", fixed("seconds", 6.5, per=10))])
    quote = book.quote("m", {"duration": 10})
    assert quote.usd == Decimal("6.5") and quote.credits == 13_000_000
    assert quote.rate_text == "$6.50 per 10 s × 10 s"


def test_alias_and_case_insensitive_lookup():
    book = PriceBook.from_catalogue([item("luma/ray-3.2", DOC_EXAMPLE["pricing"], ["ray-3.2", "Ray-Three"])])
    params = {"resolution": "1080P", "duration": 5}
    for name in ("luma/ray-3.2", "LUMA/Ray-3.2", "ray-3.2", "RAY-3.2", "ray-three", " ray-3.2 "):
        quote = book.quote(name, params)
        assert quote is not None and quote.model == "luma/ray-3.2" and quote.credits == 6_500_000, name
    assert book.resolve("Ray-Three") == "luma/ray-3.2"
    assert "ray-3.2" in book and "ray-4" not in book
    assert book.quote("ray-4", params) is None


def test_an_alias_never_hides_another_models_id():
    book = PriceBook.from_catalogue([item("a", fixed("video", 1), ["b"]), item("b", fixed("video", 2))])
    assert book.quote("b", {}).model == "b" and book.quote("b", {}).credits == 4_000_000


def test_variable_kind_and_unknown_units_are_not_quotable():
    book = PriceBook.from_catalogue([
        item("variable", {"kind": "variable", "currency": "USD"}),
        item("tokens", {"kind": "fixed", "units": [{"name": "token", "measure": "output", "price": 3.25,
                                                    "per": 1_000_000}]}),
        item("pixels", {"kind": "variants", "dimensions": ["resolution"],
                        "variants": [{"when": {"resolution": "1080p"}, "price": 0.01, "unit": "megapixel",
                                      "per": 1}]}),
        item("euros", {**fixed("second", 0.1), "currency": "EUR"}),
    ])
    params = {"resolution": "1080p", "duration": 5}
    assert [book.quote(m, params) for m in ("variable", "tokens", "pixels", "euros")] == [None] * 4


def test_no_matching_variant_is_none():
    book = PriceBook.from_catalogue([DOC_EXAMPLE])
    assert book.quote("luma/ray-3.2", {"resolution": "4k", "duration": 5}) is None
    assert book.quote("luma/ray-3.2", {"duration": 5}) is None


def test_disagreeing_variants_are_no_quote():
    twice = item("m", {"kind": "variants", "dimensions": ["resolution"], "variants": [
        {"when": {"resolution": "1080p", "type": "video"}, "price": 1, "unit": "video", "per": 1},
        {"when": {"resolution": "1080p", "type": "edit"}, "price": 2, "unit": "video", "per": 1}]})
    assert PriceBook.from_catalogue([twice]).quote("m", {"resolution": "1080p"}) is None


@pytest.mark.parametrize("pricing", [
    None,
    "cheap",
    {},
    {"kind": "fixed"},
    {"kind": "fixed", "units": []},
    {"kind": "fixed", "units": [{"name": "second", "per": 1}]},                    # no price
    {"kind": "fixed", "units": [{"name": "second", "price": 0.06}]},               # no per
    {"kind": "fixed", "units": [{"name": "second", "price": 0.06, "per": 0}]},
    {"kind": "fixed", "units": [{"name": "second", "price": 0.06, "per": -1}]},
    {"kind": "fixed", "units": [{"name": "second", "price": -0.06, "per": 1}]},
    {"kind": "fixed", "units": [{"name": "second", "price": "lots", "per": 1}]},
    {"kind": "fixed", "units": [{"name": "second", "price": True, "per": 1}]},
    {"kind": "fixed", "units": [{"name": "second", "price": "NaN", "per": 1}]},
    {"kind": "fixed", "units": [{"name": "second", "price": 0.06, "per": "Infinity"}]},
    {"kind": "fixed", "units": [{"price": 0.06, "per": 1}]},                       # no unit
    {"kind": "fixed", "units": ["0.06/s"]},
    {"kind": "variants", "dimensions": ["resolution"]},
    {"kind": "variants", "dimensions": "resolution", "variants": DOC_EXAMPLE["pricing"]["variants"]},
    {"kind": "variants", "dimensions": ["resolution"], "variants": [{"price": 0.65, "unit": "second", "per": 1}]},
    {"kind": "variants", "dimensions": ["resolution"],
     "variants": [{"when": {"resolution": "1080p"}, "price": None, "unit": "second", "per": 1}]},
    {"kind": "per-vibe", "units": [{"name": "second", "price": 1, "per": 1}]},
])
def test_malformed_blocks_are_unquotable_and_never_raise(pricing):
    book = PriceBook.from_catalogue([item("m", pricing), item("fine", fixed("second", 0.1))])
    assert book.quote("m", {"resolution": "1080p", "duration": 5}) is None
    assert book.quote("fine", {"duration": 5}).credits == 1_000_000      # one bad block spoils only itself
    assert not book.has_pricing("m") and book.has_pricing("fine")
    assert isinstance(book.rates("m")[""], str)


@pytest.mark.parametrize("params", [
    {"resolution": "1080p", "duration": 0},
    {"resolution": "1080p", "duration": -5},
    {"resolution": "1080p", "duration": "five"},
    {"resolution": "1080p", "duration": True},
    {"resolution": "1080p", "duration": float("nan")},
    {"resolution": None, "duration": 5},
])
def test_odd_request_values_are_no_quote(params):
    assert PriceBook.from_catalogue([DOC_EXAMPLE]).quote("ray-3.2", params) is None


def test_catalogue_items_without_an_id_are_skipped():
    book = PriceBook.from_catalogue([{"aliases": ["x"]}, "junk", {"id": ""}, DOC_EXAMPLE])
    assert book.model_ids == ["luma/ray-3.2"]
    with pytest.raises(ValueError):
        PriceBook.from_catalogue({"data": []})  # type: ignore[arg-type]


def test_json_round_trip():
    book = PriceBook.from_catalogue([{**DOC_EXAMPLE, "info": {"name": "Ray 3.2"}, "tags": ["x"]}])
    cached = json.loads(json.dumps(book.to_json()))
    assert cached["data"] == [DOC_EXAMPLE]                  # only id, aliases and pricing are kept
    again = PriceBook.from_json(cached)
    assert again == book and again.source == "cache"
    assert PriceBook.from_json(json.dumps(cached)).quote("ray-3.2", {"resolution": "1080p", "duration": 5}) \
        == Quote("luma/ray-3.2", 6_500_000, Decimal("3.25"), "$0.65/s × 5 s", "cache")
    with pytest.raises(ValueError):
        PriceBook.from_json({"object": "list"})


def test_changes_from_names_each_changed_rate():
    old = load_fallback()
    new_data = old.to_json()["data"]
    new_data[0]["pricing"]["variants"][2]["price"] = 0.50              # ray-2 1080p
    new_data = [d for d in new_data if d["id"] != "luma/ray-flash-2"] + [item("luma/ray-4", fixed("second", 1))]
    lines = PriceBook.from_catalogue(new_data).changes_from(old)
    assert lines == [
        "luma/ray-2 resolution=1080p: $0.45/s → $0.50/s",
        "luma/ray-4: new, $1.00/s",
        "luma/ray-flash-2: no longer listed",
    ]
    assert load_fallback().changes_from(old) == []


# Price files --------------------------------------------------------------------------------


def test_price_file_forms(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([DOC_EXAMPLE]))
    only_data = tmp_path / "data.json"
    only_data.write_text(json.dumps({"data": [DOC_EXAMPLE]}))
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"luma/ray-3.2": DOC_EXAMPLE["pricing"], "luma/ray-flash-2": fixed("second")}))
    params = {"resolution": "1080p", "duration": 5}
    for path in (bare, only_data, table):
        book = load_price_file(path)
        assert book.source == "file"
        assert book.quote("LUMA/RAY-3.2", params).credits == 6_500_000, path
    assert load_price_file(table).quote("luma/ray-flash-2", params).credits == 600_000


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read"),
    ("{not json", "not valid JSON"),
    ('"a string"', "expected"),
    ('{"data": {}}', "not a list"),
    ("[]", "no models"),
    ('[{"aliases": []}]', "no id"),
    ('{"luma/ray-2": {"kind": "fixed", "units": [{"name": "second", "price": 0.1}]}}', "luma/ray-2"),
    ('{"luma/ray-2": null}', "no pricing block"),
])
def test_bad_price_files_fail_in_one_line(tmp_path, content, words):
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PriceFileError) as caught:
        load_price_file(path)
    message = str(caught.value)
    assert str(path) in message and words in message and "\n" not in message


# The service --------------------------------------------------------------------------------


def service(store, source, *, clock=None, **kw) -> PriceService:
    return PriceService(store, source, model_ids=kw.pop("model_ids", IDS), clock=clock or Clock(), **kw)


def cache_value(book: PriceBook, *, etag="W/\"old\"", checked_at=T0, model_ids=IDS) -> str:
    return json.dumps({"etag": etag, "fetched_at": checked_at, "checked_at": checked_at,
                       "model_ids": sorted(model_ids), "book": book.to_json()})


P1080 = {"resolution": "1080p", "duration": 5, "hdr": False}


async def test_load_from_cache_when_the_source_fails(caplog):
    cached = PriceBook.from_catalogue([item("luma/ray-2", per_second(0.50))])
    store = MemoryStore({CACHE_KEY: cache_value(cached)})
    source = FakeSource(ConnectionError("no route to host"))
    prices = service(store, source, clock=Clock(T0 + HOUR), fallback=load_fallback())
    with caplog.at_level(logging.WARNING, logger="bot.prices"):
        await prices.load()
    assert source.etags == ['W/"old"']                    # it did try, with the cached ETag
    quote = prices.quote("ray-2", P1080)
    assert quote.credits == 5_000_000 and quote.source == "cache"   # the cache's $0.50, not the file's $0.45
    assert prices.status().source == "cache" and prices.status().checked_at == T0 and not prices.stale
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no route to host" in warnings[0].getMessage()


async def test_200_then_304_sends_if_none_match():
    store = MemoryStore()
    clock = Clock()
    source = FakeSource(ok('W/"v1"', DOC_EXAMPLE), NOT_MODIFIED)
    prices = service(store, source, clock=clock)
    await prices.load()
    assert source.calls == [(IDS, None)]                  # nothing cached: no If-None-Match
    assert prices.quote("ray-3.2", P1080).source == "catalogue"
    clock.now += HOUR
    assert await prices.refresh() is True
    assert source.etags == [None, 'W/"v1"']
    status = prices.status()
    assert (status.source, status.etag, status.checked_at, status.fetched_at) == ("catalogue", 'W/"v1"', T0 + HOUR, T0)
    saved = json.loads(store.meta[CACHE_KEY])
    assert saved["etag"] == 'W/"v1"' and saved["checked_at"] == T0 + HOUR and saved["fetched_at"] == T0
    assert PriceBook.from_json(saved["book"]) == PriceBook.from_catalogue([DOC_EXAMPLE])


async def test_changed_etag_replaces_the_book_and_persists(tmp_path, caplog):
    clock = Clock()
    path = tmp_path / "db.sqlite3"
    cheaper = {**DOC_EXAMPLE, "pricing": per_second(0.60)}
    async with await Store.open(path) as store:
        source = FakeSource(ok('W/"v1"', DOC_EXAMPLE), ok('W/"v2"', cheaper))
        prices = service(store, source, clock=clock)
        await prices.load()
        assert prices.quote("ray-3.2", P1080).credits == 6_500_000
        clock.now += HOUR
        with caplog.at_level(logging.INFO, logger="bot.prices"):
            assert await prices.refresh() is True
        assert source.etags == [None, 'W/"v1"']
        assert prices.quote("ray-3.2", P1080).credits == 6_000_000 and prices.status().etag == 'W/"v2"'
        changed = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and "changed" in r.getMessage()]
        assert changed == ["Prices changed in the catalogue: luma/ray-3.2 resolution=720p: $0.39/s → not priced; "
                           "luma/ray-3.2 resolution=1080p: $0.65/s → $0.60/s"]

    # A restart, offline: the persisted book, its ETag and its times come back from the database.
    async with await Store.open(path) as store:
        source = FakeSource(OSError("offline"))
        prices = service(store, source, clock=Clock(T0 + 2 * HOUR))
        await prices.load()
        assert source.etags == ['W/"v2"']
        quote = prices.quote("ray-3.2", P1080)
        assert (quote.credits, quote.source) == (6_000_000, "cache")
        assert prices.status().checked_at == T0 + HOUR and prices.status().fetched_at == T0 + HOUR


async def test_an_etag_for_other_models_is_not_sent():
    store = MemoryStore({CACHE_KEY: cache_value(load_fallback(), model_ids=["luma/ray-2"])})
    source = FakeSource(ok('W/"new"', DOC_EXAMPLE))
    prices = service(store, source)
    await prices.load()
    assert source.etags == [None]                         # a 304 would confirm a book without ray-3.2
    assert prices.status().etag == 'W/"new"'


async def test_stale_after_stale_seconds_and_fresh_after_a_304(caplog):
    clock = Clock()
    source = FakeSource(ok('W/"v1"', DOC_EXAMPLE), RuntimeError("502 Bad Gateway"))
    prices = service(MemoryStore(), source, clock=clock, stale_seconds=24 * HOUR)
    await prices.load()
    assert not prices.stale and not prices.status().stale
    with caplog.at_level(logging.INFO, logger="bot.prices"):
        for hours in (6, 12, 18, 24.5, 30.5, 36.5):
            clock.now = T0 + hours * HOUR
            assert await prices.refresh() is False
            assert prices.stale is (hours > 24)
    stale_warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "stale" in r.getMessage()]
    assert len(stale_warnings) == 1                       # once, not every cycle
    assert prices.quote("ray-3.2", P1080).credits == 6_500_000   # stale prices still quote

    source.answers = [NOT_MODIFIED]
    clock.now = T0 + 40 * HOUR
    assert await prices.refresh() is True
    assert not prices.stale and prices.status().checked_at == T0 + 40 * HOUR
    assert source.etags[-1] == 'W/"v1"'


async def test_304_moves_only_checked_at_and_saves_it():
    clock = Clock()
    store = MemoryStore()
    source = FakeSource(ok('W/"v1"', DOC_EXAMPLE), NOT_MODIFIED)
    prices = service(store, source, clock=clock)
    await prices.load()
    book_before = prices.book
    clock.now = T0 + 5 * HOUR
    await prices.refresh()
    assert prices.book == book_before and store.writes == 2
    saved = json.loads(store.meta[CACHE_KEY])
    assert (saved["fetched_at"], saved["checked_at"], saved["etag"]) == (T0, T0 + 5 * HOUR, 'W/"v1"')


async def test_a_304_without_a_book_is_a_failure():
    prices = service(MemoryStore(), FakeSource(NOT_MODIFIED), fallback=load_fallback())
    assert await prices.refresh() is False
    assert prices.status().source == "file"


async def test_fallback_used_when_nothing_else(caplog):
    source = FakeSource(TimeoutError())
    prices = service(MemoryStore(), source, fallback=load_fallback())
    with caplog.at_level(logging.WARNING, logger="bot.prices"):
        await prices.load()
    quote = prices.quote("luma/ray-3.2", P1080)
    assert (quote.credits, quote.source) == (6_500_000, "file")
    status = prices.status()
    assert (status.source, status.stale, status.checked_at, status.etag) == ("file", True, None, None)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1

    bare = service(MemoryStore(), FakeSource(TimeoutError()))
    await bare.load()
    assert bare.quote("luma/ray-3.2", P1080) is None and bare.status().source == "none" and bare.stale


async def test_fallback_fills_in_only_what_the_catalogue_lacks():
    catalogue = [item("luma/ray-3.2", {"kind": "variable"}), item("luma/ray-2", {"kind": "fixed"})]
    prices = service(MemoryStore(), FakeSource(ok('W/"v1"', *catalogue)), fallback=load_fallback())
    await prices.load()
    assert prices.quote("ray-3.2", P1080) is None                     # the catalogue says: not quotable ahead
    assert prices.quote("ray-2", P1080).source == "file"              # malformed in the catalogue
    assert prices.quote("ray-flash-2", {"duration": 5}).source == "file"   # absent from the catalogue


async def test_a_corrupt_cache_is_ignored(caplog):
    for value in ("{nope", '"text"', '{"etag": "x"}', json.dumps({"book": {"data": []}, "checked_at": "noon"})):
        source = FakeSource(ok('W/"v1"', DOC_EXAMPLE))
        prices = service(MemoryStore({CACHE_KEY: value}), source)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.prices"):
            await prices.load()
        assert source.etags == [None], value
        assert prices.quote("ray-3.2", P1080).source == "catalogue"
        assert any("Ignoring the cached price book" in r.getMessage() for r in caplog.records), value


async def test_a_store_that_cannot_save_keeps_the_new_prices():
    class BrokenStore(MemoryStore):
        async def set_meta(self, key, value):
            raise OSError("disk full")

    prices = service(BrokenStore(), FakeSource(ok('W/"v1"', DOC_EXAMPLE)))
    await prices.load()
    assert prices.quote("ray-3.2", P1080).source == "catalogue"


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_the_loop_survives_a_raising_source_and_stops_on_stop():
    source = FakeSource(RuntimeError("boom"), ValueError("bad json"), ok('W/"v1"', DOC_EXAMPLE))
    prices = service(MemoryStore(), source, refresh_seconds=0.01)
    prices.start()
    await wait_until(lambda: len(source.calls) >= 4)
    assert prices.quote("ray-3.2", P1080).credits == 6_500_000       # it got past the failures
    task = prices._task
    started = time.monotonic()
    await prices.stop()
    assert time.monotonic() - started < 1.0 and task.done() and not task.cancelled()
    calls = len(source.calls)
    await asyncio.sleep(0.05)
    assert len(source.calls) == calls                                # nothing after stop()


async def test_the_loop_survives_an_unexpected_error(monkeypatch):
    prices = service(MemoryStore(), FakeSource(ok('W/"v1"', DOC_EXAMPLE)), refresh_seconds=0.01)
    calls = []
    real_refresh = prices.refresh

    async def refresh():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return await real_refresh()

    monkeypatch.setattr(prices, "refresh", refresh)
    prices.start()
    await wait_until(lambda: len(calls) >= 3)
    assert prices.status().source == "catalogue"
    await prices.stop()


async def test_stop_cancels_a_hanging_refresh(monkeypatch):
    monkeypatch.setattr(service_module, "STOP_GRACE_SECONDS", 0.05)

    class Hangs:
        calls = 0

        async def models_catalogue(self, ids, etag):
            Hangs.calls += 1
            await asyncio.Event().wait()

    prices = service(MemoryStore(), Hangs(), refresh_seconds=0.01)
    prices.start()
    await wait_until(lambda: Hangs.calls == 1)
    started = time.monotonic()
    await prices.stop()
    assert time.monotonic() - started < 1.0
    await prices.stop()                                             # twice is harmless


def test_refresh_jitter_stays_within_ten_percent():
    prices = service(MemoryStore(), FakeSource(NOT_MODIFIED), refresh_seconds=100)
    delays = [prices._next_delay() for _ in range(2000)]
    assert all(90 <= d <= 110 for d in delays)
    assert min(delays) < 95 and max(delays) > 105                   # it does spread the refreshes


async def test_a_catalogue_that_never_answers_does_not_hold_up_start_up(tmp_path, monkeypatch):
    from bot.prices import service as service_module
    from storage import Store

    class Hanging:
        async def models_catalogue(self, ids, etag):
            await asyncio.sleep(3600)

    monkeypatch.setattr(service_module, "START_REFRESH_SECONDS", 0.05)
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        prices = PriceService(store, Hanging(), model_ids=["luma/ray-2"], fallback=load_fallback())
        await asyncio.wait_for(prices.load(), 2)
        assert prices.status().source == "file" and prices.stale
        assert prices.quote("luma/ray-2", {"resolution": "1080p", "duration": 5}).credits == 4_500_000


async def test_after_a_failed_read_the_catalogue_is_asked_again_soon(tmp_path):
    from storage import Store

    class Down:
        async def models_catalogue(self, ids, etag):
            raise ConnectionError("catalogue unreachable")

    async with await Store.open(tmp_path / "db.sqlite3") as store:
        prices = PriceService(store, Down(), model_ids=["luma/ray-2"], refresh_seconds=6 * 3600,
                              fallback=load_fallback())
        await prices.load()
        assert prices._next_delay() <= 600 * 1.1  # not six hours with the fallback's prices
