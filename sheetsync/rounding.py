"""How exact figures become output numbers: amounts rounded half-up to the cent, ratios to six places.

Figures stay ``Decimal`` and unrounded until they are shown or serialised;
this module holds the one rounding every output (JSON, terminal, tabs,
sentences) uses.  It never formats text.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Rounded half-up to the cent, however many digits (the default context stops at 28)."""
    if value.adjusted() < 25:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    with localcontext() as wide:
        wide.prec = value.adjusted() + 3
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal | None) -> float | None:
    """An amount as a JSON number, exact to the cent (the float's repr is the 2-decimal value)."""
    return None if value is None else float(cents(value))


def ratio(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 6)
