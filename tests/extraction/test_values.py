from __future__ import annotations

import pytest

from extraction.textnorm import blank_pipeline, normalize_text
from extraction.values import canonical, normalize_value, parse_number


@pytest.mark.parametrize(
    ("left", "right", "attribute"),
    [
        ("500 ml", "0.5 L", "volume"),
        ("1,5 kg", "1500 g", "weight"),
        ("16 oz", "1 lb", "weight"),
        ("X-Large", "xl", "size"),
        ("Gray", "grey", "color"),
        ("1,000", "1000", "pack size"),
        ("500 lumens", "500 lm", "brightness"),
        ("8 hours", "8h", "battery life"),
        ("90 min", "1.5 h", "battery life"),
        ("41 °F", "5 C", "comfort rating"),
        ("-4 °F", "-20°C", "comfort rating"),
    ],
)
def test_same_value_written_differently_is_one_canonical_value(
    left: str, right: str, attribute: str
) -> None:
    assert canonical(left, attribute) == canonical(right, attribute)


def test_quantities_keep_number_unit_and_dimension() -> None:
    value = normalize_value("2 Liters")
    assert (value.text, value.number, value.unit, value.dimension) == (
        "2000 ml",
        2000.0,
        "ml",
        "volume",
    )
    assert canonical("Red Patent", "color") == "red patent"
    assert canonical("14 M US", "size") != canonical("4 M US", "size")


def test_numbers_in_several_formats() -> None:
    assert parse_number("1.234,5") == 1234.5
    assert parse_number("0,5") == 0.5
    assert parse_number("abc") is None


def test_text_normalization_strips_html_fixes_mojibake_and_spaces() -> None:
    text = "<p>Caf\u00c3\u00a9 &amp; Bar</p><script>x()</script>  two\u00a0 spaces\r\nnext"
    assert normalize_text(text) == "Café & Bar\ntwo spaces\nnext"
    assert normalize_text("e\u0301") == "é"  # NFC
    assert normalize_text("") == ""


def test_tokenizer_splits_values_glued_to_punctuation_and_units() -> None:
    words = [t.text for t in blank_pipeline()("Flat,Nautical Navy,4 M US 500ml")]
    assert words == ["Flat", ",", "Nautical", "Navy", ",", "4", "M", "US", "500", "ml"]


def test_a_shade_belongs_to_its_basic_colour_family() -> None:
    from extraction.values import colour_family

    assert [colour_family(v) for v in ("navy", "Navy Blue", "sky blue", "Royal Blue")] == [
        "blue"
    ] * 4
    assert [colour_family(v) for v in ("olive green", "burgundy", "Gray", "off white")] == [
        "green",
        "red",
        "grey",
        "white",
    ]
    assert colour_family("multicolour") is None and colour_family("teal") is None


def test_a_childs_shoe_size_is_not_a_temperature() -> None:
    assert canonical("5C", "size") == "5c"
    assert canonical("5 C", "shoe size") == "5 c"
    assert canonical("2c") == "2c"
