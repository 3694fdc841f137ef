"""Moving shapes (boxes, cylinders, spheres) that rays see besides the terrain.

Vehicles, people, birds or debris that the GIS data does not contain are
added to a :class:`~twin_gym.raycast.scene.RaycastScene` as
:class:`MovingShapes`, whose poses the caller updates every step.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from twin_gym._frames import rotation_matrices, validate_poses
from twin_gym.errors import InputError
from twin_gym.raycast._shapes import SHAPE_BOX, SHAPE_CYLINDER, SHAPE_SPHERE
from twin_gym.terrain.classes import SurfaceClass

__all__ = ["MovingShapes", "ShapeKind"]

ShapeKind = Literal["box", "cylinder", "sphere"]
"""Kinds of moving shape."""

_KIND_CODES = {"box": SHAPE_BOX, "cylinder": SHAPE_CYLINDER, "sphere": SHAPE_SPHERE}


class MovingShapes:
    """A set of solid boxes, cylinders and spheres with poses set every step.

    Args:
        kinds: Kind of each shape, a sequence of ``"box"``, ``"cylinder"``
            or ``"sphere"``, length m.
        sizes: Sizes in metres, shape (m, 3), > 0 where used: a box's half
            extents along its own x, y, z; a cylinder's radius and half
            height (axis along its own z), third value ignored; a sphere's
            radius, other values ignored.
        surface_class: :class:`SurfaceClass` reported on a hit, one value or
            shape (m,). Defaults to ``SurfaceClass.OBSTACLE``.

    Raises:
        InputError: If a kind is unknown, a size is not finite and > 0 or a
            class is not a :class:`SurfaceClass`.
    """

    def __init__(self, kinds, sizes, surface_class=SurfaceClass.OBSTACLE):
        kinds = list(kinds)
        unknown = [kind for kind in kinds if kind not in _KIND_CODES]
        if unknown:
            raise InputError(
                f"kinds contains {unknown[0]!r}; use one of {sorted(_KIND_CODES)}."
            )
        count = len(kinds)
        self.kinds = np.array([_KIND_CODES[kind] for kind in kinds], dtype=np.int64)
        sizes = np.ascontiguousarray(sizes, dtype=np.float64)
        if sizes.shape == (3 * count,) and count <= 1:
            # One shape's sizes may come as a flat triple, and none as [].
            sizes = sizes.reshape(count, 3)
        if sizes.shape != (count, 3):
            raise InputError(
                f"sizes must have shape ({count}, 3) for {count} shapes, got "
                f"{sizes.shape}."
            )
        used = np.ones((count, 3), dtype=bool)
        used[self.kinds == SHAPE_CYLINDER, 2] = False
        used[self.kinds == SHAPE_SPHERE, 1:] = False
        bad = used & ~(np.isfinite(sizes) & (sizes > 0.0))
        if bad.any():
            index = int(np.argwhere(bad)[0, 0])
            raise InputError(
                f"sizes of shape {index} ({kinds[index]}) must be finite and > 0 "
                f"metres where used, got {sizes[index].tolist()}."
            )
        self.sizes = sizes
        classes = np.asarray(surface_class)
        if classes.shape not in ((), (count,)):
            raise InputError(
                f"surface_class must be one value or have shape ({count},) for "
                f"{count} shapes, got {classes.shape}."
            )
        classes = np.broadcast_to(classes, (count,))
        members = {int(member) for member in SurfaceClass}
        if not all(int(value) in members for value in classes):
            raise InputError(
                f"surface_class must contain SurfaceClass values, got {classes}."
            )
        self.surface_class = np.ascontiguousarray(classes, dtype=np.uint8)
        self.pos_w = np.zeros((count, 3))
        self.rot_ws = np.tile(np.eye(3), (count, 1, 1))

    def __len__(self):
        return int(self.kinds.shape[0])

    def set_poses(self, pos_w, quat_ws):
        """Move every shape to a new pose.

        Args:
            pos_w: Shape centres in the local world frame in metres, shape
                (m, 3).
            quat_ws: Shape-to-world unit quaternions, scalar-first
                ``(w, x, y, z)``, shape (m, 4).

        Raises:
            InputError: If a shape is wrong, a value is not finite or a
                quaternion is not unit length.
        """
        pos, quat = validate_poses(pos_w, quat_ws, quat_name="quat_ws", item="shape")
        if pos.shape[0] != len(self):
            raise InputError(
                f"pos_w must have one row per shape ({len(self)}), got {pos.shape[0]}."
            )
        self.pos_w = pos
        self.rot_ws = np.ascontiguousarray(rotation_matrices(quat))
