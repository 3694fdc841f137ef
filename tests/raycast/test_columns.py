"""Tests of structure columns: flat tops and vertical walls on the terrain."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin_gym.errors import InputError
from twin_gym.raycast.scene import RaycastScene
from twin_gym.terrain.classes import SurfaceClass

from raycast_reference import (  # isort: skip
    column_boxes,
    hull_interval,
    is_tangent_touch,
    make_column_scene,
    random_rays,
    ranges_agree,
    reference_cast,
    reference_cast_columns,
    scene_triangles,
)


def assert_matches_column_reference(scene, origins, directions, max_ranges):
    """Compare ranges, normals and classes with the brute-force reference."""
    hits = scene.cast(origins, directions, max_ranges)
    triangles = scene_triangles(scene)
    boxes = column_boxes(scene)
    column_hits = 0
    rejected = []
    touches = 0
    for i, (origin, direction, max_range) in enumerate(
        zip(origins, directions, max_ranges, strict=True)
    ):
        t_terrain = reference_cast(
            triangles, scene.bounds, origin, direction, max_range
        )
        t_column, index, normal = reference_cast_columns(
            boxes, origin, direction, max_range
        )
        expected = min(t_terrain, t_column)
        got = hits.range[i]
        if not ranges_agree(expected, got):
            # A ray that touches the surface, or only grazes a hull corner so
            # that its in-hull interval has zero length, takes or skips the
            # touch by one rounding step in either method.
            unit = direction / np.linalg.norm(direction)
            t_in, t_out = hull_interval(scene.bounds, origin, unit)
            corner = t_out - t_in <= 1e-9 * max(1.0, t_in)
            if corner or is_tangent_touch(
                triangles, origin, direction, min(expected, got)
            ):
                touches += 1
                continue
            rejected.append((i, expected, got))
            continue
        if t_column < t_terrain - 1e-9 * max(1.0, t_terrain):
            column_hits += 1
            row, col = boxes[index][:2]
            np.testing.assert_array_equal(hits.normal_w[i], normal, err_msg=f"ray {i}")
            expected_class = (
                scene.classes[row, col]
                if scene.valid[row, col]
                else SurfaceClass.NO_DATA
            )
            assert hits.surface_class[i] == expected_class, f"ray {i}"
    assert not rejected, f"ranges differ (ray, expected, got): {rejected[:5]}"
    assert touches <= max(1, len(origins) // 10)
    return hits, column_hits


def wall_rays(rng, scene, n):
    """Return rays along footprint edges and horizontal rays at wall height."""
    origins, directions, max_ranges = random_rays(rng, scene, n)
    rows, cols = scene.shape
    size = scene.cell_size
    for i in range(0, n, 3):
        # Along a footprint edge, half a cell off the grid lines.
        col = rng.integers(cols) - 0.5
        origins[i, 0] = scene.x_first + col * size
        directions[i, 0] = 0.0
    for i in range(1, n, 3):
        # Horizontal, at a height between terrain and column tops.
        tops = scene.heights + scene.structure_heights
        origins[i, 2] = rng.uniform(scene.heights.min(), tops.max())
        directions[i, 2] = 0.0
        if not directions[i, :2].any():
            directions[i, 0] = 1.0
    return origins, directions, max_ranges


@pytest.mark.parametrize("seed", range(6))
def test_columns_match_brute_force_reference(seed):
    rng = np.random.default_rng(1000 + seed)
    scene = make_column_scene(rng, rng.integers(2, 8), rng.integers(2, 8), 0.4)
    origins, directions, max_ranges = wall_rays(rng, scene, 600)
    hits, column_hits = assert_matches_column_reference(
        scene, origins, directions, max_ranges
    )
    assert column_hits > 10
    assert (~hits.hit).sum() > 30


@pytest.mark.parametrize("seed", range(2))
def test_pyramid_walk_matches_reference(seed):
    # Scenes wider than 64 cells have several blocks at each of the three
    # pyramid levels, where the small scenes above have one or two.
    rng = np.random.default_rng(5000 + seed)
    scene = make_column_scene(rng, rng.integers(66, 90), rng.integers(66, 90), 0.15)
    origins, directions, max_ranges = wall_rays(rng, scene, 800)
    hits, column_hits = assert_matches_column_reference(
        scene, origins, directions, max_ranges
    )
    assert column_hits > 50
    assert (~hits.hit).sum() > 30
    steps = scene.walk_steps(origins, directions, max_ranges)
    plain = scene.walk_steps(origins, directions, max_ranges, use_pyramid=False)
    assert steps.sum() < plain.sum()


def test_columns_match_reference_float64_heights():
    rng = np.random.default_rng(77)
    scene = make_column_scene(rng, 6, 5, fraction=0.5, dtype=np.float64)
    origins, directions, max_ranges = wall_rays(rng, scene, 500)
    _, column_hits = assert_matches_column_reference(
        scene, origins, directions, max_ranges
    )
    assert column_hits > 30


def single_column_scene(height=10.0, ground=2.0, n=9, cell=2.0, row=4, col=4):
    """Flat ground at ``ground`` with one column on cell (row, col).

    Cell centres lie at x = 0, 2, ..., 16 and y = 16, 14, ..., 0, so the
    column on cell (4, 4) covers x, y in [7, 9] and reaches z = ground + height.
    """
    structure_heights = np.zeros((n, n))
    structure_heights[row, col] = height
    classes = np.zeros((n, n), np.uint8)
    classes[row, col] = SurfaceClass.BUILDING
    return RaycastScene(
        np.full((n, n), ground, np.float32),
        classes,
        np.ones((n, n), bool),
        0.0,
        (n - 1) * cell,
        cell,
        structure_heights=structure_heights,
    )


@pytest.mark.parametrize(
    ("direction", "wall_x", "wall_y", "normal"),
    [
        ((1.0, 0.0, 0.0), 7.0, None, (-1.0, 0.0, 0.0)),
        ((-1.0, 0.0, 0.0), 9.0, None, (1.0, 0.0, 0.0)),
        ((0.0, 1.0, 0.0), None, 7.0, (0.0, -1.0, 0.0)),
        ((0.0, -1.0, 0.0), None, 9.0, (0.0, 1.0, 0.0)),
    ],
    ids=["west-wall", "east-wall", "south-wall", "north-wall"],
)
def test_box_walls_analytic(direction, wall_x, wall_y, normal):
    scene = single_column_scene()
    direction = np.array(direction)
    # Start 5 m outside the wall, 3.3 m above the ground, 0.37 m off-centre.
    start = np.array([8.0, 8.0, 5.3]) - 6.0 * direction
    start[:2] += 0.37 * np.abs(direction[1::-1])
    hits = scene.cast(start[None], direction[None], 100.0)
    assert hits.hit[0]
    assert hits.range[0] == pytest.approx(5.0, abs=1e-12)
    if wall_x is not None:
        assert hits.point_w[0, 0] == pytest.approx(wall_x, abs=1e-12)
    if wall_y is not None:
        assert hits.point_w[0, 1] == pytest.approx(wall_y, abs=1e-12)
    np.testing.assert_array_equal(hits.normal_w[0], normal)
    assert hits.surface_class[0] == SurfaceClass.BUILDING


def test_box_top_and_slanted_rays_analytic():
    scene = single_column_scene()
    down = scene.cast([[8.3, 7.6, 30.0]], [[0.0, 0.0, -1.0]], 100.0)
    assert down.range[0] == 18.0
    np.testing.assert_array_equal(down.normal_w[0], (0.0, 0.0, 1.0))
    assert down.surface_class[0] == SurfaceClass.BUILDING
    # Aimed at the top's north edge, 1e-9 m inside: lands on the top.
    target = np.array([8.0, 9.0 - 1e-9, 12.0])
    origin = np.array([8.0, 20.0, 23.0])
    hits = scene.cast(origin[None], (target - origin)[None], 100.0)
    assert hits.range[0] == pytest.approx(np.linalg.norm(target - origin), rel=1e-12)
    np.testing.assert_array_equal(hits.normal_w[0], (0.0, 0.0, 1.0))
    # Aimed 1e-6 m below the top edge: lands on the north wall.
    target = np.array([8.0, 9.0, 12.0 - 1e-6])
    hits = scene.cast(origin[None], (target - origin)[None], 100.0)
    np.testing.assert_allclose(hits.point_w[0], target, atol=1e-9)
    np.testing.assert_array_equal(hits.normal_w[0], (0.0, 1.0, 0.0))
    # Passing 0.25 m over a 1 m column reaches the ground beyond it.
    scene = single_column_scene(height=1.0)
    hits = scene.cast([[8.0, 12.0, 5.0]], [[0.0, -1.0, -0.35]], 100.0)
    assert hits.surface_class[0] == SurfaceClass.GROUND
    assert hits.point_w[0, 2] == pytest.approx(2.0, abs=1e-9)


def test_origin_inside_column_hits_at_zero():
    scene = single_column_scene()
    hits = scene.cast(
        [[8.0, 8.0, 5.0], [7.5, 8.5, 11.9]], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], 50.0
    )
    np.testing.assert_array_equal(hits.range, [0.0, 0.0])
    np.testing.assert_array_equal(hits.normal_w, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(hits.surface_class, [SurfaceClass.BUILDING] * 2)


def test_column_on_invalid_cell_reports_no_data():
    scene = single_column_scene()
    valid = np.ones(scene.shape, bool)
    valid[4, 4] = False
    scene = RaycastScene(
        scene.heights,
        scene.classes,
        valid,
        scene.x_first,
        scene.y_first,
        scene.cell_size,
        structure_heights=scene.structure_heights,
    )
    hits = scene.cast([[8.0, 8.0, 30.0]], [[0.0, 0.0, -1.0]], 100.0)
    assert hits.surface_class[0] == SurfaceClass.NO_DATA


def test_edge_column_is_clipped_to_hull():
    # A column on corner cell (0, 0) covers only x, y in [0, 1] x [15, 16].
    scene = single_column_scene(row=0, col=0)
    inside = scene.cast([[0.5, 15.5, 30.0]], [[0.0, 0.0, -1.0]], 100.0)
    assert inside.range[0] == 18.0
    outside = scene.cast([[-0.5, 15.5, 30.0]], [[0.0, 0.0, -1.0]], 100.0)
    assert not outside.hit[0]
    # Entering the hull through the clipped west face reports the west wall.
    side = scene.cast([[-5.0, 15.5, 6.0]], [[1.0, 0.0, 0.0]], 100.0)
    assert side.range[0] == 5.0
    np.testing.assert_array_equal(side.normal_w[0], (-1.0, 0.0, 0.0))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    # Strictly inside the footprint, since neighbours on its edge are taller.
    fu=st.floats(-0.49, 0.49),
    fv=st.floats(-0.49, 0.49),
    above=st.floats(0.01, 20.0),
    up=st.booleans(),
)
def test_vertical_rays_on_columns(seed, fu, fv, above, up):
    rng = np.random.default_rng(seed)
    scene = make_column_scene(rng, 6, 6, fraction=1.0)
    row, col = 2, 3
    x = scene.x_first + (col + fu) * scene.cell_size
    y = scene.y_first - (row + fv) * scene.cell_size
    top = float(scene.heights[row, col]) + float(scene.structure_heights[row, col])
    terrain = float(scene.height_at(x, y))
    surface = max(top, terrain)
    hits = scene.cast([[x, y, surface + above]], [[0.0, 0.0, 1.0 if up else -1.0]], 1e3)
    if up:
        assert not hits.hit[0]
    else:
        assert hits.point_w[0, 2] == pytest.approx(surface, abs=1e-9)
    inside = scene.cast([[x, y, surface - 1e-3]], [[0.0, 0.0, 1.0]], 1e3)
    assert inside.range[0] == 0.0


def test_structure_heights_are_validated():
    scene = single_column_scene()
    args = (scene.heights, scene.classes, scene.valid, 0.0, 16.0, 2.0)
    with pytest.raises(InputError, match="structure_heights must have the shape"):
        RaycastScene(*args, structure_heights=np.zeros((2, 2)))
    bad = np.zeros(scene.shape)
    bad[1, 2] = -1.0
    with pytest.raises(InputError, match=r"got -1.0 at \(row 1, col 2\)"):
        RaycastScene(*args, structure_heights=bad)
    bad[1, 2] = math.nan
    with pytest.raises(InputError, match="finite and >= 0"):
        RaycastScene(*args, structure_heights=bad)


components = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 1e-12, -1e-12]),
    st.floats(-1.0, 1.0, allow_subnormal=False),
)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    origin=st.tuples(st.floats(-0.3, 1.3), st.floats(-0.3, 1.3), st.floats(-1, 12)),
    # The reference divides by the norm, which underflows for vectors much
    # shorter than 1e-150, so the longest component is at least 1e-12.
    direction=st.tuples(components, components, components).filter(
        lambda d: max(abs(v) for v in d) >= 1e-12
    ),
)
def test_random_rays_on_columns_match_reference(seed, origin, direction):
    rng = np.random.default_rng(seed)
    scene = make_column_scene(rng, 5, 6, fraction=0.5)
    x_min, y_min, x_max, y_max = scene.bounds
    origin_w = np.array(
        [
            x_min + origin[0] * (x_max - x_min),
            y_min + origin[1] * (y_max - y_min),
            origin[2],
        ]
    )
    origins = origin_w[None]
    directions = np.array([direction])
    assert_matches_column_reference(scene, origins, directions, np.array([np.inf]))
    plain = RaycastScene(
        scene.heights,
        scene.classes,
        scene.valid,
        scene.x_first,
        scene.y_first,
        scene.cell_size,
        structure_heights=scene.structure_heights,
        use_pyramid=False,
    )
    np.testing.assert_array_equal(
        scene.cast(origins, directions, np.inf).range,
        plain.cast(origins, directions, np.inf).range,
    )
