"""Credits and dollars: exact conversion, display, and parsing what a moderator types.

The provider bills in credits, $1 = 2,000,000 credits. Everything here is Decimal or int;
a float (a Discord number option) only ever enters through `Decimal(str(value))`, so 0.3
means 0.3 and not 0.299999999999999988897769753748...
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

CREDITS_PER_USD = 2_000_000
# The largest amount parse_amount accepts (a typo guard, far above any real budget).
MAX_CREDITS = 10**15
# One cent in credits: the smallest amount format_usd shows as a number.
CREDITS_PER_CENT = CREDITS_PER_USD // 100

_CENT = Decimal("0.01")
# "1,234,567.50": commas only as proper thousands groups, never as a decimal comma.
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")

Unit = Literal["credits", "dollars"]


def _decimal(value: Decimal | str | int | float) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a bool is not an amount of money")
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def usd_to_credits(usd: Decimal | str | int) -> int:
    """Dollars to credits, exactly, rounded UP to a whole credit (a quote never understates)."""
    amount = _decimal(usd)
    if not amount.is_finite():
        raise ValueError(f"not a finite dollar amount: {usd!r}")
    return int((amount * CREDITS_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def credits_to_usd(credits: int) -> Decimal:
    """Credits to dollars, exactly (1 credit = $0.0000005)."""
    return Decimal(int(credits)) / CREDITS_PER_USD


def format_usd(credits: int) -> str:
    """'$3.25', '$1,234.50'; a positive amount under a cent is '<$0.01'; 0 is '$0.00'."""
    credits = int(credits)
    if credits < 0:
        return "-" + format_usd(-credits)
    if 0 < credits < CREDITS_PER_CENT:
        return "<$0.01"
    dollars = credits_to_usd(credits).quantize(_CENT, rounding=ROUND_HALF_UP)
    return f"${dollars:,.2f}"


def format_credits(credits: int) -> str:
    """'6,500,000 credits', '1 credit'."""
    credits = int(credits)
    return f"{credits:,} credit{'' if abs(credits) == 1 else 's'}"


def format_money(credits: int) -> str:
    """'6,500,000 credits ($3.25)'."""
    return f"{format_credits(credits)} ({format_usd(credits)})"


def _clean_text(text: str, unit: Unit) -> str:
    """The typed string cleaned to something Decimal reads, or a polite ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("Please enter an amount, such as 2.50.")
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:].lstrip()
    if text.startswith("$"):
        if unit == "credits":
            raise ValueError("That looks like a dollar amount; please choose dollars as the unit, "
                             "or enter a whole number of credits.")
        text = text[1:].lstrip()
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError("Please write the amount without commas, such as 1234.50.")
        text = text.replace(",", "")
    return sign + text


def parse_amount(value: float | str | Decimal | int, unit: Unit) -> int:
    """What a moderator typed, in credits or dollars, as a whole number of credits.

    Raises ValueError with a sentence fit to show the moderator for a negative, non-finite,
    too precise (more than cents, or a fraction of a credit) or absurdly large amount."""
    if unit not in ("credits", "dollars"):
        raise ValueError(f"Please choose credits or dollars as the unit, not {unit!r}.")
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("Please enter a number, such as 2.50.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Please enter an ordinary number, such as 2.50.")
    text = _clean_text(value, unit) if isinstance(value, str) else None
    try:
        amount = Decimal(text) if text is not None else _decimal(value)
    except InvalidOperation:
        raise ValueError("Please enter a number, such as 2.50.") from None
    if not amount.is_finite():
        raise ValueError("Please enter an ordinary number, such as 2.50.")
    if amount < 0:
        raise ValueError("Please enter an amount of zero or more.")
    largest = Decimal(MAX_CREDITS) if unit == "credits" else Decimal(MAX_CREDITS) / CREDITS_PER_USD
    if amount > largest:
        raise ValueError(f"That amount is too large; the most is {format_money(MAX_CREDITS)}.")
    if unit == "dollars":
        if amount != amount.quantize(_CENT):
            raise ValueError("Dollar amounts can have at most two decimal places (whole cents), such as 2.50.")
        return int(amount * CREDITS_PER_USD)
    if amount != amount.to_integral_value():
        raise ValueError("Credits are whole numbers; please enter the amount without a fractional part.")
    return int(amount)
