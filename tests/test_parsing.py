import math

import pandas as pd
import pytest

from layers.parsing import pad_cut, parse_chilean_number, parse_number_column


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234.567,89", 1234567.89),
        ("1.234", 1234.0),
        ("0,18272232051242729", 0.18272232051242729),
        ("4,19665662413712e+04", 41966.5662413712),
        ("$ 12.500", 12500.0),
        ("-3,5", -3.5),
        ("1234.5", 1234.5),
        (1234, 1234.0),
        ("  7 ", 7.0),
    ],
)
def test_parses_chilean_and_plain_numbers(text, expected):
    assert parse_chilean_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("empty", [None, "", "-", "s/i", float("nan")])
def test_empty_cells_are_nan(empty):
    assert math.isnan(parse_chilean_number(empty))


def test_garbage_is_an_error_with_the_value():
    with pytest.raises(ValueError, match="abc"):
        parse_chilean_number("abc")


def test_column_parsing_turns_garbage_into_nan():
    parsed = parse_number_column(pd.Series(["1.000", "x", None, "2,5"]))
    assert parsed.iloc[0] == 1000.0
    assert parsed.iloc[1:3].isna().all()
    assert parsed.iloc[3] == 2.5


def test_number_column_keeps_index_name_and_repeats():
    text = pd.Series(["1.000", None, "1.000", "", "2,5"], index=[7, 3, 9, 1, 4], name="n")
    parsed = parse_number_column(text.astype("string"))
    expected = pd.Series([1000.0, None, 1000.0, None, 2.5], index=text.index, name="n")
    pd.testing.assert_series_equal(parsed, expected.astype(float))
    assert parse_number_column(pd.Series([], dtype=object)).dtype == "float64"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4303, "04303"),
        ("4303", "04303"),
        ("04303", "04303"),
        (13101.0, "13101"),
        ("1101.0", "01101"),
        (None, None),
        ("abc", None),
        ("123456", None),
        (0, None),
    ],
)
def test_pads_cut_codes(value, expected):
    assert pad_cut(value) == expected
