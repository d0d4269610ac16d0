"""Run the ``geogaps`` command in a real subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def run_geogaps(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``geogaps ARGS`` with extra environment variables; capture its output."""
    return subprocess.run(
        [sys.executable, "-c", "from geo_service.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
