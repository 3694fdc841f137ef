"""Tests of the exact terrain raycaster against a brute-force reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from twin_gym.errors import InputError
from twin_gym.raycast._cast import count_invalid_rays
from twin_gym.raycast.scene import MISS_CLASS, RaycastScene, cast_ray
from twin_gym.terrain.classes import SurfaceClass

from raycast_reference import (  # isort: skip
    RTOL,
    assert_matches_reference,
    hull_interval,
    is_tangent_touch,
    make_scene,
    moller_trumbore,
    random_rays,
    reference_height,
    scene_triangles,
    vertex_w,
)

# --- Reference comparison ----------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_kernel_matches_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rng.integers(2, 8), rng.integers(2, 8))
    origins, directions, max_ranges = random_rays(rng, scene, 700)
    hits, _ = assert_matches_reference(scene, origins, directions, max_ranges)
    assert hits.hit.sum() > 50
    assert (~hits.hit).sum() > 50


def test_kernel_matches_reference_float64_heights():
    rng = np.random.default_rng(100)
    scene = make_scene(rng, 5, 6, dtype=np.float64)
    assert scene.heights.dtype == np.float64
    origins, directions, max_ranges = random_rays(rng, scene, 500)
    assert_matches_reference(scene, origins, directions, max_ranges)


def test_hit_outputs_are_consistent():
    rng = np.random.default_rng(7)
    scene = make_scene(rng, 6, 5)
    origins, directions, max_ranges = random_rays(rng, scene, 600)
    hits = scene.cast(origins, directions, max_ranges)
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    h = hits.hit
    np.testing.assert_allclose(
        hits.point_w[h], origins[h] + hits.range[h, None] * unit[h], atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.norm(hits.normal_w[h], axis=1), 1.0)
    assert (hits.normal_w[h, 2] > 0.0).all()
    assert np.isnan(hits.point_w[~h]).all()
    assert np.isnan(hits.normal_w[~h]).all()
    assert np.isinf(hits.range[~h]).all()
    assert (hits.surface_class[~h] == MISS_CLASS).all()

    # A hit point is on the surface, or on the hull's side below the surface
    # (a ray entering from outside), or is an origin below the surface.
    x_min, y_min, x_max, y_max = scene.bounds
    point = hits.point_w[h]
    # Entry points on the hull's side can round just outside it.
    surface_z = scene.height_at(
        np.clip(point[:, 0], x_min, x_max), np.clip(point[:, 1], y_min, y_max)
    )
    assert not np.isnan(surface_z).any()
    on_surface = np.abs(point[:, 2] - surface_z) < 1e-9
    on_side = (
        np.isclose(point[:, 0], x_min, rtol=0, atol=1e-9)
        | np.isclose(point[:, 0], x_max, rtol=0, atol=1e-9)
        | np.isclose(point[:, 1], y_min, rtol=0, atol=1e-9)
        | np.isclose(point[:, 1], y_max, rtol=0, atol=1e-9)
    ) & (point[:, 2] < surface_z)
    at_origin = (hits.range[h] == 0.0) & (point[:, 2] <= surface_z)
    assert (on_surface | on_side | at_origin).all()
    assert on_surface.sum() > 50
    assert on_side.sum() > 0
    assert at_origin.sum() > 0

    # The class is that of the cell with the nearest centre, NO_DATA if invalid.
    col = np.floor((hits.point_w[h, 0] - scene.x_first) / scene.cell_size + 0.5)
    row = np.floor((scene.y_first - hits.point_w[h, 1]) / scene.cell_size + 0.5)
    col = np.clip(col.astype(int), 0, scene.shape[1] - 1)
    row = np.clip(row.astype(int), 0, scene.shape[0] - 1)
    expected_class = np.where(
        scene.valid[row, col], scene.classes[row, col], SurfaceClass.NO_DATA
    )
    np.testing.assert_array_equal(hits.surface_class[h], expected_class)


def test_normals_match_hit_triangle():
    rng = np.random.default_rng(11)
    scene = make_scene(rng, 4, 4)
    triangles = scene_triangles(scene)
    x_min, y_min, x_max, y_max = scene.bounds
    n = 200
    origins = np.column_stack(
        [
            rng.uniform(x_min, x_max, n),
            rng.uniform(y_min, y_max, n),
            np.full(n, 20.0),
        ]
    )
    directions = np.column_stack(
        [rng.normal(0, 0.2, n), rng.normal(0, 0.2, n), -np.ones(n)]
    )
    hits = scene.cast(origins, directions, np.inf)
    for i in np.flatnonzero(hits.hit):
        t_all = moller_trumbore(triangles, origins[i], directions[i] / 1.0)
        tri = triangles[int(np.argmin(t_all))]
        normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
        normal = normal / np.linalg.norm(normal) * np.sign(normal[2])
        np.testing.assert_allclose(hits.normal_w[i], normal, atol=1e-6)


# --- Analytic surfaces --------------------------------------------------------


def test_tilted_plane_matches_analytic_intersection():
    a, b, c0 = 0.3, -0.2, 1.5
    rows, cols, cell = 9, 11, 1.0
    x_first, y_first = -5.0, 4.0
    x = x_first + np.arange(cols) * cell
    y = y_first - np.arange(rows) * cell
    heights = a * x[None, :] + b * y[:, None] + c0
    scene = RaycastScene(
        heights.astype(np.float64),
        np.zeros((rows, cols), np.uint8),
        np.ones((rows, cols), bool),
        x_first,
        y_first,
        cell,
    )
    rng = np.random.default_rng(3)
    n = 400
    origins = np.column_stack(
        [rng.uniform(-3, 3, n), rng.uniform(-2, 2, n), rng.uniform(8, 12, n)]
    )
    # At most 11.5 m of descent times 0.15 keeps every hit inside the map.
    directions = np.column_stack(
        [rng.uniform(-0.15, 0.15, n), rng.uniform(-0.15, 0.15, n), -np.ones(n)]
    )
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    expected = (a * origins[:, 0] + b * origins[:, 1] + c0 - origins[:, 2]) / (
        unit[:, 2] - a * unit[:, 0] - b * unit[:, 1]
    )
    hits = scene.cast(origins, directions, np.inf)
    assert hits.hit.all()
    np.testing.assert_allclose(hits.range, expected, rtol=RTOL)
    plane_normal = np.array([-a, -b, 1.0]) / math.sqrt(a * a + b * b + 1.0)
    np.testing.assert_allclose(
        hits.normal_w, np.broadcast_to(plane_normal, (n, 3)), atol=1e-12
    )


def test_ridge_matches_analytic_intersection():
    # z = top - slope * |x - x_ridge| with the ridge on column 4, so the
    # triangulation reproduces it exactly.
    rows, cols, cell, top, slope = 6, 9, 1.0, 5.0, 0.75
    x = np.arange(cols) * cell
    x_ridge = 4.0
    heights = np.broadcast_to(top - slope * np.abs(x - x_ridge), (rows, cols))
    scene = RaycastScene(
        np.array(heights, dtype=np.float64),
        np.zeros((rows, cols), np.uint8),
        np.ones((rows, cols), bool),
        0.0,
        5.0,
        cell,
    )
    rng = np.random.default_rng(4)
    n = 300
    # At most 8 m of descent times 0.25 keeps every hit inside x in [0, 8].
    origins = np.column_stack(
        [rng.uniform(2, 6, n), rng.uniform(1, 4, n), np.full(n, 10.0)]
    )
    directions = np.column_stack(
        [rng.uniform(-0.25, 0.25, n), np.zeros(n), -np.ones(n)]
    )
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    hits = scene.cast(origins, directions, np.inf)
    assert hits.hit.all()
    for i in range(n):
        candidates = []
        for side in (-1.0, 1.0):
            # Plane z = top - side * slope * (x - x_ridge) on the side sign(x - xr).
            denom = unit[i, 2] + side * slope * unit[i, 0]
            t = (top - side * slope * (origins[i, 0] - x_ridge) - origins[i, 2]) / denom
            x_hit = origins[i, 0] + t * unit[i, 0]
            if t >= 0 and side * (x_hit - x_ridge) >= -1e-12:
                candidates.append(t)
        assert hits.range[i] == pytest.approx(min(candidates), rel=RTOL)


def test_flat_ground_vertical_and_slanted_ranges():
    h = 2.5
    scene = RaycastScene(
        np.full((5, 5), h, np.float32),
        np.full((5, 5), SurfaceClass.ROAD, np.uint8),
        np.ones((5, 5), bool),
        0.0,
        4.0,
        1.0,
    )
    hits = scene.cast([[2.0, 2.0, 10.0], [1.0, 1.0, 4.5]], [[0, 0, -3], [1, 0, -1]], 50)
    assert hits.range[0] == pytest.approx(7.5, rel=1e-12)
    assert hits.range[1] == pytest.approx(2.0 * math.sqrt(2.0), rel=1e-12)
    np.testing.assert_allclose(hits.point_w[1], [3.0, 1.0, 2.5], atol=1e-12)
    assert (hits.surface_class == SurfaceClass.ROAD).all()


# --- Hard cases as properties --------------------------------------------------

grid_seeds = st.integers(0, 2**32 - 1)
grid_sizes = st.integers(2, 6)


@settings(max_examples=60, deadline=None)
@given(seed=grid_seeds, rows=grid_sizes, cols=grid_sizes, data=st.data())
def test_ray_through_vertex_matches_reference(seed, rows, cols, data):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    r = data.draw(st.integers(0, rows - 1))
    c = data.draw(st.integers(0, cols - 1))
    target = vertex_w(scene, r, c)
    offset = np.array(
        [
            data.draw(st.floats(-3, 3)),
            data.draw(st.floats(-3, 3)),
            data.draw(st.floats(0.01, 8)),
        ]
    )
    origin = target + offset
    hits, expected = assert_matches_reference(
        scene, origin[None], -offset[None], np.array([np.inf])
    )
    # The vertex is on the ray up to rounding, so the ray hits at or before it
    # unless it only touches the surface there. With a tiny horizontal offset
    # the rounded origin can put the vertex's x, y just outside the hull
    # along the ray, and then the claim does not apply. Nor does it for a
    # vertex where the ray leaves the hull, which one rounding step decides.
    distance = float(np.linalg.norm(offset))
    t_in, t_out = hull_interval(scene.bounds, origin, -offset / distance)
    reaches_vertex = hits.hit[0] and hits.range[0] <= distance * (1 + RTOL)
    inside = t_in <= distance < t_out - 1e-9 * max(1.0, t_out)
    if not reaches_vertex and inside:
        triangles = scene_triangles(scene)
        assert is_tangent_touch(triangles, origin, -offset, distance)


@settings(max_examples=60, deadline=None)
@given(
    seed=grid_seeds,
    rows=grid_sizes,
    cols=grid_sizes,
    along_column=st.booleans(),
    data=st.data(),
)
def test_ray_along_grid_line_matches_reference(seed, rows, cols, along_column, data):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    line = data.draw(st.integers(0, (cols if along_column else rows) - 1))
    start = data.draw(st.floats(-2.0, 2.0 + max(rows, cols) * scene.cell_size))
    slope = data.draw(st.floats(-2.0, 0.5))
    sign = data.draw(st.sampled_from((-1.0, 1.0)))
    if along_column:
        x0 = scene.x_first + line * scene.cell_size
        origin = [x0, scene.y_first - start, 7.0]
        direction = [0.0, sign, slope]
    else:
        y0 = scene.y_first - line * scene.cell_size
        origin = [scene.x_first - 2.0 + start, y0, 7.0]
        direction = [sign, 0.0, slope]
    assert_matches_reference(
        scene, np.array([origin]), np.array([direction]), np.array([np.inf])
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=grid_seeds,
    rows=grid_sizes,
    cols=grid_sizes,
    fu=st.floats(0.0, 1.0),
    fv=st.floats(0.0, 1.0),
    z=st.floats(-2.0, 10.0),
)
def test_vertical_rays_up_and_down(seed, rows, cols, fu, fv, z):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    x_min, y_min, x_max, y_max = scene.bounds
    x = x_min + fu * (x_max - x_min)
    y = y_min + fv * (y_max - y_min)
    ground = float(scene.height_at(x, y))
    ref_ground = reference_height(scene_triangles(scene), x, y)
    assert ground == pytest.approx(ref_ground, rel=1e-9, abs=1e-9)
    hits = scene.cast([[x, y, z], [x, y, z]], [[0, 0, -2.0], [0, 0, 0.5]], np.inf)
    if z <= ground:
        assert hits.range[0] == 0.0
        assert hits.range[1] == 0.0
    else:
        assert hits.range[0] == pytest.approx(z - ground, rel=1e-9, abs=1e-12)
        assert not hits.hit[1]


@settings(max_examples=40, deadline=None)
@given(seed=grid_seeds, rows=grid_sizes, cols=grid_sizes, data=st.data())
def test_rays_leaving_map_miss(seed, rows, cols, data):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    x_min, y_min, x_max, y_max = scene.bounds
    top = float(scene.heights.max())
    azimuth = data.draw(st.floats(0.0, 2.0 * math.pi))
    x = data.draw(st.floats(x_min, x_max))
    y = data.draw(st.floats(y_min, y_max))
    # A level ray above the highest vertex leaves the map without a hit.
    level = scene.cast(
        [[x, y, top + 0.1]], [[math.cos(azimuth), math.sin(azimuth), 0.0]], np.inf
    )
    assert not level.hit[0]
    # A ray from outside the hull pointing away from it never enters it.
    outside = scene.cast(
        [[x_max + 1.0, y, -5.0], [x, y_min - 1.0, -5.0]],
        [[1.0, 0.2, -1.0], [0.3, -1.0, 0.0]],
        np.inf,
    )
    assert not outside.hit.any()


def test_ray_from_outside_enters_and_hits():
    scene = RaycastScene(
        np.full((3, 3), 1.0, np.float32),
        np.zeros((3, 3), np.uint8),
        np.ones((3, 3), bool),
        0.0,
        2.0,
        1.0,
    )
    # Above the edge height: hits the top face at x = 1.
    hits = scene.cast([[-1.0, 1.0, 3.0], [-1.0, 1.0, 0.5]], [[1, 0, -1], [1, 0, 0]], 9)
    assert hits.range[0] == pytest.approx(2.0 * math.sqrt(2.0), rel=1e-12)
    # Below the edge height: the terrain is solid, so it hits the hull's side.
    assert hits.range[1] == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(hits.point_w[1], [0.0, 1.0, 0.5])


@settings(max_examples=40, deadline=None)
@given(seed=grid_seeds, rows=grid_sizes, cols=grid_sizes)
def test_max_range_limits_hits(seed, rows, cols):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    origins, directions, _ = random_rays(rng, scene, 50)
    full = scene.cast(origins, directions, np.inf)
    hit = full.hit & (full.range > 0.0)
    if not hit.any():
        return
    o, d, rng_hit = origins[hit], directions[hit], full.range[hit]
    shorter = scene.cast(o, d, rng_hit * (1.0 - 1e-6))
    longer = scene.cast(o, d, rng_hit * (1.0 + 1e-6))
    assert not shorter.hit.any()
    assert longer.hit.all()
    # The cut-off moves the end of the last span, so the root may move by
    # a rounding step.
    np.testing.assert_allclose(longer.range, rng_hit, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    seed=grid_seeds,
    rows=grid_sizes,
    cols=grid_sizes,
    fu=st.floats(0.0, 1.0),
    fv=st.floats(0.0, 1.0),
    depth=st.floats(1e-9, 5.0),
    direction=st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
        lambda d: max(abs(v) for v in d) > 1e-3
    ),
)
def test_origin_below_surface_hits_at_zero(seed, rows, cols, fu, fv, depth, direction):
    rng = np.random.default_rng(seed)
    scene = make_scene(rng, rows, cols)
    x_min, y_min, x_max, y_max = scene.bounds
    x = x_min + fu * (x_max - x_min)
    y = y_min + fv * (y_max - y_min)
    z = float(scene.height_at(x, y)) - depth
    hits = scene.cast([[x, y, z]], [direction], 10.0)
    assert hits.hit[0]
    assert hits.range[0] == 0.0
    np.testing.assert_array_equal(hits.point_w[0], [x, y, z])
    row = min(int(math.floor((scene.y_first - y) / scene.cell_size + 0.5)), rows - 1)
    col = min(int(math.floor((x - scene.x_first) / scene.cell_size + 0.5)), cols - 1)
    expected = scene.classes[row, col] if scene.valid[row, col] else 6
    assert hits.surface_class[0] == expected


@pytest.mark.parametrize("tiny", [2.2250738585e-313, -2.2250738585e-313, 5e-324])
def test_subnormal_horizontal_motion_counts_as_none(tiny):
    # The inverse of a subnormal component overflows to inf. The walk must
    # treat such a ray as vertical rather than turn 0 * inf into NaN.
    heights = np.array([[0.0, 1.0], [2.0, 3.0]])
    scene = RaycastScene(
        heights, np.zeros((2, 2), np.uint8), np.ones((2, 2), bool), 0.0, 1.0, 1.0
    )
    x_min, y_min, _, _ = scene.bounds
    below = scene.cast([[x_min, y_min, 1.0]], [[0.0, tiny, 1.0]], 10.0)
    assert below.range[0] == 0.0
    above = scene.cast([[0.25, 0.5, 10.0]], [[tiny, tiny, -1.0]], 20.0)
    expected = 10.0 - float(scene.height_at(0.25, 0.5))
    np.testing.assert_allclose(above.range[0], expected, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(origin=st.tuples(*[st.floats(-10, 10)] * 3), index=st.integers(0, 3))
def test_zero_length_direction_raises(origin, index):
    scene = RaycastScene(
        np.zeros((2, 2)), np.zeros((2, 2), np.uint8), np.ones((2, 2), bool), 0, 1, 1
    )
    directions = np.ones((4, 3))
    directions[index] = 0.0
    with pytest.raises(InputError, match=f"zero-length.*ray {index}"):
        scene.cast(np.tile(origin, (4, 1)), directions, 10.0)


def test_invalid_ray_count_edge_values():
    # Two origins with three rays each: ray 1 is zero, ray 2 NaN, and every
    # ray of origin 1 starts at infinity. Subnormal and huge directions are
    # valid.
    origins = np.array([[0.0, 0.0, 1.0], [math.inf, 0.0, 1.0]])
    directions = np.array(
        [
            [5e-324, 0.0, 0.0],
            [0.0, 0.0, -0.0],
            [1.0, math.nan, 0.0],
            [1e308, 1e308, 1e308],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
        ]
    )
    assert count_invalid_rays(origins, directions) == 5
    assert count_invalid_rays(origins[:1], directions[:3]) == 2
    assert count_invalid_rays(origins[:1] * 0.0, directions[3:]) == 0


# --- Inputs and helpers -----------------------------------------------------------


def small_scene_args():
    return (
        np.zeros((3, 4), np.float32),
        np.zeros((3, 4), np.uint8),
        np.ones((3, 4), bool),
        0.0,
        2.0,
        1.0,
    )


@pytest.mark.parametrize(
    ("index", "value", "match"),
    [
        (0, np.zeros(4), "2-D"),
        (0, np.zeros((1, 4)), "at least 2 rows"),
        (0, np.array([[0, np.nan, 0, 0]] * 3), "non-finite.*row 0, col 1"),
        (1, np.zeros((3, 3), np.uint8), "shape of heights"),
        (1, np.full((3, 4), 9, np.uint8), "not SurfaceClass"),
        (1, np.zeros((3, 4), np.float32), "integer dtype"),
        (2, np.full((3, 4), 0.5), "bool"),
        (3, math.inf, "x_first must be finite"),
        (5, 0.0, "cell_size must be > 0"),
        (5, "one", "cell_size must be a real number"),
    ],
)
def test_scene_rejects_invalid_input(index, value, match):
    args = list(small_scene_args())
    args[index] = value
    with pytest.raises(InputError, match=match):
        RaycastScene(*args)


@pytest.mark.parametrize(
    ("origins", "directions", "max_range", "match"),
    [
        (np.zeros((2, 2)), np.ones((2, 2)), 1.0, "origins_w must have shape"),
        (np.zeros((2, 3)), np.ones((3, 3)), 1.0, "directions_w must have the shape"),
        (np.full((1, 3), np.nan), np.ones((1, 3)), 1.0, "origins_w must be finite"),
        (np.zeros((1, 3)), np.full((1, 3), np.inf), 1.0, "directions_w must be"),
        (np.zeros((2, 3)), np.ones((2, 3)), -1.0, "max_range must be >= 0"),
        (np.zeros((2, 3)), np.ones((2, 3)), np.nan, "max_range must be >= 0"),
        (np.zeros((2, 3)), np.ones((2, 3)), np.ones(3), "max_range must be a scalar"),
        (np.zeros((1, 3)), np.ones((1, 3)), 1 + 1j, "max_range must contain real"),
        ([["a", 1, 1]], np.ones((1, 3)), 1.0, "origins_w must contain numbers"),
        ([[1 + 1j, 1, 1]], np.ones((1, 3)), 1.0, "origins_w must contain real"),
        (3.0, 1.0, 1.0, r"origins_w must have shape \(n, 3\), got \(\)"),
    ],
)
def test_cast_rejects_invalid_rays(origins, directions, max_range, match):
    scene = RaycastScene(*small_scene_args())
    with pytest.raises(InputError, match=match):
        scene.cast(origins, directions, max_range)


def test_cast_accepts_empty_batch_and_any_direction_length():
    scene = RaycastScene(*small_scene_args())
    empty = scene.cast(np.zeros((0, 3)), np.zeros((0, 3)), 5.0)
    assert empty.range.shape == (0,)
    assert empty.point_w.shape == (0, 3)
    hits = scene.cast(
        [[1.0, 1.0, 3.0]] * 3, [[0, 0, -1e-200], [0, 0, -1.0], [0, 0, -1e200]], 5.0
    )
    np.testing.assert_array_equal(hits.range, [3.0, 3.0, 3.0])


def test_height_at_broadcasts_and_is_nan_off_map():
    rng = np.random.default_rng(5)
    scene = make_scene(rng, 4, 5)
    x_min, y_min, x_max, y_max = scene.bounds
    x = np.array([[x_min, x_max, x_min - 0.1]])
    y = np.array([[y_max], [y_min]])
    heights = scene.height_at(x, y)
    assert heights.shape == (2, 3)
    assert heights[0, 0] == scene.heights[0, 0]
    assert heights[0, 1] == scene.heights[0, -1]
    assert heights[1, 0] == scene.heights[-1, 0]
    assert heights[1, 1] == scene.heights[-1, -1]
    assert np.isnan(heights[:, 2]).all()


def test_cast_ray_is_callable_from_numba():
    @njit
    def ranges_down(heights, xs):
        out = np.empty(xs.shape[0])
        for i in range(xs.shape[0]):
            out[i] = cast_ray(
                heights, 0.0, 2.0, 1.0, xs[i], 1.0, 5.0, 0.0, 0.0, -1.0, 4.0
            )
        return out

    heights = np.full((3, 3), 2.0, np.float32)
    out = ranges_down(heights, np.array([1.0, 5.0]))
    assert out[0] == 3.0
    assert out[1] == math.inf
    assert ranges_down(heights * 0.0 - 10.0, np.array([1.0]))[0] == math.inf


def test_parallel_and_serial_batches_agree():
    from twin_gym.raycast.scene import PARALLEL_MIN_RAYS

    rng = np.random.default_rng(42)
    scene = make_scene(rng, 40, 50)
    origins, directions, max_ranges = random_rays(rng, scene, PARALLEL_MIN_RAYS + 10)
    together = scene.cast(origins, directions, max_ranges)
    # Slices below the threshold take the serial kernel.
    half = len(origins) // 2
    parts = [
        scene.cast(origins[:half], directions[:half], max_ranges[:half]),
        scene.cast(origins[half:], directions[half:], max_ranges[half:]),
    ]
    np.testing.assert_array_equal(
        together.range, np.concatenate([p.range for p in parts])
    )
    np.testing.assert_array_equal(
        together.surface_class, np.concatenate([p.surface_class for p in parts])
    )
    assert together.hit.any()
    assert (~together.hit).any()
