"""Tests of fan casting: one walk per LiDAR azimuth step, the hits of ray by ray."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin_gym.errors import InputError
from twin_gym.raycast._fan import fan_geometry
from twin_gym.raycast.scene import MovingShapes, RaycastScene

from raycast_reference import assert_same_hits, hilly_scene  # isort: skip

VLP16_ELEVATIONS_DEG = [-15, 1, -13, 3, -11, 5, -9, 7, -7, 9, -5, 11, -3, 13, -1, 15]
"""The firing order of a 16-channel unit, which is not sorted by elevation."""


def fan_directions(elevations_deg, steps, yaw=0.0, rotation=None):
    """Return beam directions as fans, shape (steps, channels, 3)."""
    elevation = np.radians(np.asarray(elevations_deg, np.float64))[None, :]
    azimuth = (yaw + np.linspace(0.0, 2.0 * math.pi, steps, endpoint=False))[:, None]
    directions = np.stack(
        np.broadcast_arrays(
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ),
        axis=-1,
    )
    if rotation is not None:
        directions = directions @ rotation.T
    return directions


def lidar_fans(positions, elevations_deg, steps, rotation=None):
    """Return fan origins (poses * steps, 3) and directions (..., channels, 3)."""
    directions = fan_directions(elevations_deg, steps, rotation=rotation)
    origins = np.repeat(np.asarray(positions, np.float64), steps, axis=0)
    return origins, np.tile(directions, (len(positions), 1, 1))


def tilt_about_y(degrees):
    """Return the rotation matrix of a pitch by ``degrees`` about the y axis."""
    angle = np.radians(degrees)
    return np.array(
        [
            [math.cos(angle), 0, math.sin(angle)],
            [0, 1, 0],
            [-math.sin(angle), 0, math.cos(angle)],
        ]
    )


def cast_both(scene, origins, directions, max_range):
    """Cast fans and the same rays one by one; return both hits and the rays."""
    per_fan = directions.shape[1]
    fans = scene.cast_fans(origins, directions, max_range)
    ray_origins = np.repeat(origins, per_fan, axis=0)
    ray_directions = directions.reshape(-1, 3)
    ray_ranges = np.asarray(max_range, np.float64)
    if ray_ranges.ndim > 0:
        ray_ranges = ray_ranges.reshape(-1)
    rays = scene.cast(ray_origins, ray_directions, ray_ranges)
    return fans, rays, ray_origins, ray_directions


@pytest.mark.parametrize("use_pyramid", [True, False], ids=["pyramid", "plain"])
@pytest.mark.parametrize("seed", range(3))
def test_level_lidar_fans_match_rays(seed, use_pyramid):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(66, 200, 2)
    scene = hilly_scene(rng, rows, cols, use_pyramid=use_pyramid, buildings=0.05)
    x_min, y_min, x_max, y_max = scene.bounds
    picks = rng.uniform([x_min, y_min], [x_max, y_max], (6, 2))
    ground = scene.height_at(picks[:, 0], picks[:, 1])
    # Drone, rover and buried poses, and one outside the hull.
    lift = np.array([40.0, 1.5, 0.3, 12.0, -2.0, 5.0])
    positions = np.column_stack([picks, ground + lift])
    positions[-1, :2] = [x_min - 7.3, y_min - 3.1]
    positions[-1, 2] = float(scene.heights.mean())
    elevations = np.linspace(-30.0, 15.0, 32)
    origins, directions = lidar_fans(positions, elevations, 180)
    fans, rays, ray_origins, ray_directions = cast_both(
        scene, origins, directions, 200.0
    )
    assert_same_hits(
        scene, fans, rays, ray_origins, ray_directions, ("as a fan", "ray by ray")
    )
    assert rays.hit.mean() > 0.3
    # The buried pose reads range 0 on every beam, as ray by ray.
    buried = fans.range.reshape(6, -1)[4]
    np.testing.assert_array_equal(buried, 0.0)


def test_fan_geometry_accepts_level_fans_only():
    elevations = np.linspace(-22.5, 22.5, 16)
    order = np.arange(16, dtype=np.int64)
    constants = np.empty((4, 16))
    max_ranges = np.full(16, 100.0)
    level = fan_directions(elevations, 8, yaw=0.3)
    for step in range(8):
        is_fan, hx, hy, reach = fan_geometry(
            level[step], max_ranges, 0, order, constants
        )
        assert is_fan
        heading = level[step, 8, :2] / np.hypot(*level[step, 8, :2])
        np.testing.assert_allclose([hx, hy], heading, atol=1e-15)
        np.testing.assert_allclose(
            constants[0], np.tan(np.radians(elevations)), rtol=1e-14, atol=1e-15
        )
        assert reach == pytest.approx(100.0 * np.cos(np.radians(elevations)).max())

    # A rolled sensor spreads one step's beams over several headings.
    roll = np.radians(10.0)
    rotation = np.array(
        [
            [1, 0, 0],
            [0, math.cos(roll), -math.sin(roll)],
            [0, math.sin(roll), math.cos(roll)],
        ]
    )
    tilted = fan_directions(elevations, 8, yaw=0.3, rotation=rotation)
    assert not all(
        fan_geometry(tilted[step], max_ranges, 0, order, constants)[0]
        for step in range(8)
    )

    # Out of elevation order, or with a vertical beam, a fan is cast ray by ray.
    assert not fan_geometry(level[0], max_ranges, 0, order[::-1].copy(), constants)[0]
    vertical = level[0].copy()
    vertical[-1] = [0.0, 0.0, 1.0]
    assert not fan_geometry(vertical, max_ranges, 0, order, constants)[0]


@pytest.mark.parametrize("case", ["tilted", "unsorted", "vertical", "shapes"])
def test_other_fans_match_ray_by_ray(case):
    rng = np.random.default_rng(21)
    scene = hilly_scene(rng, 120, 140)
    ground = float(scene.height_at(3.0, -4.0))
    positions = [[3.0, -4.0, ground + 20.0], [-30.5, 10.25, ground + 2.0]]
    elevations = np.linspace(-25.0, 10.0, 24)
    rotation = None

    if case == "tilted":
        rotation = tilt_about_y(7.0)
    if case == "unsorted":
        elevations = VLP16_ELEVATIONS_DEG
    origins, directions = lidar_fans(positions, elevations, 90, rotation=rotation)
    if case == "vertical":
        directions[:, -1] = [0.0, 0.0, -1.0]
    if case == "shapes":
        shapes = MovingShapes(["box", "sphere", "cylinder"], np.ones((3, 3)) * 2.0)
        shapes.set_poses(
            [[10.0, -4.0, ground + 18.0], [-25.0, 10.0, ground + 1.0], [0.0, 0.0, 0.0]],
            np.tile([1.0, 0.0, 0.0, 0.0], (3, 1)),
        )
        scene = RaycastScene(
            scene.heights,
            scene.classes,
            scene.valid,
            scene.x_first,
            scene.y_first,
            scene.cell_size,
            structure_heights=scene.structure_heights,
            shapes=shapes,
        )

    fans, rays, ray_origins, ray_directions = cast_both(
        scene, origins, directions, 150.0
    )
    assert_same_hits(
        scene, fans, rays, ray_origins, ray_directions, ("as a fan", "ray by ray")
    )
    if case == "shapes":
        assert (fans.surface_class == shapes.surface_class[0]).sum() > 10


@pytest.mark.parametrize("tilt_deg", [0.0, 5.0])
def test_per_ray_max_ranges(tilt_deg):
    # A tilted unit's fans go ray by ray, each with its own range.
    rng = np.random.default_rng(5)
    scene = hilly_scene(rng, 150, 150)
    ground = float(scene.height_at(0.0, 0.0))
    origins, directions = lidar_fans(
        [[0.0, 0.0, ground + 10.0]],
        np.linspace(-20.0, 20.0, 20),
        64,
        rotation=tilt_about_y(tilt_deg),
    )
    max_ranges = rng.choice([0.0, 5.0, 30.0, 80.0, math.inf], directions.shape[:2])
    fans, rays, ray_origins, ray_directions = cast_both(
        scene, origins, directions, max_ranges
    )
    assert_same_hits(
        scene, fans, rays, ray_origins, ray_directions, ("as a fan", "ray by ray")
    )
    limits = max_ranges.reshape(-1)
    # The origin is 10 m above the ground, so a zero range hits nothing.
    assert not fans.hit[limits == 0.0].any()
    assert np.all(fans.range[fans.hit] <= limits[fans.hit])
    assert fans.hit[np.isinf(limits)].mean() > 0.3

    # One range for all rays casts exactly as an array of that range.
    shared = scene.cast_fans(origins, directions, 45.0)
    per_ray = scene.cast_fans(origins, directions, np.full(directions.shape[:2], 45.0))
    assert 0.1 < shared.hit.mean() < 0.9
    for field in ("hit", "range", "point_w", "normal_w", "surface_class"):
        np.testing.assert_array_equal(
            getattr(shared, field), getattr(per_ray, field), err_msg=field
        )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    channels=st.integers(1, 12),
    lift=st.floats(-3.0, 60.0),
    yaw=st.floats(0.0, 2.0 * math.pi),
    data=st.data(),
)
def test_random_fans_match_ray_by_ray(seed, channels, lift, yaw, data):
    rng = np.random.default_rng(seed)
    scene = hilly_scene(rng, 70, 90, buildings=0.1)
    x, y = data.draw(st.floats(-50.0, 50.0)), data.draw(st.floats(-40.0, 40.0))
    ground = float(scene.height_at(np.clip(x, -44.0, 44.0), np.clip(y, -34.0, 34.0)))
    elevations = data.draw(
        st.lists(st.floats(-89.0, 89.0), min_size=channels, max_size=channels)
    )
    directions = fan_directions(elevations, 1, yaw=yaw)
    # Any nonzero length.
    directions = directions * rng.uniform(0.01, 100.0, (1, channels, 1))
    origins = np.array([[x, y, ground + lift]])
    max_range = data.draw(st.sampled_from([10.0, 60.0, math.inf]))
    fans, rays, ray_origins, ray_directions = cast_both(
        scene, origins, directions, max_range
    )
    assert_same_hits(
        scene, fans, rays, ray_origins, ray_directions, ("as a fan", "ray by ray")
    )


@pytest.mark.parametrize(
    ("origins", "directions", "max_range", "message"),
    [
        (np.zeros((2, 3)), np.ones((3, 4, 3)), 1.0, r"shape \(2, k, 3\)"),
        (np.zeros((2, 2)), np.ones((2, 4, 3)), 1.0, r"shape \(fans, 3\)"),
        (np.zeros((2, 3)), np.ones((2, 0, 3)), 1.0, "at least one ray"),
        ([[0, 0, 0], [0, 0, np.nan]], np.ones((2, 4, 3)), 1.0, "fan 1 has"),
        (np.zeros((2, 3)), np.ones((2, 4, 3)), np.ones(8), r"shape \(2, 4\)"),
        (np.zeros((2, 3)), np.ones((2, 4, 3)), -1.0, "fan 0 ray 0 has -1.0"),
    ],
)
def test_bad_fans_name_the_value(origins, directions, max_range, message):
    scene = hilly_scene(np.random.default_rng(0), 10, 10)
    with pytest.raises(InputError, match=message):
        scene.cast_fans(origins, directions, max_range)


def test_zero_direction_names_fan_ray():
    scene = hilly_scene(np.random.default_rng(0), 10, 10)
    directions = np.ones((3, 4, 3))
    directions[2, 1] = 0.0
    with pytest.raises(InputError, match="zero-length.*fan 2 ray 1"):
        scene.cast_fans(np.zeros((3, 3)), directions, 5.0)


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_extreme_direction_lengths_cast_alike(scale):
    # Squared lengths near the float64 limits take the fan check's scaled
    # path, and the hits must not change.
    rng = np.random.default_rng(8)
    scene = hilly_scene(rng, 100, 100)
    ground = float(scene.height_at(0.0, 0.0))
    origins, directions = lidar_fans(
        [[0.0, 0.0, ground + 4.0]], np.linspace(-20.0, 20.0, 12), 32
    )
    plain = scene.cast_fans(origins, directions, 80.0)
    scaled = scene.cast_fans(origins, directions * scale, 80.0)
    assert plain.hit.mean() > 0.3
    np.testing.assert_array_equal(scaled.hit, plain.hit)
    np.testing.assert_allclose(scaled.range, plain.range, rtol=0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("fan", "ray", "value", "message"),
    [
        (5, 3, [math.nan, 0.0, 0.0], "directions_w must be finite, but fan 5 ray 3"),
        (6, 6, [0.0, 0.0, math.inf], "directions_w must be finite, but fan 6 ray 6"),
        (7, 0, [0.0, 0.0, 0.0], "1 zero-length directions, the first at fan 7 ray 0"),
        (9, None, [0.0, math.inf, 1.0], "origins_w must be finite, but fan 9 has"),
    ],
)
def test_bad_value_in_level_fans_named(fan, ray, value, message):
    # The fan kernel checks the values: it walks no fan that has a bad one,
    # and the error names the first such ray as an up-front check would.
    scene = hilly_scene(np.random.default_rng(0), 60, 60)
    ground = float(scene.height_at(0.0, 0.0))
    origins, directions = lidar_fans(
        [[0.0, 0.0, ground + 2.0]], np.linspace(-15.0, 15.0, 12), 16
    )
    if ray is None:
        origins[fan] = value
    else:
        directions[fan, ray] = value
    with pytest.raises(InputError, match=message):
        scene.cast_fans(origins, directions, 50.0)


def test_bad_value_named_before_bad_range():
    scene = hilly_scene(np.random.default_rng(0), 10, 10)
    directions = np.ones((2, 3, 3))
    directions[1, 2] = math.nan
    max_ranges = np.ones((2, 3))
    max_ranges[1, 2] = -1.0
    with pytest.raises(InputError, match="directions_w must be finite.*fan 1 ray 2"):
        scene.cast_fans(np.ones((2, 3)), directions, max_ranges)


def test_near_vertical_heading_ray():
    # The steep ray sets the fan's heading. Its horizontal part squares to
    # a subnormal number, which must not stretch the level ray's track.
    scene = hilly_scene(np.random.default_rng(3), 60, 60)
    ground = float(scene.height_at(0.0, 0.0))
    origin = [[0.0, 0.0, ground + 30.0]]
    directions = np.array([[1.0, 0.0, -0.4], [1e-160, 0.0, 1.0]])
    fans = scene.cast_fans(origin, directions[None], math.inf)
    rays = scene.cast(np.repeat(origin, 2, axis=0), directions, math.inf)
    assert fans.hit[0]
    np.testing.assert_allclose(fans.range, rays.range, rtol=0.0, atol=1e-9)


def test_subnormal_heading_casts_quietly():
    # The slope sort divides by a subnormal horizontal length, which
    # overflows to infinity without a warning.
    scene = hilly_scene(np.random.default_rng(0), 10, 10)
    origin = [[5.0, -5.0, 40.0]]
    direction = [[1e-310, 0.0, -1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fans = scene.cast_fans(origin, [direction], 100.0)
    rays = scene.cast(origin, direction, 100.0)
    np.testing.assert_array_equal(fans.range, rays.range)
