"""Choice of the projected working CRS in which a twin is gridded."""

from __future__ import annotations

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.database import query_utm_crs_info
from pyproj.exceptions import CRSError

from twin_gym.errors import InputError


def choose_working_crs(
    spec: str, src_crs: CRS, anchor_lonlat: tuple[float, float]
) -> CRS:
    """Return the projected CRS named by ``spec`` for a twin anchored at a point.

    Args:
        spec: ``"local-tm"`` for a transverse Mercator with scale factor 1
            whose natural origin is the anchor, ``"utm"`` for the UTM zone
            that contains the anchor, or any projected CRS pyproj accepts.
        src_crs: CRS of the source raster; the local and UTM choices keep its
            geodetic datum, so no datum shift enters the build.
        anchor_lonlat: Longitude and latitude of the anchor in degrees on the
            source's geodetic datum.

    Raises:
        InputError: ``spec`` is not one of the above or not projected.
    """
    lon, lat = anchor_lonlat
    geodetic = src_crs.geodetic_crs
    if spec == "local-tm":
        conversion = TransverseMercatorConversion(
            latitude_natural_origin=lat,
            longitude_natural_origin=lon,
            false_easting=0.0,
            false_northing=0.0,
            scale_factor_natural_origin=1.0,
        )
        return ProjectedCRS(
            conversion=conversion,
            geodetic_crs=geodetic,
            name=f"Local transverse Mercator at {lon:.6f}, {lat:.6f}",
        )
    if spec == "utm":
        return _utm_crs(geodetic, lon, lat)
    try:
        crs = CRS.from_user_input(spec)
    except CRSError:
        raise InputError(
            f"working_crs {spec!r} is not a CRS pyproj knows; use local-tm, "
            "utm or a projected CRS such as EPSG:32631"
        ) from None
    if not crs.is_projected:
        raise InputError(
            f"working_crs {spec!r} is not projected; a twin needs metres, so "
            "use local-tm, utm or a projected CRS such as EPSG:32631"
        )
    return crs


def _utm_crs(geodetic: CRS, lon: float, lat: float) -> CRS:
    area = AreaOfInterest(lon, lat, lon, lat)
    # query_utm_crs_info matches the start of CRS names such as
    # "NAD83 / UTM zone 18N", which is the geodetic CRS's name ("NAD83"), not
    # its datum's ("North American Datum 1983").
    datum_name = geodetic.name
    for name in (datum_name, "WGS 84"):
        candidates = query_utm_crs_info(datum_name=name, area_of_interest=area)
        if candidates:
            return CRS.from_epsg(candidates[0].code)
    raise InputError(f"no UTM zone found for lon {lon}, lat {lat}; use local-tm")
