"""The hand-written SQL of the PostGIS store, one statement or fragment per ``.sql`` file.

Reads and writes of whole tables are SQLAlchemy Core built from the models
(:mod:`layers.stores.postgis_queries`); what SQLAlchemy would only obscure (the GeoJSON and
vector-tile statements of OGC API – Features, the state key, the advisory locks) is written
here as SQL text. A file holds ``${placeholders}`` for identifiers and fragments and
``:parameters`` for values: :func:`statement` fills the placeholders with :func:`quoted`
identifiers (taken from the models and collection descriptions, never from a request) or with
fragments built the same way, and every value travels as a bound parameter.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from string import Template

from sqlalchemy import TextClause, text

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@cache
def _template(name: str) -> Template:
    """The SQL of ``name.sql`` without its comment lines, on one line."""
    source = resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    lines = (line.strip() for line in source.splitlines())
    return Template(" ".join(line for line in lines if line and not line.startswith("--")))


def fragment(name: str, **parts: str) -> str:
    """The SQL text of ``name.sql`` with its ``${placeholders}`` filled by ``parts``."""
    return _template(name).substitute(parts)


def statement(name: str, **parts: str) -> TextClause:
    """:func:`fragment` as a statement ready to execute with bound parameters."""
    return text(fragment(name, **parts))


def quoted(identifier: str) -> str:
    """A table or column name as a quoted SQL identifier.

    Only plain lower-case names pass: every identifier comes from the models or a collection
    description, so anything else is a programming error, never something to escape.
    """
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return f'"{identifier}"'
