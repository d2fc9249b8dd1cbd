"""A PriceBook: the catalogue's `pricing` blocks for our models, and quotes computed from them.

Read the block the way the catalogue documents it: `kind` first; `price` always with `per`;
a model is found by id or alias, case-insensitively. Anything the book cannot price with
certainty (a `variable` price, a token or megapixel rate, no matching variant, a malformed
block) is no quote, never an exception and never a guess.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, Literal

from .money import usd_to_credits

log = logging.getLogger(__name__)

Source = Literal["catalogue", "cache", "file"]

# Units charged per second of video: price × duration / per.
TIME_UNITS = frozenset({"second", "seconds", "s"})
# Units charged once per request: price / per.
ONCE_UNITS = frozenset({"video", "generation", "request", "clip", "item"})
# The bundled "last known prices", in the catalogue's own answer shape.
FALLBACK_PRICE_FILE = Path(__file__).with_name("fallback_prices.json")


class PriceFileError(Exception):
    """A price file that cannot be used; str() is one line naming the file."""


class _Malformed(Exception):
    """A pricing block that does not say what it costs."""


@dataclass(frozen=True)
class Quote:
    model: str          # the canonical id the price was found under
    credits: int        # what the request costs, rounded up to a whole credit
    usd: Decimal        # the same, exactly, in dollars
    rate_text: str      # how it was worked out, e.g. "$0.65/s × 10 s"
    source: Source      # which book priced it


# Parsing a pricing block --------------------------------------------------------------


@dataclass(frozen=True)
class _Rate:
    price: Decimal
    per: Decimal
    unit: str           # as the catalogue spelled it, lower-cased

    @property
    def quotable(self) -> bool:
        return self.unit in TIME_UNITS or self.unit in ONCE_UNITS

    def text(self) -> str:
        """'$0.65/s', '$1.00 per 10 s', '$0.50/video', '$3.25 per 1,000,000 token'."""
        short = "s" if self.unit in TIME_UNITS else self.unit
        if self.per == 1:
            return f"${_plain(self.price)}/{short}"
        return f"${_plain(self.price)} per {_count(self.per)} {short}"


@dataclass(frozen=True)
class _Fixed:
    rates: tuple[_Rate, ...]


@dataclass(frozen=True)
class _Variants:
    dimensions: tuple[str, ...] | None     # None: each variant's own `when` keys
    variants: tuple[tuple[Mapping[str, Any], _Rate], ...]


class _Variable:
    pass


_Parsed = _Fixed | _Variants | _Variable


def _plain(price: Decimal) -> str:
    """A price as people write it: at least cents, more digits only when it has them."""
    if price == price.quantize(Decimal("0.01")):
        return f"{price:,.2f}"
    return f"{price.normalize():,f}"


def _count(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _number(value: Any, what: str) -> Decimal:
    """A finite number from JSON (int, float or a numeric string); bools are not numbers."""
    if isinstance(value, bool) or value is None:
        raise _Malformed(f"{what} is {value!r}, not a number")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, (int, float, str, Decimal)) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise _Malformed(f"{what} is {value!r}, not a number")
    return number


def _rate(obj: Any, unit_key: str) -> _Rate:
    if not isinstance(obj, Mapping):
        raise _Malformed(f"a rate is {type(obj).__name__}, not an object")
    unit = obj.get(unit_key, obj.get("unit" if unit_key == "name" else "name"))
    if not isinstance(unit, str) or not unit.strip():
        raise _Malformed(f"a rate has no unit ({unit_key!r})")
    price = _number(obj.get("price"), "price")
    if price < 0:
        raise _Malformed(f"price {price} is negative")
    if "per" not in obj:
        raise _Malformed("a rate has a price but no 'per'")
    per = _number(obj.get("per"), "per")
    if per <= 0:
        raise _Malformed(f"per is {per}, not a positive number")
    return _Rate(price=price, per=per, unit=unit.strip().lower())


def _parse(block: Any) -> _Parsed:
    if not isinstance(block, Mapping):
        raise _Malformed("no pricing block")
    currency = block.get("currency") or "USD"
    if not isinstance(currency, str) or currency.strip().upper() != "USD":
        raise _Malformed(f"currency is {currency!r}, not USD")
    kind = block.get("kind")
    kind = kind.strip().lower() if isinstance(kind, str) else kind
    if kind == "variable":
        return _Variable()
    if kind == "fixed":
        units = block.get("units")
        if not isinstance(units, list) or not units:
            raise _Malformed("a fixed price without units")
        return _Fixed(tuple(_rate(u, "name") for u in units))
    if kind == "variants":
        dims = block.get("dimensions")
        if dims is not None and (not isinstance(dims, list) or not all(isinstance(d, str) for d in dims)):
            raise _Malformed("dimensions is not a list of names")
        variants = block.get("variants")
        if not isinstance(variants, list) or not variants:
            raise _Malformed("a variants price without variants")
        parsed = []
        for v in variants:
            when = v.get("when") if isinstance(v, Mapping) else None
            if not isinstance(when, Mapping):
                raise _Malformed("a variant without a 'when' object")
            parsed.append((dict(when), _rate(v, "unit")))
        return _Variants(tuple(dims) if dims is not None else None, tuple(parsed))
    raise _Malformed(f"kind is {kind!r}, not fixed, variants or variable")


def pricing_problem(block: Any) -> str | None:
    """Why a pricing block cannot be read at all, or None when it can (even if unquotable)."""
    try:
        _parse(block)
    except _Malformed as exc:
        return str(exc)
    return None


# Matching a request to a rate ---------------------------------------------------------


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_number(value: Any) -> Decimal | None:
    try:
        return _number(value, "value")
    except _Malformed:
        return None


def _same(wanted: Any, given: Any) -> bool:
    """A variant's `when` value against a request value: booleans as booleans, numbers as
    numbers, everything else as strings, case-insensitively."""
    if wanted is None or given is None:
        return False
    if isinstance(wanted, bool) or isinstance(given, bool):
        a, b = _as_bool(wanted), _as_bool(given)
        return a is not None and a == b
    a_num, b_num = _as_number(wanted), _as_number(given)
    if a_num is not None and b_num is not None:
        return a_num == b_num
    return str(wanted).strip().casefold() == str(given).strip().casefold()


def _param(params: Mapping[str, Any], name: str) -> Any:
    if name in params:
        return params[name]
    folded = {str(k).casefold(): v for k, v in params.items()}
    return folded.get(name.casefold())


def _duration(params: Mapping[str, Any]) -> Decimal | None:
    """The request's duration in seconds (5, "5", "5s"), or None when it has none we can use."""
    value = _param(params, "duration")
    if isinstance(value, str) and value.strip().lower().endswith("s"):
        value = value.strip()[:-1]
    seconds = _as_number(value)
    return seconds if seconds is not None and seconds > 0 else None


def _charge(rate: _Rate, params: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    if rate.unit in TIME_UNITS:
        seconds = _duration(params)
        if seconds is None:
            return None
        return rate.price * seconds / rate.per, f"{rate.text()} × {_count(seconds)} s"
    if rate.unit in ONCE_UNITS:
        return rate.price / rate.per, rate.text()
    return None


def _select(parsed: _Variants, params: Mapping[str, Any]) -> _Rate | None:
    matches = []
    for when, rate in parsed.variants:
        names = parsed.dimensions if parsed.dimensions is not None else tuple(when)
        if all(name in when and _same(when[name], _param(params, name)) for name in names):
            matches.append(rate)
    if not matches or any(m != matches[0] for m in matches[1:]):
        return None     # no variant, or two that disagree: no honest quote
    return matches[0]


def _label(parsed: _Variants, when: Mapping[str, Any]) -> str:
    names = parsed.dimensions if parsed.dimensions is not None else tuple(when)
    return ", ".join(f"{n}={_show(when.get(n))}" for n in names)


def _show(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# The book -----------------------------------------------------------------------------


def _entry(item: Any) -> dict[str, Any] | None:
    """The parts of a catalogue item the book keeps, or None for an item without an id."""
    if not isinstance(item, Mapping):
        return None
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    aliases = item.get("aliases")
    aliases = [a for a in aliases if isinstance(a, str) and a.strip()] if isinstance(aliases, list) else []
    # A JSON round trip: the book owns its copy, and only JSON goes into the cache.
    pricing = json.loads(json.dumps(item.get("pricing"), default=str))
    return {"id": model_id.strip(), "aliases": aliases, "pricing": pricing}


# Answers a book keeps (distinct model and option combinations; a few hundred exist).
_QUOTES_KEPT = 4096


class PriceBook:
    """Pricing blocks by model, looked up by id or alias, case-insensitively."""

    def __init__(self, items: Iterable[Any], *, source: Source = "catalogue", as_of: str | None = None) -> None:
        self.source: Source = source
        self.as_of = as_of
        self._entries: dict[str, dict[str, Any]] = {}
        self._quotes: dict[tuple[str, tuple[tuple[str, str, Any], ...]], Quote | None] = {}
        for item in items:
            entry = _entry(item)
            if entry is not None and entry["id"] not in self._entries:
                self._entries[entry["id"]] = entry
        # Ids first, so an alias never hides another model's id.
        self._names: dict[str, str] = {model_id.casefold(): model_id for model_id in self._entries}
        for model_id, entry in self._entries.items():
            for alias in entry["aliases"]:
                self._names.setdefault(alias.strip().casefold(), model_id)
        self._parsed: dict[str, _Parsed | str] = {}
        for model_id, entry in self._entries.items():
            try:
                self._parsed[model_id] = _parse(entry["pricing"])
            except _Malformed as exc:
                self._parsed[model_id] = str(exc)

    # Building and caching

    @classmethod
    def from_catalogue(cls, data: Sequence[Any], *, source: Source = "catalogue", as_of: str | None = None) -> PriceBook:
        """From the catalogue answer's `data` list. Items without an id are skipped."""
        if not isinstance(data, list):
            raise ValueError(f"the catalogue's data is {type(data).__name__}, not a list")
        return cls(data, source=source, as_of=as_of)

    def to_json(self) -> dict[str, Any]:
        """The catalogue's own answer shape, with only id, aliases and pricing per model."""
        answer: dict[str, Any] = {"object": "list"}
        if self.as_of is not None:
            answer["as_of"] = self.as_of
        answer["data"] = [dict(e) for e in self._entries.values()]
        return answer

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | str, *, source: Source = "cache") -> PriceBook:
        """Back from to_json() (a dict or its JSON text). ValueError for anything else."""
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, Mapping) or not isinstance(value.get("data"), list):
            raise ValueError("a price book is an object with a 'data' list")
        as_of = value.get("as_of")
        return cls(value["data"], source=source, as_of=as_of if isinstance(as_of, str) else None)

    def with_source(self, source: Source) -> PriceBook:
        book = PriceBook.__new__(PriceBook)
        book.__dict__.update(self.__dict__)
        book.source = source
        return book

    # Looking up

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    @property
    def model_ids(self) -> list[str]:
        return list(self._entries)

    def resolve(self, name: str) -> str | None:
        """The canonical id for an id or alias, case-insensitively; None when unknown."""
        return self._names.get(name.strip().casefold()) if isinstance(name, str) else None

    def has_pricing(self, name: str) -> bool:
        """True when the book has a readable pricing block for the model (even one that says
        `variable`); False for an unknown model, no block, or a malformed one."""
        model_id = self.resolve(name)
        return model_id is not None and not isinstance(self._parsed[model_id], str)

    def pricing(self, name: str) -> Any:
        model_id = self.resolve(name)
        return None if model_id is None else json.loads(json.dumps(self._entries[model_id]["pricing"]))

    def problem(self, name: str) -> str | None:
        """Why the model's block is unreadable, or None."""
        model_id = self.resolve(name)
        parsed = self._parsed.get(model_id) if model_id else "not in the price book"
        return parsed if isinstance(parsed, str) else None

    def quote(self, model_id: str, params: Mapping[str, Any]) -> Quote | None:
        """What a request costs, or None when the book cannot say for certain.

        `params` are the request's API fields with the model's defaults filled in. A book never
        changes (a refresh makes a new one), so each answer is kept: a burst of /dream asks the
        same few questions thousands of times, before the defer."""
        try:
            # The type is part of the key: True == 1, but a variant for hdr=true is not one for 1.
            key = (model_id, tuple(sorted((name, type(value).__name__, value) for name, value in params.items())))
            hash(key)
        except TypeError:
            return self._quote(model_id, params)
        if key not in self._quotes:
            if len(self._quotes) >= _QUOTES_KEPT:
                self._quotes.clear()
            self._quotes[key] = self._quote(model_id, params)
        return self._quotes[key]

    def _quote(self, model_id: str, params: Mapping[str, Any]) -> Quote | None:
        canonical = self.resolve(model_id)
        if canonical is None:
            return None
        parsed = self._parsed[canonical]
        try:
            with localcontext() as ctx:
                ctx.prec = 50
                if isinstance(parsed, _Fixed):
                    charges = [_charge(rate, params) for rate in parsed.rates]
                elif isinstance(parsed, _Variants):
                    rate = _select(parsed, params)
                    charges = [_charge(rate, params) if rate is not None else None]
                else:
                    return None      # variable, or malformed
                if any(c is None for c in charges):
                    return None
                usd = sum((c[0] for c in charges), Decimal(0))
                credits = usd_to_credits(usd)
        except (ArithmeticError, TypeError, ValueError) as exc:   # a safety net: never raise for a price
            log.debug("cannot quote %s: %s", canonical, exc)
            return None
        return Quote(model=canonical, credits=credits, usd=usd,
                     rate_text=" + ".join(c[1] for c in charges), source=self.source)

    # Comparing

    def rates(self, name: str) -> dict[str, str]:
        """Each rate of a model's block as text, keyed by its variant ('' for a single rate)."""
        model_id = self.resolve(name)
        if model_id is None:
            return {}
        parsed = self._parsed[model_id]
        if isinstance(parsed, str):
            return {"": f"unreadable ({parsed})"}
        if isinstance(parsed, _Variable):
            return {"": "variable"}
        if isinstance(parsed, _Fixed):
            return {"": " + ".join(r.text() for r in parsed.rates)}
        return {_label(parsed, when): rate.text() for when, rate in parsed.variants}

    def changes_from(self, old: PriceBook | None) -> list[str]:
        """One line per changed price, for the log: 'luma/ray-2 resolution=1080p: $0.45/s → $0.50/s'."""
        old_ids = set(old.model_ids) if old is not None else set()
        lines: list[str] = []
        for model_id in sorted(old_ids | set(self._entries)):
            if model_id not in self._entries:
                lines.append(f"{model_id}: no longer listed")
                continue
            before = old.rates(model_id) if old is not None and model_id in old_ids else None
            after = self.rates(model_id)
            if before is None:
                lines.append(f"{model_id}: new, " + "; ".join(_join(k, v) for k, v in after.items()))
                continue
            for key in list(before) + [k for k in after if k not in before]:
                was, now = before.get(key), after.get(key)
                if was != now:
                    where = f"{model_id} {key}".strip()
                    lines.append(f"{where}: {was or 'not priced'} → {now or 'not priced'}")
        return lines

    def __eq__(self, other: object) -> bool:
        """The same models, names and prices (the source does not matter)."""
        if not isinstance(other, PriceBook):
            return NotImplemented
        return self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PriceBook({len(self)} models, source={self.source!r}, as_of={self.as_of!r})"


def _join(key: str, value: str) -> str:
    return f"{key}: {value}" if key else value


# Price files --------------------------------------------------------------------------


def load_price_file(path: str | Path) -> PriceBook:
    """A price file: the catalogue's answer shape, a bare `data` list (or an object with only
    `data`), or a hand-written `{model_id: pricing_block}` table. Raises PriceFileError with a
    one-line message naming the file when it is missing, unreadable or invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"price file {path}: cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise PriceFileError(f"price file {path}: not UTF-8 text") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceFileError(f"price file {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc

    as_of = None
    if isinstance(value, list):
        items = value
    elif isinstance(value, Mapping) and "data" in value:
        items = value["data"]
        as_of = value.get("as_of") if isinstance(value.get("as_of"), str) else None
        if not isinstance(items, list):
            raise PriceFileError(f"price file {path}: 'data' is not a list")
    elif isinstance(value, Mapping):
        items = [{"id": k, "aliases": [], "pricing": v} for k, v in value.items()]
    else:
        raise PriceFileError(f"price file {path}: expected a catalogue answer, a list or a table of models")

    for n, item in enumerate(items, 1):
        if _entry(item) is None:
            raise PriceFileError(f"price file {path}: model #{n} has no id")
        problem = pricing_problem(item.get("pricing"))
        if problem is not None:
            raise PriceFileError(f"price file {path}: {item['id']}: {problem}")
    if not items:
        raise PriceFileError(f"price file {path}: no models in it")
    return PriceBook(items, source="file", as_of=as_of)


def load_fallback() -> PriceBook:
    """The bundled last known prices."""
    return load_price_file(FALLBACK_PRICE_FILE)
