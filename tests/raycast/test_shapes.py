"""Tests of moving boxes, cylinders and spheres against analytic hits."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from twin_gym.errors import InputError
from twin_gym.raycast.scene import RaycastScene
from twin_gym.raycast.shapes import MovingShapes
from twin_gym.terrain.classes import SurfaceClass

IDENTITY = [1.0, 0.0, 0.0, 0.0]


def flat_scene(shapes, ground=0.0):
    """Flat ground at ``ground`` over x, y in [-50, 50] with 5 m cells."""
    return RaycastScene(
        np.full((21, 21), ground),
        np.zeros((21, 21), np.uint8),
        np.ones((21, 21), bool),
        -50.0,
        50.0,
        5.0,
        shapes=shapes,
    )


def test_box_sphere_cylinder_analytic_hits():
    shapes = MovingShapes(
        ["box", "sphere", "cylinder"],
        [[1.0, 2.0, 0.5], [1.5, 0.0, 0.0], [0.5, 2.0, 0.0]],
    )
    shapes.set_poses(
        [[10.0, 0.0, 1.0], [0.0, 10.0, 3.0], [-10.0, 0.0, 2.0]], [IDENTITY] * 3
    )
    scene = flat_scene(shapes)
    origins = np.array(
        [[0.0, 0.0, 1.2], [0.0, 0.0, 3.0], [0.0, 0.0, 2.5], [-10.0, 0.0, 10.0]]
    )
    directions = np.array(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]
    )
    hits = scene.cast(origins, directions, 100.0)
    np.testing.assert_allclose(hits.range, [9.0, 8.5, 9.5, 6.0], atol=1e-12)
    np.testing.assert_allclose(
        hits.normal_w,
        [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        atol=1e-12,
    )
    assert (hits.surface_class == SurfaceClass.OBSTACLE).all()


def test_shapes_follow_new_poses():
    shapes = MovingShapes(["sphere"], [[1.0, 0.0, 0.0]])
    scene = flat_scene(shapes)
    origin, direction = [[0.0, 0.0, 2.0]], [[1.0, 0.0, 0.0]]
    for x in (5.0, 12.5, 30.0):
        shapes.set_poses([[x, 0.0, 2.0]], [IDENTITY])
        assert scene.cast(origin, direction, 100.0).range[0] == x - 1.0
    # Off the map the shape is still hit.
    shapes.set_poses([[80.0, 0.0, 2.0]], [IDENTITY])
    assert scene.cast(origin, direction, 100.0).range[0] == 79.0
    assert not scene.cast(origin, direction, 50.0).hit[0]


def test_rotated_box_hits_its_face():
    shapes = MovingShapes(["box"], [[2.0, 1.0, 1.0]], surface_class=4)
    yaw = Rotation.from_euler("z", 90.0, degrees=True).as_quat(scalar_first=True)
    shapes.set_poses([[0.0, 20.0, 5.0]], [yaw])
    scene = flat_scene(shapes)
    # After a 90 degree yaw the 2 m half extent lies along world y.
    hits = scene.cast([[0.0, 0.0, 5.0]], [[0.0, 1.0, 0.0]], 100.0)
    assert hits.range[0] == pytest.approx(18.0, abs=1e-12)
    np.testing.assert_allclose(hits.normal_w[0], [0.0, -1.0, 0.0], atol=1e-12)
    assert hits.surface_class[0] == SurfaceClass.VEGETATION


def test_terrain_hides_shape_behind_it():
    shapes = MovingShapes(["sphere"], [[1.0, 0.0, 0.0]])
    shapes.set_poses([[0.0, 0.0, -5.0]], [IDENTITY])
    scene = flat_scene(shapes)
    down = scene.cast([[0.0, 0.0, 10.0]], [[0.0, 0.0, -1.0]], 100.0)
    assert down.range[0] == 10.0
    assert down.surface_class[0] == SurfaceClass.GROUND


def test_origin_inside_shape_hits_zero():
    shapes = MovingShapes(["sphere"], [[1.0, 0.0, 0.0]])
    scene = flat_scene(shapes)
    shapes.set_poses([[0.0, 0.0, 10.0]], [IDENTITY])
    inside = scene.cast([[0.2, 0.0, 10.0]], [[1.0, 0.0, 0.0]], 100.0)
    assert inside.range[0] == 0.0
    np.testing.assert_array_equal(inside.normal_w[0], [-1.0, 0.0, 0.0])


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(["box", "cylinder", "sphere"]),
    quat=st.tuples(*[st.floats(-1.0, 1.0)] * 4).filter(
        lambda q: np.linalg.norm(q) > 0.1
    ),
    size=st.floats(0.2, 3.0),
    azimuth=st.floats(0.0, 2.0 * math.pi),
    elevation=st.floats(-1.2, 1.2),
    distance=st.floats(4.0, 40.0),
)
def test_shape_hit_lies_on_surface(kind, quat, size, azimuth, elevation, distance):
    quat = np.array(quat) / np.linalg.norm(quat)
    shapes = MovingShapes([kind], [[size, 0.7 * size, 0.5 * size]])
    centre = np.array([3.0, -2.0, 20.0])
    shapes.set_poses([centre], [quat])
    scene = flat_scene(shapes, ground=-100.0)
    direction = np.array(
        [
            math.cos(elevation) * math.cos(azimuth),
            math.cos(elevation) * math.sin(azimuth),
            math.sin(elevation),
        ]
    )
    # Aim from outside straight at the centre, so every ray hits.
    origin = centre - (distance + 4.0 * size) * direction
    hits = scene.cast(origin[None], direction[None], 1e3)
    assert hits.hit[0]
    rotation = Rotation.from_quat(quat, scalar_first=True)
    local = rotation.inv().apply(hits.point_w[0] - centre)
    normal = rotation.inv().apply(hits.normal_w[0])
    if kind == "box":
        half = np.array([size, 0.7 * size, 0.5 * size])
        assert np.max(np.abs(local) / half) == pytest.approx(1.0, abs=1e-9)
        axis = np.argmax(np.abs(local) / half)
        assert abs(normal[axis]) == pytest.approx(1.0)
        assert np.sign(normal[axis]) == np.sign(local[axis])
    elif kind == "sphere":
        assert np.linalg.norm(local) == pytest.approx(size, abs=1e-9)
        np.testing.assert_allclose(normal, local / size, atol=1e-9)
    else:
        radial = math.hypot(local[0], local[1])
        on_side = radial == pytest.approx(size, abs=1e-9)
        on_cap = abs(local[2]) == pytest.approx(0.7 * size, abs=1e-9)
        assert on_side or on_cap
        assert radial <= size + 1e-9
        assert abs(local[2]) <= 0.7 * size + 1e-9
    # The normal faces the incoming ray.
    assert np.dot(hits.normal_w[0], direction) < 0.0


def test_moving_shapes_reject_invalid_input():
    with pytest.raises(InputError, match="kinds contains 'cone'"):
        MovingShapes(["cone"], [[1.0, 1.0, 1.0]])
    with pytest.raises(InputError, match=r"sizes must have shape \(2, 3\)"):
        MovingShapes(["box", "box"], [[1.0, 1.0, 1.0]])
    with pytest.raises(InputError, match="sizes of shape 0 \\(box\\)"):
        MovingShapes(["box"], [[1.0, 0.0, 1.0]])
    shapes = MovingShapes(["sphere"], [[1.0, 0.0, 0.0]])
    with pytest.raises(InputError, match="one row per shape"):
        shapes.set_poses(np.zeros((2, 3)), [IDENTITY] * 2)
    with pytest.raises(InputError, match="quat_ws must contain unit quaternions"):
        shapes.set_poses(np.zeros((1, 3)), [[2.0, 0.0, 0.0, 0.0]])
    with pytest.raises(InputError, match="but shape 0 has norm 2"):
        shapes.set_poses(np.zeros((1, 3)), [[2.0, 0.0, 0.0, 0.0]])
    with pytest.raises(InputError, match="SurfaceClass"):
        MovingShapes(["sphere"], [[1.0, 0.0, 0.0]], surface_class=9)
    with pytest.raises(InputError, match=r"sizes must have shape \(2, 3\)"):
        MovingShapes(["box", "box"], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with pytest.raises(InputError, match=r"surface_class must be one value"):
        MovingShapes(["box", "box"], np.ones((2, 3)), surface_class=[5, 5, 5])
