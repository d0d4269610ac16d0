#!/usr/bin/env bash
# The main job: load the real data, compute travel times, score every commune, write the map,
# serve the API and map.
#
# Uses PostGIS when GEOGAPS_DATABASE_URL is set, otherwise the embedded store in var/store.
# GEOGAPS_DATA_DIR defaults to ../shared/data/chile. Set GEOGAPS_SERVE=0 to stop after the map.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export GEOGAPS_DATA_DIR=${GEOGAPS_DATA_DIR:-../shared/data/chile}
# Migrations are their own step (the server never migrates on start-up).
if [ -n "${GEOGAPS_DATABASE_URL:-}" ]; then
  .venv/bin/geogaps db upgrade
fi
.venv/bin/geogaps load --data-dir "$GEOGAPS_DATA_DIR"
.venv/bin/geogaps accessibility --resolution 1000 --out output/accesibilidad.csv
.venv/bin/geogaps score --out output/scores.csv
.venv/bin/geogaps map --out output/mapa.html
if [ "${GEOGAPS_SERVE:-1}" != "0" ]; then
  echo "serving http://127.0.0.1:8000/mapa (Ctrl-C to stop)"
  exec .venv/bin/geogaps serve
fi
