"""Numba kernels that cast batches of rays and fill the per-ray outputs.

Each ray is walked over the terrain and its structure columns by
``_kernels.walk_ray`` and then tested against the moving shapes up to the
range of that first hit. The winner's hit point, normal and class are
written into preallocated output arrays.
"""

import math

import numpy as np
from numba import njit, prange

from twin_gym.raycast._fan import fan_geometry, walk_fan
from twin_gym.raycast._kernels import (
    COLUMN_TOP,
    MISS_CLASS,
    TRIANGLE_LOWER,
    TRIANGLE_UPPER,
    WALL_EAST,
    WALL_NORTH,
    WALL_WEST,
    normalize_direction,
    ray_max_range,
    record_steps,
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
def nearest_cell_class(hit_classes, x_first, y_first, cell_size, x, y):
    """Return the class of the cell whose footprint contains ``(x, y)``.

    The cell is the one with the nearest centre. A point exactly halfway
    between two centres goes to the cell with the larger index (east or
    south). ``hit_classes`` is the scene's class grid with
    ``SurfaceClass.NO_DATA`` in invalid cells.
    """
    rows, cols = hit_classes.shape
    col = int(math.floor((x - x_first) / cell_size + 0.5))
    row = int(math.floor((y_first - y) / cell_size + 0.5))
    col = min(max(col, 0), cols - 1)
    row = min(max(row, 0), rows - 1)
    return hit_classes[row, col]


@njit(cache=True, inline="always")
def _finish_ray(
    i,
    t,
    part,
    r,
    c,
    ox,
    oy,
    oz,
    ux,
    uy,
    uz,
    max_range,
    heights,
    hit_classes,
    x_first,
    y_first,
    cell_size,
    shapes,
    out_range,
    out_point,
    out_normal,
    out_class,
):
    """Test ray ``i`` against the moving shapes and write its row of the outputs.

    ``(t, part, r, c)`` is the ray's walk result as ``walk_ray`` returns it,
    ``(ux, uy, uz)`` its unit direction. ``shapes`` is ``(kinds, pos_w,
    rot_ws, sizes, classes)`` of the moving shapes.
    """
    shape_kinds, shape_pos_w, shape_rot_ws, shape_sizes, shape_classes = shapes
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
            min(t, max_range),
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
        hit_class = nearest_cell_class(hit_classes, x_first, y_first, cell_size, px, py)
    else:
        nx, ny, nz = column_normal(part)
        hit_class = hit_classes[r, c]
    out_normal[i, 0] = nx
    out_normal[i, 1] = ny
    out_normal[i, 2] = nz
    out_class[i] = hit_class


@njit(cache=True, inline="always")
def _cast_into(
    i,
    ox,
    oy,
    oz,
    heights,
    structure_heights,
    has_structures,
    hit_classes,
    pyramid,
    use_pyramid,
    x_first,
    y_first,
    cell_size,
    shapes,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
):
    """Cast ray ``i`` from ``(ox, oy, oz)`` and write its row of the outputs.

    ``shapes`` is as for :func:`_finish_ray`.
    """
    ux, uy, uz = normalize_direction(
        directions[i, 0], directions[i, 1], directions[i, 2]
    )
    max_range = ray_max_range(max_ranges, i)
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
            max_range,
        )
    record_steps(out_steps, i, steps)
    _finish_ray(
        i,
        t,
        part,
        r,
        c,
        ox,
        oy,
        oz,
        ux,
        uy,
        uz,
        max_range,
        heights,
        hit_classes,
        x_first,
        y_first,
        cell_size,
        shapes,
        out_range,
        out_point,
        out_normal,
        out_class,
    )


RAY_CHUNKS = 1024
"""Number of chunks that :func:`cast_rays` shares out among its threads."""


@njit(cache=True, _nrt=False)
def _cast_ray_run(
    start,
    stop,
    heights,
    structure_heights,
    has_structures,
    hit_classes,
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
    """Cast rays ``start`` to ``stop - 1`` one after another; see :func:`cast_rays`.

    It is compiled without numba's reference counting (``_nrt=False``). It
    allocates nothing, and outside a parallel loop body numba would count
    references to the arrays that the inlined walk hands from helper to
    helper, which costs more than the walk itself. Compiled apart from the
    parallel loop, the walk also compiles in less than half the time.
    """
    shapes = (shape_kinds, shape_pos_w, shape_rot_ws, shape_sizes, shape_classes)
    for i in range(start, stop):
        _cast_into(
            i,
            origins[i, 0],
            origins[i, 1],
            origins[i, 2],
            heights,
            structure_heights,
            has_structures,
            hit_classes,
            pyramid,
            use_pyramid,
            x_first,
            y_first,
            cell_size,
            shapes,
            directions,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
            out_steps,
        )


@njit(cache=True, parallel=True)
def cast_rays(
    heights,
    structure_heights,
    has_structures,
    hit_classes,
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
        hit_classes: Class reported for a hit on each cell, shape (rows,
            cols), uint8: the cell's class, or ``SurfaceClass.NO_DATA`` where the
            cell is invalid.
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
        max_ranges: Maximum range per ray in metres, shape (n,), float64,
            or shape (1,) for one range shared by every ray.
        out_range: Output ranges in metres, shape (n,), float64, inf on a miss.
        out_point: Output hit points, shape (n, 3), float64, NaN on a miss.
        out_normal: Output unit normals, shape (n, 3), float64, NaN on a miss.
        out_class: Output classes, shape (n,), uint8, ``MISS_CLASS`` on a miss.
        out_steps: Output walk steps per ray, shape (n,), int64, or shape
            (0,) when they are not requested.
    """
    n = origins.shape[0]
    chunks = min(n, RAY_CHUNKS)
    for chunk in prange(chunks):
        _cast_ray_run(
            chunk * n // chunks,
            (chunk + 1) * n // chunks,
            heights,
            structure_heights,
            has_structures,
            hit_classes,
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
    hit_classes,
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
    _cast_ray_run(
        0,
        origins.shape[0],
        heights,
        structure_heights,
        has_structures,
        hit_classes,
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


FAN_CHUNKS = 256
"""Number of chunks that :func:`cast_fans` shares out among its threads."""

FAN_GROUP = 32
"""Neighbouring fans that one chunk of :func:`cast_fans` casts in a row."""


@njit(cache=True, parallel=True)
def cast_fans(
    heights,
    structure_heights,
    has_structures,
    hit_classes,
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
    order,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
    walked,
):
    """Cast fans of rays in parallel, each in one pass.

    ``order`` contains the int64 indices of a fan's ``k`` rays in order of
    rising elevation. Fan ``f`` is rays ``f * k`` to ``f * k + k - 1`` of
    ``directions`` (float64, shape (fans * k, 3)), all from ``origins[f]``
    (float64, shape (fans, 3)). A fan whose rays share one
    vertical half-plane, with slopes rising along ``order`` (see
    ``_fan.fan_geometry``), is walked once by ``_fan.walk_fan``. Any other
    fan gets ``walked[f]`` set to false (bool, shape (fans,), which the
    caller fills with true) and no output; the caller casts its rays with
    :func:`cast_rays`. The other arguments are those of :func:`cast_rays`,
    one row per ray, and so are the results, up to rounding.
    """
    count = order.shape[0]
    fans = directions.shape[0] // count
    groups = (fans + FAN_GROUP - 1) // FAN_GROUP
    chunks = min(groups, FAN_CHUNKS)
    for chunk in prange(chunks):
        # Scratch for one fan at a time, allocated once per chunk.
        fan_constants = np.empty((4, count))
        fan_found = np.empty((3, count), np.int64)
        _cast_fan_run(
            chunk,
            chunks,
            heights,
            structure_heights,
            has_structures,
            hit_classes,
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
            order,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
            out_steps,
            walked,
            fan_constants,
            fan_found,
        )


@njit(cache=True, _nrt=False)
def _cast_fan_run(
    chunk,
    chunks,
    heights,
    structure_heights,
    has_structures,
    hit_classes,
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
    order,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
    walked,
    fan_constants,
    fan_found,
):
    """Cast the fans of one chunk of :func:`cast_fans`.

    A chunk takes every ``chunks``-th group of ``FAN_GROUP`` neighbouring
    fans: neighbours share cache lines, and spreading each chunk over all
    the fans balances threads that numba hands equal runs of chunks,
    whatever the cost of each pose. It is compiled without reference
    counting for the reasons given at :func:`_cast_ray_run`.
    """
    count = order.shape[0]
    fans = directions.shape[0] // count
    groups = (fans + FAN_GROUP - 1) // FAN_GROUP
    shapes = (shape_kinds, shape_pos_w, shape_rot_ws, shape_sizes, shape_classes)
    for group in range(chunk, groups, chunks):
        for f in range(group * FAN_GROUP, min((group + 1) * FAN_GROUP, fans)):
            _cast_fan(
                f,
                heights,
                structure_heights,
                has_structures,
                hit_classes,
                pyramid,
                use_pyramid,
                x_first,
                y_first,
                cell_size,
                shapes,
                origins,
                directions,
                order,
                max_ranges,
                out_range,
                out_point,
                out_normal,
                out_class,
                out_steps,
                walked,
                fan_constants,
                fan_found,
            )


@njit(cache=True, _nrt=False)
def _cast_fan(
    f,
    heights,
    structure_heights,
    has_structures,
    hit_classes,
    pyramid,
    use_pyramid,
    x_first,
    y_first,
    cell_size,
    shapes,
    origins,
    directions,
    order,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
    out_steps,
    walked,
    fan_constants,
    fan_found,
):
    """Cast fan ``f`` and write its rows of the outputs.

    If the rays do not form a fan, ``walked[f]`` gets false and nothing
    else is written. Only those writes touch ``walked``, so threads do not
    share its cache lines in the common case. ``fan_constants`` and
    ``fan_found`` are scratch arrays of shapes (4, k) and (3, k) for
    ``_fan.walk_fan``.
    """
    count = order.shape[0]
    first = f * count
    ox = origins[f, 0]
    oy = origins[f, 1]
    oz = origins[f, 2]
    is_fan, hx, hy, reach = fan_geometry(
        directions, max_ranges, first, order, fan_constants
    )
    # A non-finite or zero direction fails the fan check, and a non-finite
    # origin fails here, so only finite fans are walked.
    if not is_fan or not (ox * 0.0 + oy * 0.0 + oz * 0.0 == 0.0):
        walked[f] = False
        return
    walk_fan(
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
        hx,
        hy,
        reach,
        first,
        order,
        fan_constants,
        max_ranges,
        out_range,
        out_steps,
        fan_found,
    )
    for j in range(count):
        i = first + order[j]
        # The unit direction along the fan's heading differs from the ray's
        # own by rounding only (``FAN_HEADING_TOLERANCE``).
        horizontal = fan_constants[3, j]
        ux = hx * horizontal
        uy = hy * horizontal
        uz = fan_constants[0, j] * horizontal
        _finish_ray(
            i,
            out_range[i],
            fan_found[0, j],
            fan_found[1, j],
            fan_found[2, j],
            ox,
            oy,
            oz,
            ux,
            uy,
            uz,
            ray_max_range(max_ranges, i),
            heights,
            hit_classes,
            x_first,
            y_first,
            cell_size,
            shapes,
            out_range,
            out_point,
            out_normal,
            out_class,
        )


@njit(cache=True, parallel=True)
def count_invalid_rays(origins, directions):
    """Return how many rays have a non-finite origin or direction, or a zero direction.

    Args:
        origins: Ray origins, shape (m, 3), float64. With ``k`` rays per
            origin (``n = m * k``), ray ``i`` starts at ``origins[i // k]``.
        directions: Ray directions, shape (n, 3), float64.
    """
    count = origins.shape[0]
    per_origin = directions.shape[0] // count if count > 0 else 0
    invalid = 0
    for m in prange(count):
        # x * 0 is 0 for a finite x and NaN otherwise, so the checks need no
        # branches and the inner loop compiles to straight-line code.
        origin_zero = origins[m, 0] * 0.0 + origins[m, 1] * 0.0 + origins[m, 2] * 0.0
        bad = 0
        for i in range(m * per_origin, (m + 1) * per_origin):
            x = directions[i, 0]
            y = directions[i, 1]
            z = directions[i, 2]
            finite = origin_zero + x * 0.0 + y * 0.0 + z * 0.0 == 0.0
            nonzero = abs(x) + abs(y) + abs(z) > 0.0
            bad += not (finite and nonzero)
        invalid += bad
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
