"""Value normalization: one canonical spelling per attribute value.

``"500 ml"`` and ``"0.5 L"`` are the same volume, ``"Grey"`` and ``"gray"`` the same colour,
``"X-Large"`` and ``"XL"`` the same size. Canonical values make ``Value`` nodes merge across
items and let evaluation count a correctly found but differently written value. The tables
here are units and spelling variants (normalization), never answers for any data set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# unit spelling → (canonical unit, factor to it, dimension)
_UNITS: dict[str, tuple[str, float, str]] = {}


def _unit(canonical: str, factor: float, dimension: str, *spellings: str) -> None:
    for spelling in (canonical, *spellings) if factor == 1 else spellings:
        _UNITS[spelling] = (canonical, factor, dimension)


_unit("ml", 1, "volume", "milliliter", "milliliters", "millilitre", "millilitres", "mls")
_unit("ml", 10, "volume", "cl", "centiliter", "centilitre")
_unit("ml", 1000, "volume", "l", "liter", "liters", "litre", "litres", "ltr", "lt")
_unit("ml", 29.5735, "volume", "fl oz", "fl. oz", "fl.oz", "floz", "fluid ounce", "fluid ounces")
_unit("ml", 3785.41, "volume", "gal", "gallon", "gallons")
_unit("g", 1, "mass", "gram", "grams", "gr", "grs", "gm", "gms")
_unit("g", 0.001, "mass", "mg", "milligram", "milligrams")
_unit("g", 1000, "mass", "kg", "kilogram", "kilograms", "kgs", "kilo", "kilos")
_unit("g", 28.3495, "mass", "oz", "ounce", "ounces")
_unit("g", 453.592, "mass", "lb", "lbs", "pound", "pounds")
_unit("mm", 1, "length", "millimeter", "millimeters", "millimetre", "millimetres")
_unit("mm", 10, "length", "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_unit("mm", 1000, "length", "m", "meter", "meters", "metre", "metres")
_unit("mm", 25.4, "length", "in", "inch", "inches", '"', "''")
_unit("mm", 304.8, "length", "ft", "foot", "feet", "'")
_unit("gb", 1, "data", "gigabyte", "gigabytes")
_unit("gb", 1000, "data", "tb", "terabyte", "terabytes")
_unit("gb", 0.001, "data", "mb", "megabyte", "megabytes")
_unit("mah", 1, "charge")
_unit("w", 1, "power", "watt", "watts")
_unit("w", 1000, "power", "kw", "kilowatt", "kilowatts")
_unit("v", 1, "voltage", "volt", "volts")
_unit("rpm", 1, "speed")
_unit("ghz", 1, "frequency")
_unit("ghz", 0.001, "frequency", "mhz")
_unit("lm", 1, "luminous flux", "lumen", "lumens")
_unit("h", 1, "duration", "hr", "hrs", "hour", "hours")
_unit("h", 1 / 60, "duration", "min", "mins", "minute", "minutes")
_unit("count", 1, "count", "ct", "pc", "pcs", "piece", "pieces", "pack", "packs", "pk")

# temperatures: degrees Celsius, and Fahrenheit converted to them; a bare "c" or "f" only
# after a space ("5C" is a child's shoe size), and never in a size attribute
_TEMPERATURE = re.compile(
    r"^\s*(?P<sign>[-−+]?)\s*(?P<number>\d+(?:[.,]\d+)?)"
    r"(?:\s*(?:°|º|deg(?:rees?)?\s*)\s*|\s+)(?P<scale>c|f|celsius|fahrenheit)\s*$",
    re.I,
)
_QUANTITY = re.compile(
    r"^\s*(?P<number>\d+(?:[.,]\d+)*)\s*(?P<unit>[a-z][a-z. ]{0,17}?|\"|'')\s*\.?\s*$", re.I
)

_SIZES = {
    "xxs": "XXS",
    "extra extra small": "XXS",
    "xs": "XS",
    "extra small": "XS",
    "x-small": "XS",
    "s": "S",
    "small": "S",
    "m": "M",
    "medium": "M",
    "med": "M",
    "l": "L",
    "large": "L",
    "xl": "XL",
    "x-large": "XL",
    "extra large": "XL",
    "xxl": "XXL",
    "2xl": "XXL",
    "xx-large": "XXL",
    "extra extra large": "XXL",
    "xxxl": "XXXL",
    "3xl": "XXXL",
    "xxx-large": "XXXL",
}
_SIZE_ATTRIBUTES = ("size",)

_COLOUR_SPELLINGS = {
    "gray": "grey",
    "colour": "color",
    "multicolour": "multicolor",
    "multi-color": "multicolor",
    "multi color": "multicolor",
    "offwhite": "off-white",
    "off white": "off-white",
    "charcoal grey": "charcoal",
    "charcoal gray": "charcoal",
    "fuschia": "fuchsia",
}
_COLOUR_ATTRIBUTES = ("color", "colour", "color(s)", "colors", "colours")

# Berlin and Kay's eleven basic colour terms, and named shades shops use for them: a shopper
# asking for "blue" means navy and sky blue too
BASIC_COLOURS = (
    "black",
    "white",
    "red",
    "green",
    "yellow",
    "blue",
    "brown",
    "purple",
    "pink",
    "orange",
    "grey",
)
_SHADES = {
    "navy": "blue",
    "azure": "blue",
    "cobalt": "blue",
    "indigo": "blue",
    "denim": "blue",
    "scarlet": "red",
    "burgundy": "red",
    "maroon": "red",
    "crimson": "red",
    "wine": "red",
    "cherry": "red",
    "olive": "green",
    "emerald": "green",
    "mint": "green",
    "lime": "green",
    "khaki": "brown",
    "tan": "brown",
    "chocolate": "brown",
    "sand": "brown",
    "beige": "brown",
    "camel": "brown",
    "violet": "purple",
    "lavender": "purple",
    "lilac": "purple",
    "plum": "purple",
    "mauve": "purple",
    "fuchsia": "pink",
    "rose": "pink",
    "blush": "pink",
    "salmon": "pink",
    "coral": "orange",
    "rust": "orange",
    "mustard": "yellow",
    "gold": "yellow",
    "lemon": "yellow",
    "ivory": "white",
    "cream": "white",
    "off-white": "white",
    "charcoal": "grey",
    "silver": "grey",
    "slate": "grey",
    "graphite": "grey",
    "jet": "black",
    "onyx": "black",
}


@dataclass(frozen=True)
class NormalizedValue:
    """A canonical value: ``text`` is the canonical spelling; quantities keep number and unit."""

    text: str
    number: float | None = None
    unit: str | None = None
    dimension: str | None = None


def parse_number(text: str) -> float | None:
    """``"1,5"`` → 1.5, ``"1,000"`` → 1000.0, ``"1.234,5"`` → 1234.5; None if not a number."""
    text = text.strip()
    if not re.fullmatch(r"\d+(?:[.,]\d+)*", text):
        return None
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 and head else text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        return None


def _format_number(number: float) -> str:
    rounded = round(number, 3)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


@lru_cache(maxsize=65536)
def normalize_value(value: str, attribute: str = "") -> NormalizedValue:
    """The canonical form of ``value`` for ``attribute`` (lowercased; may be empty).

    Cached: catalogs repeat the same few values (colours, sizes, quantities) across items.
    """
    text = " ".join(value.strip().split()).lower()
    attribute = attribute.strip().lower()
    temperature = None if "size" in attribute else _TEMPERATURE.match(text)
    if temperature and (number := parse_number(temperature.group("number"))) is not None:
        degrees = -number if temperature.group("sign") in ("-", "−") else number
        if temperature.group("scale").startswith("f"):
            degrees = (degrees - 32) * 5 / 9
        return NormalizedValue(
            f"{_format_number(round(degrees, 1))} °c", degrees, "°c", "temperature"
        )
    quantity = _QUANTITY.match(text)
    if quantity:
        unit_text = quantity.group("unit").strip().rstrip(".")
        known = _UNITS.get(unit_text)
        number = parse_number(quantity.group("number"))
        if known and number is not None:
            unit, factor, dimension = known
            canonical = number * factor
            return NormalizedValue(
                f"{_format_number(canonical)} {unit}", canonical, unit, dimension
            )
    number = parse_number(text)
    if number is not None:
        return NormalizedValue(_format_number(number), number)
    if any(name in attribute for name in _SIZE_ATTRIBUTES):
        size = _SIZES.get(text.replace("size ", "").strip())
        if size:
            return NormalizedValue(size)
    if attribute in _COLOUR_ATTRIBUTES or "color" in attribute or "colour" in attribute:
        for spelling, canonical_spelling in _COLOUR_SPELLINGS.items():
            text = re.sub(rf"\b{re.escape(spelling)}\b", canonical_spelling, text)
    text = re.sub(r"\s*([/&+-])\s*", r"\1", text)
    return NormalizedValue(text.strip(" .,;:"))


def canonical(value: str, attribute: str = "") -> str:
    """Shorthand for ``normalize_value(value, attribute).text``."""
    return normalize_value(value, attribute).text


def colour_family(value: str) -> str | None:
    """The basic colour a colour value belongs to ("navy blue", "navy" → blue; "sky blue" →
    blue; "olive green" → green), or None for one that belongs to none ("multicolor")."""
    words = canonical(value, "color").split()
    if not words:
        return None
    if words[-1] in BASIC_COLOURS:
        return words[-1]
    return _SHADES.get(words[-1]) or _SHADES.get(" ".join(words))


def canonical_attribute(attribute: str) -> str:
    """One name per attribute where spellings differ: ``colour``, ``Colours`` → ``color``."""
    name = attribute.strip().lower()
    return "color" if name in _COLOUR_ATTRIBUTES else name
