"""Loading datasets: read, validate, write in one transaction, report, record provenance.

:func:`load_file` loads one file (``load``), :func:`load_directory` a whole data folder
(``folder``); ``checks`` holds what a load refuses and ``report`` what it records.
"""

from layers.loading.folder import (
    MANIFEST,
    NAMES_SOURCE,
    NOT_LOADED,
    DirectoryLoad,
    ProgressCallback,
    load_directory,
    names_with_accents,
)
from layers.loading.load import load_file
from layers.loading.report import READER_VERSION, LoadReport, attempt_row

__all__ = [
    "MANIFEST",
    "NAMES_SOURCE",
    "NOT_LOADED",
    "READER_VERSION",
    "DirectoryLoad",
    "LoadReport",
    "ProgressCallback",
    "attempt_row",
    "load_directory",
    "load_file",
    "names_with_accents",
]
