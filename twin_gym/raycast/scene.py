"""Public ray casting API: a validated scene and batched ray casts.

The surface is the triangulation of the cell-centre heights plus flat-topped
structure columns, described in ``docs/surface.md``, and any
:class:`~twin_gym.raycast.shapes.MovingShapes`. Coordinates are local metres:
x east, y north, z up. :class:`RaycastScene` validates its inputs in plain
Python and then calls the numba kernels in ``_cast.py``. Numba code that needs
one bare-terrain ray at a time can call :func:`cast_ray` directly.
"""

import math
from dataclasses import dataclass

import numpy as np

from twin_gym.errors import InputError
from twin_gym.raycast._cast import (
    cast_fans,
    cast_rays,
    cast_rays_serial,
    count_invalid_rays,
    surface_heights,
)
from twin_gym.raycast._kernels import MISS_CLASS, cast_ray
from twin_gym.raycast._pyramid import build_pyramid
from twin_gym.raycast.shapes import MovingShapes
from twin_gym.terrain.classes import SurfaceClass

__all__ = ["MISS_CLASS", "MovingShapes", "RayHits", "RaycastScene", "cast_ray"]

PARALLEL_MIN_RAYS = 16
"""Batches at least this large run on numba's thread pool, smaller ones
serially, since waking the pool costs more than a few rays take."""

_CLASS_VALUES = np.array([int(member) for member in SurfaceClass], dtype=np.uint8)


@dataclass(frozen=True)
class RayHits:
    """Results of a batch of ray casts, one row per ray.

    Attributes:
        hit: Whether each ray hit the terrain, a column or a moving shape
            within its maximum range, shape (n,), bool.
        range: Distance from the origin to the hit in metres, shape (n,),
            float64, ``inf`` on a miss. It is 0 when the origin is on or below
            the terrain surface or inside a column or a moving shape.
        point_w: Hit point in the local world frame (x east, y north, z up) in
            metres, shape (n, 3), float64, NaN on a miss.
        normal_w: Unit outward normal of the face hit, local world frame,
            shape (n, 3), float64, NaN on a miss. A terrain hit reports the
            upward normal of its triangle, also for a range-0 hit or a hit on
            the hull's side. A column hit reports +z on the top, a horizontal
            normal on a wall and +z when the origin is inside the column. A
            shape hit reports the shape's outward normal, and the reversed ray
            direction when the origin is inside the shape.
        surface_class: :class:`SurfaceClass` value of what the ray hit, shape
            (n,), uint8. A terrain hit reports the cell whose footprint
            contains the hit's x, y, a column hit its own cell, both
            ``SurfaceClass.NO_DATA`` for an invalid cell, and a shape hit the
            shape's class. It is ``MISS_CLASS`` (255) on a miss.
    """

    hit: np.ndarray
    range: np.ndarray
    point_w: np.ndarray
    normal_w: np.ndarray
    surface_class: np.ndarray


def _as_finite_float(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a real number, got {value!r}.") from exc
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {number}.")
    return number


def _validate_heights(heights):
    array = np.asarray(heights)
    if array.ndim != 2:
        raise InputError(
            f"heights must be a 2-D (rows, cols) array, got shape {array.shape}."
        )
    rows, cols = array.shape
    if rows < 2 or cols < 2:
        raise InputError(
            f"heights must have at least 2 rows and 2 columns to form a surface, "
            f"got shape {array.shape}."
        )
    if not (
        np.issubdtype(array.dtype, np.floating)
        or np.issubdtype(array.dtype, np.integer)
    ):
        raise InputError(f"heights must have a real numeric dtype, got {array.dtype}.")
    # float32 is the twin's storage type. float64 is kept as is so that tests
    # of analytic surfaces are not limited by float32 rounding.
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    array = np.ascontiguousarray(array, dtype=dtype)
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"heights contains {int(bad.sum())} non-finite values, the first at "
            f"(row {row}, col {col}). Fill invalid cells with a finite placeholder "
            f"height and mark them in valid=False."
        )
    return array


def _validate_classes(classes, shape):
    array = np.asarray(classes)
    if array.shape != shape:
        raise InputError(
            f"classes must have the shape of heights {shape}, got {array.shape}."
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"classes must have an integer dtype (SurfaceClass values), got "
            f"{array.dtype}."
        )
    unknown = ~np.isin(array, _CLASS_VALUES)
    if unknown.any():
        row, col = np.argwhere(unknown)[0]
        raise InputError(
            f"classes contains {int(unknown.sum())} values that are not "
            f"SurfaceClass members, the first is {array[row, col]} at (row {row}, "
            f"col {col}). Use values {_CLASS_VALUES.tolist()}."
        )
    return np.ascontiguousarray(array, dtype=np.uint8)


def _validate_valid(valid, shape):
    array = np.asarray(valid)
    if array.shape != shape:
        raise InputError(
            f"valid must have the shape of heights {shape}, got {array.shape}."
        )
    if array.dtype != np.bool_:
        if (
            not np.issubdtype(array.dtype, np.integer)
            or not np.isin(array, (0, 1)).all()
        ):
            raise InputError(
                f"valid must be a bool array (or integers 0 and 1), got dtype "
                f"{array.dtype}."
            )
    return np.ascontiguousarray(array, dtype=np.bool_)


def _float_array(value, name):
    """Return ``value`` as a float64 array, or raise if it is not real numbers."""
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise InputError(f"{name} must contain real numbers, got complex values.")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must contain numbers, got dtype {array.dtype}."
        ) from None


def _check_ray_values(origins, directions, ray_name, origin_name):
    """Raise if a ray has a non-finite origin or direction, or a zero direction.

    ``ray_name(i)`` names ray ``i`` of ``directions`` in the message and
    ``origin_name(m)`` the rays of origin ``m``.
    """
    # One compiled pass finds the first bad ray. The NumPy checks below run
    # only then, to name the value and count the zero directions.
    if count_invalid_rays(origins, directions) == 0:
        return
    for name, array, describe in (
        ("origins_w", origins, origin_name),
        ("directions_w", directions, ray_name),
    ):
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be finite, but {describe(index)} has "
                f"{array[index].tolist()}."
            )
    zero = ~(np.abs(directions) > 0.0).any(axis=1)
    index = int(np.flatnonzero(zero)[0])
    raise InputError(
        f"directions_w has {int(zero.sum())} zero-length directions, the first "
        f"at {ray_name(index)}. Give every ray a nonzero direction."
    )


def _validate_max_ranges(max_range, shape, ray_name):
    """Return the maximum ranges as a flat float64 array.

    A scalar becomes an array of one value that the kernels share among all
    rays. Otherwise there is one value per ray.
    """
    max_ranges = _float_array(max_range, "max_range")
    if max_ranges.ndim == 0:
        max_ranges = max_ranges.reshape(1)
    elif max_ranges.shape == shape:
        max_ranges = np.ascontiguousarray(max_ranges).reshape(-1)
    else:
        raise InputError(
            f"max_range must be a scalar or have shape {shape}, got {max_ranges.shape}."
        )
    invalid = np.isnan(max_ranges) | (max_ranges < 0.0)
    if invalid.any():
        index = int(np.flatnonzero(invalid)[0])
        raise InputError(
            f"max_range must be >= 0 metres (inf is allowed), but "
            f"{ray_name(index)} has {max_ranges[index]}."
        )
    return max_ranges


def _validate_rays(origins_w, directions_w, max_range):
    origins = _float_array(origins_w, "origins_w")
    directions = _float_array(directions_w, "directions_w")
    if origins.ndim != 2 or origins.shape[1] != 3:
        raise InputError(f"origins_w must have shape (n, 3), got {origins.shape}.")
    if directions.shape != origins.shape:
        raise InputError(
            f"directions_w must have the shape of origins_w {origins.shape}, got "
            f"{directions.shape}."
        )
    origins = np.ascontiguousarray(origins)
    directions = np.ascontiguousarray(directions)

    def ray_name(index):
        return f"ray {index}"

    _check_ray_values(origins, directions, ray_name, ray_name)
    max_ranges = _validate_max_ranges(max_range, (origins.shape[0],), ray_name)
    return origins, directions, max_ranges


def _validate_fans(origins_w, directions_w, max_range):
    """Check the fans' shapes and ranges, leaving their values to the cast.

    Returns:
        ``(origins, directions, max_ranges, per_fan, check_fans)``, where
        ``check_fans(mask)`` raises if a ray of the fans in ``mask`` has a
        non-finite origin or direction, or a zero direction.
    """
    origins = _float_array(origins_w, "origins_w")
    directions = _float_array(directions_w, "directions_w")
    if origins.ndim != 2 or origins.shape[1] != 3:
        raise InputError(f"origins_w must have shape (fans, 3), got {origins.shape}.")
    fans = origins.shape[0]
    if directions.ndim != 3 or directions.shape[0] != fans or directions.shape[2] != 3:
        raise InputError(
            f"directions_w must have shape ({fans}, k, 3) for {fans} fans, got "
            f"{directions.shape}."
        )
    origins = np.ascontiguousarray(origins)
    directions = np.ascontiguousarray(directions)
    per_fan = directions.shape[1]
    if per_fan == 0:
        raise InputError("directions_w must hold at least one ray per fan, got 0.")
    flat = directions.reshape(-1, 3)

    def ray_name(index):
        return f"fan {index // per_fan} ray {index % per_fan}"

    def check_fans(mask):
        fans = np.flatnonzero(mask)
        _check_ray_values(
            origins[fans],
            directions[fans].reshape(-1, 3),
            lambda index: ray_name(fans[index // per_fan] * per_fan + index % per_fan),
            lambda index: f"fan {fans[index]}",
        )

    try:
        max_ranges = _validate_max_ranges(max_range, directions.shape[:2], ray_name)
    except InputError:
        # A bad ray value takes precedence, as in ``cast``.
        check_fans(np.ones(fans, dtype=bool))
        raise
    return origins, flat, max_ranges, per_fan, check_fans


def _validate_structure_heights(structure_heights, shape):
    if structure_heights is None:
        return np.zeros(shape, dtype=np.float32)
    array = np.asarray(structure_heights)
    if array.shape != shape:
        raise InputError(
            f"structure_heights must have the shape of heights {shape}, got "
            f"{array.shape}."
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    bad = ~(np.isfinite(array) & (array >= 0.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"structure_heights must be finite and >= 0 metres (0 for no "
            f"structure), got {array[row, col]} at (row {row}, col {col})."
        )
    return array


class RaycastScene:
    """Terrain surface, structure columns and moving shapes that rays hit.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), rows >= 2
            and cols >= 2, finite. Stored as float32, except that float64
            input stays float64. Invalid cells must contain a finite placeholder
            height, which keeps the surface continuous.
        classes: :class:`SurfaceClass` value of each cell, shape (rows, cols),
            any integer dtype, stored as uint8.
        valid: Whether each cell's height came from source data, shape
            (rows, cols), bool. Hits on invalid cells report
            ``SurfaceClass.NO_DATA``.
        x_first: Local x (east) of the centre of column 0, in metres.
        y_first: Local y (north) of the centre of row 0, in metres. Row 0 is
            the northern row, so row ``r`` is at ``y_first - r * cell_size``.
        cell_size: Cell edge length in metres, > 0.
        structure_heights: Height of a flat-topped column over each cell's
            square footprint, metres above the cell-centre height, shape
            (rows, cols), finite and >= 0, stored as float32; 0 means no
            column. None (the default) means no columns.
        shapes: Moving shapes that rays also hit, or None. Their poses may
            change between casts through :meth:`MovingShapes.set_poses`.
        use_pyramid: Whether rays skip blocks of quads with the max-height
            pyramid. Ranges differ only by rounding either way (see
            ``docs/surface.md``), and False exists to measure the saving.

    The scene derives its pyramid and the class of each hit from the arrays
    as they are when it is built. Build a new scene after changing them.

    Raises:
        InputError: If an array has the wrong shape, dtype or values, or a
            scalar is not finite.
    """

    def __init__(
        self,
        heights,
        classes,
        valid,
        x_first,
        y_first,
        cell_size,
        structure_heights=None,
        shapes=None,
        use_pyramid=True,
    ):
        self.heights = _validate_heights(heights)
        shape = self.heights.shape
        self.classes = _validate_classes(classes, shape)
        self.valid = _validate_valid(valid, shape)
        self.x_first = _as_finite_float(x_first, "x_first")
        self.y_first = _as_finite_float(y_first, "y_first")
        self.cell_size = _as_finite_float(cell_size, "cell_size")
        if self.cell_size <= 0.0:
            raise InputError(f"cell_size must be > 0 metres, got {self.cell_size}.")
        self.structure_heights = _validate_structure_heights(structure_heights, shape)
        self.has_structures = bool((self.structure_heights > 0.0).any())
        if shapes is not None and not isinstance(shapes, MovingShapes):
            raise InputError(
                f"shapes must be a MovingShapes or None, got {type(shapes).__name__}."
            )
        self.shapes = shapes if shapes is not None else MovingShapes([], np.empty(0))
        self.use_pyramid = bool(use_pyramid)
        self.pyramid = build_pyramid(self.heights, self.structure_heights)
        # One grid for the class of a hit, so that a hit reads one cell.
        self._hit_classes = np.where(
            self.valid, self.classes, np.uint8(SurfaceClass.NO_DATA)
        )

    @classmethod
    def from_twin(cls, twin, shapes=None, use_pyramid=True):
        """Build the scene of a :class:`~twin_gym.terrain.twin.TerrainTwin`.

        The twin's ``structure_heights`` become the scene's columns.
        """
        return cls(
            twin.heights,
            twin.classes,
            twin.valid,
            twin.x_first,
            twin.y_first,
            twin.cell_size,
            structure_heights=twin.structure_heights,
            shapes=shapes,
            use_pyramid=use_pyramid,
        )

    @property
    def shape(self):
        """Grid shape ``(rows, cols)``."""
        return self.heights.shape

    @property
    def bounds(self):
        """Hull of the cell centres as ``(x_min, y_min, x_max, y_max)`` in metres."""
        rows, cols = self.heights.shape
        x_max = self.x_first + (cols - 1) * self.cell_size
        y_min = self.y_first - (rows - 1) * self.cell_size
        return self.x_first, y_min, x_max, self.y_first

    def _run(
        self,
        origins,
        directions,
        max_ranges,
        use_pyramid,
        order=None,
        steps=False,
        check_fans=None,
    ):
        """Cast rays, as fans of ``len(order)`` rays where ``order`` is set.

        Rays arrive validated, except that the values of fans are not
        checked yet. The fan kernel walks no fan with a non-finite or zero
        value, and ``check_fans`` from :func:`_validate_fans` checks the fans
        it did not walk before their rays are cast one by one.

        Returns:
            ``(hits, walk_steps)``, where ``walk_steps`` contains each ray's walk
            steps when ``steps`` is true and is empty otherwise.
        """
        n = directions.shape[0]
        out_range = np.empty(n, dtype=np.float64)
        out_point = np.empty((n, 3), dtype=np.float64)
        out_normal = np.empty((n, 3), dtype=np.float64)
        out_class = np.empty(n, dtype=np.uint8)
        out_steps = np.empty(n if steps else 0, dtype=np.int64)
        if n > 0:
            shapes = self.shapes
            scene_args = (
                self.heights,
                self.structure_heights,
                self.has_structures,
                self._hit_classes,
                self.pyramid,
                use_pyramid,
                self.x_first,
                self.y_first,
                self.cell_size,
                shapes.kinds,
                shapes.pos_w,
                shapes.rot_ws,
                shapes.sizes,
                shapes.surface_class,
            )
            outputs = (out_range, out_point, out_normal, out_class, out_steps)
            if order is None:
                kernel = cast_rays if n >= PARALLEL_MIN_RAYS else cast_rays_serial
                kernel(*scene_args, origins, directions, max_ranges, *outputs)
            else:
                walked = np.ones(origins.shape[0], dtype=bool)
                cast_fans(
                    *scene_args,
                    origins,
                    directions,
                    order,
                    max_ranges,
                    *outputs,
                    walked,
                )
                if not walked.all():
                    # Fans that are not level go ray by ray, once checked.
                    check_fans(~walked)
                    rays = np.repeat(~walked, len(order))
                    shared = max_ranges.shape[0] == 1
                    hits, ray_steps = self._run(
                        np.repeat(origins[~walked], len(order), axis=0),
                        directions[rays],
                        max_ranges if shared else max_ranges[rays],
                        use_pyramid,
                        steps=steps,
                    )
                    out_range[rays] = hits.range
                    out_point[rays] = hits.point_w
                    out_normal[rays] = hits.normal_w
                    out_class[rays] = hits.surface_class
                    if steps:
                        out_steps[rays] = ray_steps
        hits = RayHits(
            hit=np.isfinite(out_range),
            range=out_range,
            point_w=out_point,
            normal_w=out_normal,
            surface_class=out_class,
        )
        return hits, out_steps

    def cast(self, origins_w, directions_w, max_range):
        """Cast rays against the scene and return the first hit of each.

        The terrain and the columns form one solid over the hull of the cell
        centres. A ray hits at the first point within ``max_range`` that
        lies over the hull and on or below the terrain surface or a column
        top. An origin on or below the surface, or inside a column, hits at
        range 0. A ray that starts outside the hull and enters it below the
        surface hits at the entry point on the hull's side. Moving shapes
        are solids anywhere, on or off the map. A ray that leaves the hull
        without hitting anything is a miss.

        Args:
            origins_w: Ray origins in the local world frame in metres, shape
                (n, 3), any real dtype.
            directions_w: Ray directions in the local world frame, shape
                (n, 3), any nonzero length.
            max_range: Maximum range in metres, a scalar or shape (n,), >= 0.
                Hits farther away are misses; ``inf`` disables the limit.

        Returns:
            The hits, one row per ray.

        Raises:
            InputError: If a shape is wrong, a value is not finite, a
                direction has zero length or a max range is negative or NaN.
        """
        hits, _ = self._run(
            *_validate_rays(origins_w, directions_w, max_range), self.use_pyramid
        )
        return hits

    def cast_fans(self, origins_w, directions_w, max_range):
        """Cast fans of rays that share an origin, such as a LiDAR's channels.

        Each fan's rays start at one origin. Where they also share one
        horizontal heading, they lie in one vertical half-plane, as the
        channels of one azimuth step of a level spinning LiDAR do. Such a
        fan is walked once along its ground track for all its rays (see
        ``docs/surface.md``), and any other fan is cast ray by ray. Either way
        the hits are those of :meth:`cast` for the same rays, up to
        rounding. Ranges agree within about 1e-9 m, except for rays that pass
        exactly through a grid vertex or along a shared face edge, run
        exactly in a triangle's plane, or only touch a column's vertical
        edge, where rounding decides where the first contact lies.

        Args:
            origins_w: Fan origins in the local world frame in metres, shape
                (fans, 3), any real dtype.
            directions_w: Ray directions in the local world frame, shape
                (fans, k, 3), any nonzero length. Rays in the same place of
                every fan should have the same elevation order as in the
                first fan (fixed beam tables do); a fan whose rays are not in
                that order is cast ray by ray.
            max_range: Maximum range in metres, a scalar or shape
                (fans, k), >= 0; ``inf`` disables the limit.

        Returns:
            The hits with row ``f * k + j`` for ray ``j`` of fan ``f``.

        Raises:
            InputError: If a shape is wrong, a value is not finite, a
                direction has zero length or a max range is negative or NaN.
        """
        origins, directions, max_ranges, per_fan, check_fans = _validate_fans(
            origins_w, directions_w, max_range
        )
        first_fan = directions[:per_fan]
        # Rays sort by slope; a vertical one ranks at the end it points to.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = first_fan[:, 2] / np.hypot(first_fan[:, 0], first_fan[:, 1])
        order = np.argsort(slope, kind="stable").astype(np.int64)
        hits, _ = self._run(
            origins,
            directions,
            max_ranges,
            self.use_pyramid,
            order=order,
            check_fans=check_fans,
        )
        return hits

    def walk_steps(self, origins_w, directions_w, max_range, use_pyramid=True):
        """Return how many walk steps each ray takes, for measuring the pyramid.

        A step is one quad tested exactly or one pyramid block skipped. The
        arguments are those of :meth:`cast`.

        Returns:
            Steps per ray, shape (n,), int64.
        """
        _, steps = self._run(
            *_validate_rays(origins_w, directions_w, max_range),
            bool(use_pyramid),
            steps=True,
        )
        return steps

    def height_at(self, x, y):
        """Return the surface height at local points, NaN off the map.

        Args:
            x: Local x (east) in metres, any shape that broadcasts with ``y``.
            y: Local y (north) in metres.

        Returns:
            Heights in metres, float64, with the broadcast shape of ``x`` and
            ``y``.
        """
        x_arr, y_arr = np.broadcast_arrays(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        )
        x_flat = np.ascontiguousarray(x_arr).ravel()
        y_flat = np.ascontiguousarray(y_arr).ravel()
        out = np.empty(x_flat.shape[0], dtype=np.float64)
        if out.size > 0:
            surface_heights(
                self.heights,
                self.x_first,
                self.y_first,
                self.cell_size,
                x_flat,
                y_flat,
                out,
            )
        return out.reshape(x_arr.shape)
