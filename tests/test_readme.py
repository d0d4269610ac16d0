"""The README shows the screenshots ``scripts/screenshots.py`` writes, and keeps its two
set-up commands in step with the scripts CI runs.

No pixels and no timings: the images come from the script (run by hand on the real data); these
tests check that the README references exactly the script's outputs, that each is a PNG in the
repository, and that the commands the README gives for a fresh machine are the ones that exist.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

PROJECT_ROOT = Path(__file__).resolve().parents[1]
README = PROJECT_ROOT / "README.md"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _screenshots_script() -> ModuleType:
    path = PROJECT_ROOT / "scripts" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("geogaps_screenshots", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme_images() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))


def test_the_readme_shows_exactly_the_images_the_script_writes():
    written = set(_screenshots_script().SCREENSHOTS)
    shown = _readme_images()
    assert len(shown) == len(set(shown)), shown
    assert set(shown) == written
    for name in sorted(written):
        image = PROJECT_ROOT / name
        assert image.read_bytes()[: len(PNG_SIGNATURE)] == PNG_SIGNATURE, name


def test_the_setup_commands_are_the_scripts_ci_runs():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^    (bash scripts/\S+)$", text, flags=re.MULTILINE)
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (PROJECT_ROOT / command.removeprefix("bash ")).is_file()
    assert "scripts/test.sh" in (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
