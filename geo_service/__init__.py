"""Wiring of geogaps: settings, the HTTP API and the ``geogaps`` command line."""

__version__ = "0.2.0"
