"""Prices: what a generation costs, from the provider's catalogue, its cache, or a file."""

from .book import (
    FALLBACK_PRICE_FILE,
    ONCE_UNITS,
    TIME_UNITS,
    PriceBook,
    PriceFileError,
    Quote,
    load_fallback,
    load_price_file,
    pricing_problem,
)
from .money import (
    CREDITS_PER_USD,
    MAX_CREDITS,
    credits_to_usd,
    format_credits,
    format_money,
    format_usd,
    parse_amount,
    usd_to_credits,
)
from .service import CACHE_KEY, CatalogueAnswer, CatalogueSource, PriceService, PriceStatus

__all__ = [
    "CACHE_KEY",
    "CREDITS_PER_USD",
    "FALLBACK_PRICE_FILE",
    "MAX_CREDITS",
    "ONCE_UNITS",
    "TIME_UNITS",
    "CatalogueAnswer",
    "CatalogueSource",
    "PriceBook",
    "PriceFileError",
    "PriceService",
    "PriceStatus",
    "Quote",
    "credits_to_usd",
    "format_credits",
    "format_money",
    "format_usd",
    "load_fallback",
    "load_price_file",
    "parse_amount",
    "pricing_problem",
    "usd_to_credits",
]
