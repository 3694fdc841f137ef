"""Parse lengths as GIS attributes write them: ``12``, ``"12 m"``, ``"40 ft"``."""

from __future__ import annotations

import math
import re

FOOT_M = 0.3048
"""International foot in metres."""
INCH_M = 0.0254
"""Inch in metres."""

_UNIT_M = {
    "": 1.0,
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "ft": FOOT_M,
    "feet": FOOT_M,
    "foot": FOOT_M,
    "'": FOOT_M,
}

_NUMBER_UNIT = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*([a-zA-Z']*)\s*$")
# OpenStreetMap writes feet and inches as 12'6" (no spaces).
_FEET_INCHES = re.compile(r"^\s*(\d+)\s*'\s*(\d+(?:\.\d+)?)\s*\"\s*$")


def parse_length(value: object, default_unit_m: float = 1.0) -> float:
    """Return a length in metres from a number or a string with an optional unit.

    Accepted strings are a number with an optional unit of m, metre(s),
    meter(s), ft, feet, foot or ``'``, and OpenStreetMap's feet and inches
    such as ``12'6"``. A comma may stand for the decimal point.

    Args:
        value: The attribute value: an int, a float or a string.
        default_unit_m: Metres per unit of a bare number, 1.0 for metres or
            :data:`FOOT_M` where the layer stores feet.

    Raises:
        ValueError: The value is not a positive finite length in a known unit;
            the message quotes the value.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a length")
    if isinstance(value, int | float):
        metres = float(value) * default_unit_m
    else:
        text = str(value)
        feet_inches = _FEET_INCHES.match(text)
        number_unit = _NUMBER_UNIT.match(text)
        if feet_inches:
            metres = (
                int(feet_inches.group(1)) * FOOT_M
                + float(feet_inches.group(2)) * INCH_M
            )
        elif number_unit and number_unit.group(2).lower() in _UNIT_M:
            number = float(number_unit.group(1).replace(",", "."))
            unit = number_unit.group(2).lower()
            metres = number * (_UNIT_M[unit] if unit else default_unit_m)
        else:
            raise ValueError(
                f"{text!r} is not a length; write a number with an optional "
                "unit, such as 12, '12 m' or '40 ft'"
            )
    if not (math.isfinite(metres) and metres > 0):
        raise ValueError(f"{value!r} is not a positive length")
    return metres
