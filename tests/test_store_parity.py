"""PostGIS and the embedded store give the same data back from the same real files."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from layers.schema import DATA_TABLES

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(frame).copy()
    if "geom" in frame:
        frame["geom"] = [None if g is None else shapely.to_wkb(g, hex=True) for g in frame["geom"]]
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


# accessibility is computed by `geogaps accessibility`, not loaded from the data folder; its
# round trip through both stores is tested in tests/test_accessibility_realdata.py.
LOADED_TABLES = sorted(set(DATA_TABLES) - {"accessibility"})


@pytest.mark.parametrize("table", LOADED_TABLES)
def test_both_stores_return_the_same_table(national_postgis, national_embedded, table):
    from_postgis = national_postgis.read_table(table)
    from_embedded = national_embedded.read_table(table)
    assert len(from_postgis) > 0
    assert type(from_postgis) is type(from_embedded)
    pd.testing.assert_frame_equal(_comparable(from_postgis), _comparable(from_embedded))


def test_both_stores_record_the_same_provenance(national_postgis, national_embedded):
    columns = [
        "dataset",
        "kind",
        "table_name",
        "file_name",
        "sha256",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "report",
    ]
    pd.testing.assert_frame_equal(
        national_postgis.provenance()[columns].reset_index(drop=True),
        national_embedded.provenance()[columns].reset_index(drop=True),
    )


def test_embedded_store_reloads_idempotently(national_embedded, data_dir):
    from layers.loading import load_file

    before = national_embedded.read_table("facilities")
    report = load_file(
        national_embedded,
        "facilities",
        data_dir / "services/establecimientos_salud_deis_2026.gpkg",
        force=True,
    )
    assert not report.skipped_unchanged
    pd.testing.assert_frame_equal(
        _comparable(national_embedded.read_table("facilities")), _comparable(before)
    )
