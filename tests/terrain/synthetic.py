"""Small synthetic DEMs and vector layers written to a test's tmp_path."""

import json

import numpy as np
import rasterio
from rasterio.transform import from_origin


def write_dem(
    path,
    heights,
    *,
    crs="EPSG:32631",
    left=500_000.0,
    top=4_900_000.0,
    res=1.0,
    nodata=None,
    transform=None,
    **profile,
):
    """Write ``heights`` (rows, cols) as a single-band GeoTIFF and return the path."""
    heights = np.asarray(heights)
    options = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": heights.dtype.name,
        "crs": crs,
        "transform": transform or from_origin(left, top, res, res),
        "nodata": nodata,
        **profile,
    }
    with rasterio.open(path, "w", **options) as dataset:
        dataset.write(heights, 1)
    return path


def write_geojson(path, features, crs=None):
    """Write a FeatureCollection of (geometry mapping, properties) pairs."""
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": index + 1,
                "geometry": geometry,
                "properties": props,
            }
            for index, (geometry, props) in enumerate(features)
        ],
    }
    if crs is not None:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(document))
    return path


def square(x, y, size):
    """Return a GeoJSON polygon mapping of a square with lower-left (x, y)."""
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}
