#!/usr/bin/env bash
# The main job: load the real data, score every commune, serve the API and the map.
#
# Uses PostGIS when GEOGAPS_DATABASE_URL is set, otherwise the embedded store in var/store.
# GEOGAPS_DATA_DIR defaults to ../shared/data/chile. Set GEOGAPS_SERVE=0 to stop after scoring.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export GEOGAPS_DATA_DIR=${GEOGAPS_DATA_DIR:-../shared/data/chile}
.venv/bin/geogaps load --data-dir "$GEOGAPS_DATA_DIR"
if .venv/bin/geogaps --help | grep -q ' score '; then
  .venv/bin/geogaps score --out output/scores.csv
  .venv/bin/geogaps map --out output/mapa.html
fi
if [ "${GEOGAPS_SERVE:-1}" != "0" ] && .venv/bin/geogaps --help | grep -q ' serve '; then
  exec .venv/bin/geogaps serve
fi
