"""What a unified job costs: the price table (the catalogue's `pricing` blocks) and the quote.

Prices are in USD per `per` units of `unit` (complete-model-list.md, "Reading prices"); credits
are USD x 2,000,000 (how-can-i-track-my-funds.md). Arithmetic is in `Decimal`, from the price's
decimal text, so $0.65 x 5 is exactly 6,500,000 credits and not 6,499,999.99...
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CREDITS_PER_USD = 2_000_000
PRICING_KINDS: tuple[str, ...] = ("fixed", "variants", "variable")


def _per_second(price: float) -> dict[str, Any]:
    return {"price": price, "unit": "second", "per": 1}


def _variants(dimensions: list[str], rows: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    return {"kind": "variants", "currency": "USD", "dimensions": dimensions,
            "variants": [{"when": when, **_per_second(price)} for when, price in rows]}


# model id -> pricing block, exactly as `GET /v1/models?include=pricing` shows it.
DEFAULT_PRICES: dict[str, dict[str, Any]] = {
    "luma/ray-2": _variants(["resolution"], [
        ({"resolution": "540p"}, 0.12), ({"resolution": "720p"}, 0.24),
        ({"resolution": "1080p"}, 0.45), ({"resolution": "4k"}, 0.90),
    ]),
    "luma/ray-flash-2": {"kind": "fixed", "currency": "USD", "units": [{"name": "second", "price": 0.06, "per": 1}]},
    "luma/ray-3.2": _variants(["resolution", "hdr"], [
        ({"resolution": "360p", "hdr": False}, 0.13), ({"resolution": "540p", "hdr": False}, 0.26),
        ({"resolution": "720p", "hdr": False}, 0.39), ({"resolution": "1080p", "hdr": False}, 0.65),
        ({"resolution": "720p", "hdr": True}, 0.78), ({"resolution": "1080p", "hdr": True}, 1.30),
    ]),
}


class Unpriced(LookupError):
    """The price table cannot quote this request (no block, a `variable` block, no matching variant)."""


@dataclass(frozen=True, slots=True)
class Cost:
    credits: int
    usd: Decimal


def default_prices() -> dict[str, dict[str, Any]]:
    """A fresh copy of DEFAULT_PRICES, safe to change."""
    return copy.deepcopy(DEFAULT_PRICES)


def check_block(block: Mapping[str, Any]) -> None:
    """Refuse a pricing block the quote could not read (ValueError), so a typo fails where it is made."""
    kind = block.get("kind")
    if kind not in PRICING_KINDS:
        raise ValueError(f"pricing kind must be one of {PRICING_KINDS}, not {kind!r}")
    rates = block.get("units") if kind == "fixed" else block.get("variants") if kind == "variants" else []
    if not isinstance(rates, list):
        raise ValueError(f"a {kind} pricing block needs a list of {'units' if kind == 'fixed' else 'variants'}")
    for rate in rates:
        if not isinstance(rate, Mapping) or "price" not in rate or "per" not in rate:
            raise ValueError(f"every rate needs `price` and `per`: {rate!r}")
        if kind == "variants" and not isinstance(rate.get("when"), Mapping):
            raise ValueError(f"every variant needs a `when` mapping: {rate!r}")


def _word(value: Any) -> str:
    # JSON booleans compare as their JSON words, so `"hdr": false` matches False and "false".
    return ("true" if value else "false") if isinstance(value, bool) else str(value).lower()


def _same(a: Any, b: Any) -> bool:
    return _word(a) == _word(b)


def _rate_usd(rate: Mapping[str, Any], unit: str | None, seconds: int) -> Decimal:
    """price x seconds / per for a per-second rate; any other unit is charged once, price / per."""
    amount = Decimal(str(rate["price"])) / Decimal(str(rate["per"]))
    return amount * seconds if unit == "second" else amount


def quote_usd(block: Mapping[str, Any], params: Mapping[str, Any]) -> Decimal:
    """USD for one request, `params` being the request with its schema defaults filled in."""
    seconds = int(params.get("duration") or 0)
    kind = block.get("kind")
    if kind == "fixed":
        return sum((_rate_usd(unit, unit.get("name"), seconds) for unit in block["units"]), Decimal(0))
    if kind == "variants":
        dimensions = block.get("dimensions") or []
        for variant in block["variants"]:
            when = variant["when"]
            if all(name in params and _same(when.get(name), params[name]) for name in dimensions):
                return _rate_usd(variant, variant.get("unit"), seconds)
        raise Unpriced(f"no variant for {({name: params.get(name) for name in dimensions})}")
    raise Unpriced(f"a {kind!r} price cannot be quoted ahead of the request")


def to_credits(usd: Decimal) -> int:
    """Whole credits, rounded up (a fraction of a credit is still charged)."""
    return math.ceil(usd * CREDITS_PER_USD)


def to_usd(credits: int) -> Decimal:
    return Decimal(credits) / CREDITS_PER_USD


def job_cost(prices: Mapping[str, Mapping[str, Any]], model: str, params: Mapping[str, Any]) -> Cost:
    """What a unified job costs under this price table; Unpriced if the table has no answer."""
    block = prices.get(model)
    if block is None:
        raise Unpriced(f"no price for {model}")
    usd = quote_usd(block, params)
    return Cost(credits=to_credits(usd), usd=usd)
