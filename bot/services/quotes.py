"""What one clip will cost, before anything is reserved.

The unified endpoint is priced per model, resolution and second from the provider's
catalogue (`bot/prices`); the two older endpoint families keep the seeds' flat price per
generation. Options are checked against the chosen model first, so an impossible
combination is refused here, politely, and costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.api import VideoOptions
from bot.api.catalog import effective_params, request_model, request_problems
from bot.prices import PriceService
from bot.services.inputs import InputError

NOTHING_CHARGED = "Nothing was charged."


@dataclass(frozen=True, slots=True)
class Price:
    credits: int
    text: str  # how it was priced, e.g. "$0.65/s × 10 s"
    model: str | None  # the member-facing model name, None where the dialect has no choice


class Quoter:
    def __init__(self, dialect: str, default_model: str, *, prices: PriceService | None, flat_cost: int) -> None:
        self.dialect = dialect
        self.default_model = default_model
        self.prices = prices
        self.flat_cost = flat_cost

    @property
    def priced_by_catalogue(self) -> bool:
        return self.dialect == "unified" and self.prices is not None

    def price(self, options: VideoOptions, *, extending: bool = False) -> Price:
        """The price of exactly these options; InputError (a sentence for the member) when the
        model can't make them (or is retired) or no price is known."""
        problems = request_problems(self.dialect, options, self.default_model, extending=extending)
        if problems:
            raise InputError(" ".join(problems) + f" {NOTHING_CHARGED}")
        spec = request_model(self.dialect, options.model, self.default_model)
        if not self.priced_by_catalogue or spec is None:
            return Price(self.flat_cost, "flat price per clip", spec.name if spec else None)
        assert self.prices is not None
        quote = self.prices.quote(spec.api_name, effective_params(spec, options))
        if quote is None:
            raise InputError(f"I can't work out what a {spec.name} clip like that costs right now, so I won't start "
                             f"it. {NOTHING_CHARGED} Please try again later, or try other options.")
        return Price(quote.credits, quote.rate_text, spec.name)

    def typical(self) -> int:
        """The price of a plain clip with the default model: the unit of the rough "clips" counts."""
        try:
            return self.price(VideoOptions()).credits
        except InputError:
            return self.flat_cost
