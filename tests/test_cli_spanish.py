"""What a person reads on the command line is Spanish, with numbers the Chilean way.

Walks every command of the ``geogaps`` app (no store needed): each command and each option has
help text, and none of it reads as English. A refused option comes back as a Spanish sentence,
not pydantic's English, and durations are written with a decimal comma by the one formatting
module that ``layers/`` shares through ``domain/numbers.py``.
"""

from __future__ import annotations

import re

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer._click.core import Command

import analysis.formatting
import domain.numbers
from analysis import ScoringParameters
from geo_service.cli import app
from geo_service.cli.common import validation_details

#: Words that only an English help text would contain.
ENGLISH = re.compile(
    r"\b(the|of|and|with|write|writes|default|only|one|when|which|file|region code)\b",
    re.IGNORECASE,
)


def _commands() -> list[tuple[str, Command]]:
    root = typer.main.get_command(app)
    found = []
    pending = [("geogaps", root)]
    while pending:
        name, command = pending.pop()
        found.append((name, command))
        for sub_name, sub in getattr(command, "commands", {}).items():
            pending.append((f"{name} {sub_name}", sub))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: str(v))
def test_every_help_text_is_spanish(name, command):
    texts = [command.help or ""]
    texts += [
        param.help or ""
        for param in command.params
        if isinstance(param, typer.core.TyperOption | typer.core.TyperArgument)
        and param.name != "help"
    ]
    for text in texts:
        assert text.strip(), f"{name}: a command or option without help"
        assert not ENGLISH.search(text), f"{name}: {text!r}"


def test_refused_options_are_spanish_sentences():
    with pytest.raises(ValidationError) as refused:
        ScoringParameters.model_validate({"normalization": "fancy", "draws": -1})
    details = validation_details(refused.value)
    assert "normalization: debe ser 'minmax', 'zscore', 'rank' o 'target'" in details
    assert "draws: debe ser mayor o igual que 0" in details
    assert "Input should" not in details and "pydantic" not in details


def test_durations_and_counts_are_written_the_chilean_way_by_one_module():
    assert analysis.formatting.format_seconds(26.83) == "26,8 s"
    assert analysis.formatting.format_integer(12898) == "12.898"
    # analysis re-exports the helpers layers/ uses: one definition, not two.
    assert analysis.formatting.format_number is domain.numbers.format_number
    assert analysis.formatting.format_seconds is domain.numbers.format_seconds


@settings(max_examples=300, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | st.integers(-(10**13), 10**13).map(lambda n: n / 1000),
    st.integers(0, 4),
)
def test_numbers_are_written_as_babel_writes_them(value, decimals):
    # format_number writes most numbers without babel (it is thirty times faster): same text.
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    expected = format_decimal(round(value, decimals) + 0.0, pattern, locale="es_CL")
    assert domain.numbers.format_number(value, decimals) == expected
