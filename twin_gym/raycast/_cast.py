"""Numba kernels that cast batches of rays and fill the per-ray outputs.

Each ray is walked over the terrain and its structure columns by
``_kernels.walk_ray`` and then tested against the moving shapes up to the
range of that first hit. The winner's hit point, normal and class are
written into preallocated output arrays.
"""

import math

import numpy as np
from numba import njit, prange

from twin_gym.raycast._kernels import (
    COLUMN_TOP,
    MISS_CLASS,
    NO_DATA_CLASS,
    TRIANGLE_LOWER,
    TRIANGLE_UPPER,
    WALL_EAST,
    WALL_NORTH,
    WALL_WEST,
    normalize_direction,
    walk_ray,
)
from twin_gym.raycast._shapes import intersect_shapes
from twin_gym.raycast._surface import quad_height


@njit(cache=True)
def triangle_normal(heights, cell_size, r, c, triangle):
    """Return the unit upward normal ``(nx, ny, nz)`` of one triangle in local axes."""
    h00 = np.float64(heights[r, c])
    h01 = np.float64(heights[r, c + 1])
    h10 = np.float64(heights[r + 1, c])
    h11 = np.float64(heights[r + 1, c + 1])
    # Moving one row south is -y, which flips the sign of the row slope.
    # The normal is (-rise_x, -rise_y, cell_size) scaled to unit length,
    # with the rises over one cell; one division serves all three parts.
    if triangle == TRIANGLE_UPPER:
        rise_x = h01 - h00
        rise_y = -(h11 - h01)
    else:
        rise_x = h11 - h10
        rise_y = -(h10 - h00)
    inverse = 1.0 / math.sqrt(rise_x * rise_x + rise_y * rise_y + cell_size * cell_size)
    # Subtracting from 0.0 gives +0.0 rather than -0.0 on flat ground.
    return 0.0 - rise_x * inverse, 0.0 - rise_y * inverse, cell_size * inverse


@njit(cache=True)
def column_normal(part):
    """Return the unit outward normal of a column face given its part code."""
    if part == COLUMN_TOP:
        return 0.0, 0.0, 1.0
    if part == WALL_EAST:
        return 1.0, 0.0, 0.0
    if part == WALL_WEST:
        return -1.0, 0.0, 0.0
    if part == WALL_NORTH:
        return 0.0, 1.0, 0.0
    return 0.0, -1.0, 0.0


@njit(cache=True)
def cell_class(classes, valid, row, col):
    """Return the class of cell ``(row, col)``, ``NO_DATA_CLASS`` if it is invalid."""
    if not valid[row, col]:
        return NO_DATA_CLASS
    return classes[row, col]


@njit(cache=True)
def nearest_cell_class(classes, valid, x_first, y_first, cell_size, x, y):
    """Return the class of the cell whose footprint contains ``(x, y)``.

    The cell is the one with the nearest centre. A point exactly halfway
    between two centres goes to the cell with the larger index (east or
    south). An invalid cell returns ``NO_DATA_CLASS``.
    """
    rows, cols = classes.shape
    col = int(math.floor((x - x_first) / cell_size + 0.5))
    row = int(math.floor((y_first - y) / cell_size + 0.5))
    col = min(max(col, 0), cols - 1)
    row = min(max(row, 0), rows - 1)
    return cell_class(classes, valid, row, col)


@njit(cache=True, inline="always")
def _cast_into(
    i,
    heights,
    structure_heights,
    has_structures,
    classes,
    valid,
    pyramid,
    use_pyramid,
    x_first,
    y_first,
    cell_size,
    shape_kinds,
    shape_pos_w,
    shape_rot_ws,
    shape_sizes,
    shape_classes,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
):
    """Cast ray ``i`` and write its result into row ``i`` of the ``out_*`` arrays."""
    ox = origins[i, 0]
    oy = origins[i, 1]
    oz = origins[i, 2]
    ux, uy, uz = normalize_direction(
        directions[i, 0], directions[i, 1], directions[i, 2]
    )
    t, part, r, c, steps = math.inf, -1, -1, -1, 0
    # RaycastScene rejects zero directions; any that reach here stay misses.
    if ux != 0.0 or uy != 0.0 or uz != 0.0:
        t, part, r, c, steps = walk_ray(
            heights,
            structure_heights,
            has_structures,
            pyramid,
            use_pyramid,
            x_first,
            y_first,
            cell_size,
            ox,
            oy,
            oz,
            ux,
            uy,
            uz,
            max_ranges[i],
        )
    out_steps[i] = steps
    shape_index = -1
    if shape_kinds.shape[0] > 0:
        t_shape, shape_index, snx, sny, snz = intersect_shapes(
            shape_kinds,
            shape_pos_w,
            shape_rot_ws,
            shape_sizes,
            ox,
            oy,
            oz,
            ux,
            uy,
            uz,
            min(t, max_ranges[i]),
        )
        if t_shape < t:
            t = t_shape
        else:
            shape_index = -1

    out_range[i] = t
    if t == math.inf:
        for k in range(3):
            out_point[i, k] = math.nan
            out_normal[i, k] = math.nan
        out_class[i] = MISS_CLASS
        return
    px = ox + t * ux
    py = oy + t * uy
    out_point[i, 0] = px
    out_point[i, 1] = py
    out_point[i, 2] = oz + t * uz
    if shape_index >= 0:
        nx, ny, nz = snx, sny, snz
        hit_class = shape_classes[shape_index]
    elif part == TRIANGLE_UPPER or part == TRIANGLE_LOWER:
        nx, ny, nz = triangle_normal(heights, cell_size, r, c, part)
        hit_class = nearest_cell_class(
            classes, valid, x_first, y_first, cell_size, px, py
        )
    else:
        nx, ny, nz = column_normal(part)
        hit_class = cell_class(classes, valid, r, c)
    out_normal[i, 0] = nx
    out_normal[i, 1] = ny
    out_normal[i, 2] = nz
    out_class[i] = hit_class


@njit(cache=True, parallel=True)
def cast_rays(
    heights,
    structure_heights,
    has_structures,
    classes,
    valid,
    pyramid,
    use_pyramid,
    x_first,
    y_first,
    cell_size,
    shape_kinds,
    shape_pos_w,
    shape_rot_ws,
    shape_sizes,
    shape_classes,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
):
    """Cast many rays in parallel and write the results into the ``out_*`` arrays.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols).
        structure_heights: Column heights above the cell-centre height in
            metres, shape (rows, cols), 0 where there is none.
        has_structures: Whether any column height is > 0.
        classes: Cell classes, shape (rows, cols), uint8.
        valid: Cell validity, shape (rows, cols), bool.
        pyramid: Max-height pyramid from ``pyramid.build_pyramid``.
        use_pyramid: Whether the walk skips blocks with the pyramid.
        x_first: Local x of the centre of column 0, in metres.
        y_first: Local y of the centre of row 0, in metres.
        cell_size: Cell edge length in metres.
        shape_kinds: ``SHAPE_*`` code per moving shape, shape (m,), int64.
        shape_pos_w: Shape centres in metres, shape (m, 3), float64.
        shape_rot_ws: Shape-to-world rotations, shape (m, 3, 3), float64.
        shape_sizes: Shape sizes in metres, shape (m, 3), float64.
        shape_classes: Class reported for each shape, shape (m,), uint8.
        origins: Ray origins in the local world frame, shape (n, 3), float64.
        directions: Ray directions of nonzero length, shape (n, 3), float64.
        max_ranges: Maximum range per ray in metres, shape (n,), float64.
        out_range: Output ranges in metres, shape (n,), float64, inf on a miss.
        out_point: Output hit points, shape (n, 3), float64, NaN on a miss.
        out_normal: Output unit normals, shape (n, 3), float64, NaN on a miss.
        out_class: Output classes, shape (n,), uint8, ``MISS_CLASS`` on a miss.
        out_steps: Output walk steps per ray, shape (n,), int64.
    """
    for i in prange(origins.shape[0]):
        _cast_into(
            i,
            heights,
            structure_heights,
            has_structures,
            classes,
            valid,
            pyramid,
            use_pyramid,
            x_first,
            y_first,
            cell_size,
            shape_kinds,
            shape_pos_w,
            shape_rot_ws,
            shape_sizes,
            shape_classes,
            origins,
            directions,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
            out_steps,
        )


@njit(cache=True)
def cast_rays_serial(
    heights,
    structure_heights,
    has_structures,
    classes,
    valid,
    pyramid,
    use_pyramid,
    x_first,
    y_first,
    cell_size,
    shape_kinds,
    shape_pos_w,
    shape_rot_ws,
    shape_sizes,
    shape_classes,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
):
    """Cast rays one after another; the same contract as :func:`cast_rays`.

    Starting numba's thread pool costs more than a few hundred rays take, so
    small batches run faster here.
    """
    for i in range(origins.shape[0]):
        _cast_into(
            i,
            heights,
            structure_heights,
            has_structures,
            classes,
            valid,
            pyramid,
            use_pyramid,
            x_first,
            y_first,
            cell_size,
            shape_kinds,
            shape_pos_w,
            shape_rot_ws,
            shape_sizes,
            shape_classes,
            origins,
            directions,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
            out_steps,
        )


@njit(cache=True)
def count_invalid_rays(origins, directions):
    """Return how many rays have a non-finite origin or direction, or a zero direction.

    Args:
        origins: Ray origins, shape (n, 3), float64.
        directions: Ray directions, shape (n, 3), float64.
    """
    invalid = 0
    for i in range(origins.shape[0]):
        finite = True
        nonzero = False
        for k in range(3):
            finite = finite and math.isfinite(origins[i, k])
            finite = finite and math.isfinite(directions[i, k])
            nonzero = nonzero or directions[i, k] != 0.0
        if not (finite and nonzero):
            invalid += 1
    return invalid


@njit(cache=True, parallel=True)
def surface_heights(heights, x_first, y_first, cell_size, x, y, out):
    """Write the surface height at each ``(x[i], y[i])`` into ``out[i]``.

    ``x``, ``y`` and ``out`` are 1-D float64 arrays of equal length in metres.
    Points off the map get NaN.
    """
    for i in prange(x.shape[0]):
        out[i] = surface_height_f64(heights, x_first, y_first, cell_size, x[i], y[i])


@njit(cache=True)
def surface_height_f64(heights, x_first, y_first, cell_size, x, y):
    """Return the surface height at local ``(x, y)`` in metres, NaN off the map.

    It matches ``_surface.surface_height`` but evaluates in float64 for float32
    heights too. Numba types ``float()`` of a float32 as float32, so corner
    differences computed from ``float()`` casts would round to float32.
    """
    rows, cols = heights.shape
    u = (x - x_first) / cell_size
    v = (y_first - y) / cell_size
    if not (0.0 <= u <= cols - 1) or not (0.0 <= v <= rows - 1):
        return math.nan
    c = min(max(int(math.floor(u)), 0), cols - 2)
    r = min(max(int(math.floor(v)), 0), rows - 2)
    return quad_height(
        np.float64(heights[r, c]),
        np.float64(heights[r, c + 1]),
        np.float64(heights[r + 1, c]),
        np.float64(heights[r + 1, c + 1]),
        u - c,
        v - r,
    )
