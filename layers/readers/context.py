"""What a reader may need besides its file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ReadContext:
    """What a reader may need besides its file: names with accents, and commune names → CUT.

    ``name_lookup`` is called at most once, and only by readers of sources without a CUT column,
    so loads of files that carry their codes never pay for it.
    """

    accented_names: dict[str, str] = field(default_factory=dict)  # cut -> name with accents
    accented_regions: dict[str, str] = field(default_factory=dict)  # region code -> name
    names_source: dict[str, str] | None = None  # file and sha256 the accented names came from
    name_lookup: Callable[[], dict[str, str]] | None = None  # -> {folded name: cut}
    _commune_names: dict[str, str] | None = None

    @property
    def commune_names(self) -> dict[str, str]:
        """Folded commune name → CUT, for names that identify one commune."""
        if self._commune_names is None:
            self._commune_names = self.name_lookup() if self.name_lookup else {}
        return self._commune_names
