"""Regenerate countries.geojson: the country outlines the page's map draws (offline, no tiles).

Source: Natural Earth 1:110m Admin 0 Countries (public domain, naturalearthdata.com), as shipped
in geopandas 0.14.4's wheel (geopandas/datasets/naturalearth_lowres; later geopandas releases
dropped it). One-off, not run by the page or the tests:

    pip download --no-deps geopandas==0.14.4 && unzip geopandas-0.14.4-py3-none-any.whl \
        'geopandas/datasets/naturalearth_lowres/*'
    pip install pyshp
    python app/data/make_countries_geojson.py \
        geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp

Keeps the countries that touch the map's frame, drops the parts of Russia east of the
antimeridian (Chukotka's tip), and rounds coordinates to 0.01 degree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FRAME = (-12.0, 12.0, 180.0, 82.0)  # lon_min, lat_min, lon_max, lat_max


def _touches(bbox: list[float]) -> bool:
    lon0, lat0, lon1, lat1 = bbox
    return lon1 >= FRAME[0] and lon0 <= FRAME[2] and lat1 >= FRAME[1] and lat0 <= FRAME[3]


def main(shp: str) -> None:
    import shapefile  # pyshp: a one-off tool's dependency, not the page's (imported here only)

    reader = shapefile.Reader(shp)
    features = []
    for rec in reader.iterShapeRecords():
        geo = rec.shape.__geo_interface__
        polygons = geo["coordinates"] if geo["type"] == "MultiPolygon" else [geo["coordinates"]]
        kept = []
        for poly in polygons:
            lons = [p[0] for p in poly[0]]
            lats = [p[1] for p in poly[0]]
            if max(lons) < -150 or not _touches([min(lons), min(lats), max(lons), max(lats)]):
                continue
            kept.append([[[round(x, 2), round(y, 2)] for x, y in ring] for ring in poly])
        if not kept:
            continue
        props = rec.record.as_dict()
        features.append({"type": "Feature",
                         "properties": {"name": props["name"], "iso_a3": props["iso_a3"]},
                         "geometry": {"type": "MultiPolygon", "coordinates": kept}})
    out = Path(__file__).with_name("countries.geojson")
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                              separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{out}: {len(features)} countries, {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(sys.argv[1])
