"""Oracle tests on real DEMs: Embree mesh tracers and rasterio geolocation.

The scene's terrain and columns are exported as a triangle mesh and traced by
Embree through trimesh (and Open3D where it imports). Those tracers work in
float32, so coordinates are shifted near zero before tracing. A bug in the
mesh export would fool both sides, so hit points are also checked in float64
against heights that rasterio reads at the hit's longitude and latitude.
"""

import math

import numpy as np
import pytest
import rasterio
from rasterio.warp import transform as warp_transform

from twin_gym.raycast.mesh import surface_mesh
from twin_gym.raycast.scene import RaycastScene
from twin_gym.terrain.build import build_twin
from twin_gym.terrain.classes import SurfaceClass

ALEXANDRIA = "alexandria-lidar"
BIG_TUJUNGA = "bigtujunga/srtm_bigtujunga30m_utm11.tif"


@pytest.fixture(scope="module")
def city_twin(shared_data):
    """Alexandria, VA at 1 m with columns where the DSM is 2.5 m above the DTM."""
    folder = shared_data / ALEXANDRIA
    return build_twin(
        str(folder / "dtm.tif"),
        use_cache=False,
        cell_size=1.0,
        dsm=str(folder / "dsm.tif"),
    )


@pytest.fixture(scope="module")
def mountain_twin(shared_data):
    """A 1.5 km square of steep terrain at 10 m, cropped from a 30 m SRTM DEM."""
    path = shared_data / BIG_TUJUNGA
    with rasterio.open(path) as dataset:
        left, bottom = dataset.bounds.left, dataset.bounds.bottom
    aoi = (left + 15000.0, bottom + 8000.0, left + 16500.0, bottom + 9500.0)
    return build_twin(
        str(path),
        use_cache=False,
        cell_size=10.0,
        working_crs="EPSG:32611",
        aoi=aoi,
        aoi_crs="source",
    )


def with_columns(twin, seed, fraction=0.03):
    """Return the twin's scene with random 5-40 m columns on some cells."""
    rng = np.random.default_rng(seed)
    structure_heights = np.where(
        rng.random(twin.shape) < fraction, rng.uniform(5.0, 40.0, twin.shape), 0.0
    )
    return RaycastScene(
        twin.heights,
        twin.classes,
        twin.valid,
        twin.x_first,
        twin.y_first,
        twin.cell_size,
        structure_heights=structure_heights,
    )


def lidar_directions(channels=32, steps=360):
    """Return unit directions of a -45 to +15 degree spinning LiDAR, (n, 3)."""
    elevation = np.radians(np.linspace(-45.0, 15.0, channels))[:, None]
    azimuth = np.radians(np.arange(steps) * 360.0 / steps + 0.123)[None, :]
    return np.stack(
        np.broadcast_arrays(
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ),
        axis=-1,
    ).reshape(-1, 3)


def sensor_positions(scene, rng, poses=4):
    """Return drone (40 m) and rover (1.5 m) LiDAR positions, shape (2 poses, 3).

    Poses stand on cells without a column, inside the hull, so every origin
    is outside the solid.
    """
    free = np.argwhere(scene.structure_heights[2:-2, 2:-2] == 0.0) + 2
    picks = free[rng.choice(len(free), 2 * poses, replace=False)]
    x = scene.x_first + picks[:, 1] * scene.cell_size
    y = scene.y_first - picks[:, 0] * scene.cell_size
    ground = scene.heights[picks[:, 0], picks[:, 1]].astype(np.float64)
    heights = np.where(np.arange(2 * poses) < poses, 40.0, 1.5)
    return np.column_stack([x, y, ground + heights])


def sensor_rays(scene, rng, poses=4):
    """Return LiDAR rays from drone and rover poses plus random rays from them."""
    positions = sensor_positions(scene, rng, poses)
    directions = lidar_directions()
    origins = np.repeat(positions, len(directions), axis=0)
    directions = np.tile(directions, (len(positions), 1))
    random_directions = rng.normal(size=(20000, 3))
    random_origins = positions[rng.integers(len(positions), size=20000)]
    return (
        np.concatenate([origins, random_origins]),
        np.concatenate([directions, random_directions]),
    )


def height_shift(scene):
    """Return the whole metres subtracted from every z before float32 tracing.

    The median height rounded to an integer keeps coordinates small, and
    subtracting it from float32 heights is exact in float64.
    """
    return float(np.round(np.median(scene.heights)))


def assert_matches_tracer(ours, theirs_range, label):
    """Apply the oracle thresholds to our hits and a float32 tracer's ranges."""
    theirs_hit = np.isfinite(theirs_range)
    agree = np.mean(ours.hit == theirs_hit)
    assert agree >= 0.9999, f"{label}: hit/miss agree on {agree:.6f} of rays"
    both = ours.hit & theirs_hit
    diff = np.abs(ours.range[both] - theirs_range[both])
    assert np.percentile(diff, 99.9) <= 1e-4, (
        f"{label}: p99.9 {np.percentile(diff, 99.9):.3g} m"
    )
    assert diff.max() < 0.02, f"{label}: max range difference {diff.max():.3g} m"


def trace_trimesh(scene, origins, directions):
    """Return first-hit ranges from Embree via trimesh, inf on a miss."""
    trimesh = pytest.importorskip("trimesh")
    pytest.importorskip("embreex")
    vertices, faces = surface_mesh(scene)
    shift = [0.0, 0.0, height_shift(scene)]
    vertices = vertices - shift
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    assert mesh.ray.__class__.__module__.endswith("ray_pyembree")
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    shifted = origins - shift
    locations, index_ray, _ = mesh.ray.intersects_location(
        shifted, unit, multiple_hits=False
    )
    ranges = np.full(len(origins), np.inf)
    ranges[index_ray] = np.linalg.norm(locations - shifted[index_ray], axis=1)
    return ranges


@pytest.mark.parametrize("twin_name", ["city_twin", "mountain_twin"])
def test_ranges_match_embree_via_trimesh(twin_name, request):
    twin = request.getfixturevalue(twin_name)
    if twin_name == "city_twin":
        scene = RaycastScene.from_twin(twin)
        assert scene.has_structures
    else:
        scene = with_columns(twin, seed=5)
    origins, directions = sensor_rays(scene, np.random.default_rng(7))
    ours = scene.cast(origins, directions, math.inf)
    theirs = trace_trimesh(scene, origins, directions)
    assert_matches_tracer(ours, theirs, "trimesh/Embree")
    column_hits = np.isin(ours.surface_class, [SurfaceClass.BUILDING]).sum()
    assert ours.hit.mean() > 0.5
    if twin_name == "city_twin":
        assert column_hits > 1000


@pytest.mark.parametrize("twin_name", ["city_twin", "mountain_twin"])
def test_lidar_fans_match_embree_via_trimesh(twin_name, request):
    twin = request.getfixturevalue(twin_name)
    if twin_name == "city_twin":
        scene = RaycastScene.from_twin(twin)
    else:
        scene = with_columns(twin, seed=6)
    positions = sensor_positions(scene, np.random.default_rng(9))
    # Fans of one azimuth step: (poses * steps, channels, 3).
    channels, steps = 32, 360
    by_step = lidar_directions(channels, steps).reshape(channels, steps, 3)
    fans = np.tile(by_step.transpose(1, 0, 2), (len(positions), 1, 1))
    origins = np.repeat(positions, steps, axis=0)
    ours = scene.cast_fans(origins, fans, math.inf)
    theirs = trace_trimesh(
        scene, np.repeat(origins, channels, axis=0), fans.reshape(-1, 3)
    )
    assert_matches_tracer(ours, theirs, "fans against trimesh/Embree")
    assert ours.hit.mean() > 0.5


def test_ranges_match_open3d(city_twin):
    open3d = pytest.importorskip("open3d")
    scene = RaycastScene.from_twin(city_twin)
    origins, directions = sensor_rays(scene, np.random.default_rng(8))
    vertices, faces = surface_mesh(scene)
    shift = [0.0, 0.0, height_shift(scene)]
    tracer = open3d.t.geometry.RaycastingScene()
    tracer.add_triangles(
        (vertices - shift).astype(np.float32),
        faces.astype(np.uint32),
    )
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    rays = np.hstack([origins - shift, unit]).astype(np.float32)
    theirs = tracer.cast_rays(open3d.core.Tensor(rays))["t_hit"].numpy()
    ours = scene.cast(origins, directions, math.inf)
    assert_matches_tracer(ours, theirs.astype(np.float64), "Open3D")


def write_twin_geotiff(twin, path):
    """Write the twin's heights as a GeoTIFF in its working CRS."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=twin.shape[1],
        height=twin.shape[0],
        count=1,
        dtype="float32",
        crs=twin.crs_wkt,
        transform=twin.transform,
    ) as dataset:
        dataset.write(twin.heights, 1)


def sample_at_lonlat(path, twin, lon, lat):
    """Return heights that rasterio reads at lon/lat (nearest pixel)."""
    with rasterio.open(path) as dataset:
        xs, ys = warp_transform(twin.crs.geodetic_crs.to_wkt(), dataset.crs, lon, lat)
        return np.array([v[0] for v in dataset.sample(zip(xs, ys, strict=True))])


def test_hits_at_cell_centres_match_rasterio(mountain_twin, tmp_path):
    twin = mountain_twin
    scene = with_columns(twin, seed=9)
    rng = np.random.default_rng(3)
    rows, cols = twin.shape
    free = np.argwhere(scene.structure_heights == 0.0)
    targets_rc = free[rng.choice(len(free), 3000, replace=False)]
    target_x, target_y = twin.cell_centre(targets_rc[:, 0], targets_rc[:, 1])
    target_z = twin.heights[targets_rc[:, 0], targets_rc[:, 1]].astype(np.float64)
    origins = np.column_stack(
        [np.zeros(3000), np.zeros(3000), np.full(3000, twin.heights.max() + 300.0)]
    )
    directions = np.column_stack([target_x, target_y, target_z]) - origins
    hits = scene.cast(origins, directions, math.inf)
    seen = hits.hit & (
        np.hypot(hits.point_w[:, 0] - target_x, hits.point_w[:, 1] - target_y) < 1e-6
    )
    assert seen.sum() > 1000
    lon, lat, _ = twin.local_to_lonlat(hits.point_w[seen, 0], hits.point_w[seen, 1])
    path = tmp_path / "twin.tif"
    write_twin_geotiff(twin, path)
    sampled = sample_at_lonlat(path, twin, lon, lat)
    np.testing.assert_allclose(hits.point_w[seen, 2], sampled, rtol=0, atol=1e-6)


def test_terrain_hits_lie_within_source_dem_relief(mountain_twin, shared_data):
    twin = mountain_twin
    scene = RaycastScene.from_twin(twin)
    origins, directions = sensor_rays(scene, np.random.default_rng(4), poses=2)
    hits = scene.cast(origins, directions, math.inf)
    points = hits.point_w[hits.hit]
    lon, lat, _ = twin.local_to_lonlat(points[:, 0], points[:, 1])
    with rasterio.open(shared_data / BIG_TUJUNGA) as dataset:
        xs, ys = warp_transform(twin.crs.geodetic_crs.to_wkt(), dataset.crs, lon, lat)
        source = dataset.read(1).astype(np.float64)
        rows, cols = rasterio.transform.rowcol(dataset.transform, xs, ys)
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    windows = np.stack(
        [source[rows + dr, cols + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    )
    # The twin resamples the 30 m source bilinearly onto 10 m cells, so each
    # hit lies within the range of the source's 3 x 3 pixels around it.
    assert (points[:, 2] >= windows.min(axis=0) - 1e-3).all()
    assert (points[:, 2] <= windows.max(axis=0) + 1e-3).all()
    relief = windows.max(axis=0) - windows.min(axis=0)
    assert np.median(relief) > 20.0
