"""Numba kernels that walk a ray over the terrain and its structure columns.

The surface model is described in ``docs/surface.md``. Rays are walked in
grid coordinates ``u = (x - x_first) / cell_size`` (column index) and
``v = (y_first - y) / cell_size`` (row index). Quad ``(r, c)`` covers ``u``
in ``[c, c + 1]`` and ``v`` in ``[r, r + 1]``. The footprint of cell
``(r, c)`` covers ``u`` in ``[c - 0.5, c + 0.5]`` and ``v`` in
``[r - 0.5, r + 0.5]``, clipped to the hull. The ray parameter ``t`` is the
distance along the unit direction in metres throughout.

The solid is the union of the terrain (everything on or below the
triangulated surface) and the structure columns (everything on or below a
column's flat top over its footprint), both only over the hull of the cell
centres. A ray hits at the smallest ``t`` in ``[0, max_range]`` whose point
lies in the solid. That covers an origin below the surface or inside a column
(range 0) and a ray that enters the hull from outside below the edge height
(hit at the entry point).

Every function here takes plain scalars and arrays so the simulation core can
call them from its own numba code.
"""

import math

import numpy as np
from numba import njit

from twin_gym.raycast._surface import quad_height

MISS_CLASS = 255
"""Value of ``surface_class`` for a ray that hit nothing."""

TRIANGLE_UPPER = 0
"""Triangle ``(r, c), (r, c + 1), (r + 1, c + 1)`` of a quad, where ``fu >= fv``."""

TRIANGLE_LOWER = 1
"""Triangle ``(r, c), (r + 1, c), (r + 1, c + 1)`` of a quad, where ``fv > fu``."""

COLUMN_TOP = 2
"""Flat top of a structure column; normal +z."""

WALL_EAST = 3
"""East wall of a column (``u`` high side); normal +x."""

WALL_WEST = 4
"""West wall of a column (``u`` low side); normal -x."""

WALL_NORTH = 5
"""North wall of a column (``v`` low side); normal +y."""

WALL_SOUTH = 6
"""South wall of a column (``v`` high side); normal -y."""

PYRAMID_LEVELS = 4
"""Levels of the max-height pyramid, level 0 being one quad. ``walk_ray``
and ``_block_top`` read levels 1 to 3 by name, so a change here needs them
changed too."""

PYRAMID_SHIFT = 2
"""Each pyramid level merges ``2**PYRAMID_SHIFT`` blocks per axis (4 x 4)."""


@njit(cache=True, inline="always")
def ray_max_range(max_ranges, i):
    """Return ray ``i``'s maximum range from a per-ray or a shared array.

    ``max_ranges`` contains one value per ray, or a single value for every
    ray, which spares callers with one range a full array.
    """
    if max_ranges.shape[0] == 1:
        return max_ranges[0]
    return max_ranges[i]


@njit(cache=True, inline="always")
def record_steps(out_steps, i, steps):
    """Write ray ``i``'s walk steps unless ``out_steps`` is empty (not requested)."""
    if out_steps.shape[0] > 0:
        out_steps[i] = steps


@njit(cache=True, inline="always")
def normalize_direction(dx, dy, dz):
    """Return the unit vector of ``(dx, dy, dz)``, or zeros for a zero vector.

    Vectors so small or so large that their squared length would underflow
    or overflow are scaled by their largest component first. A non-finite
    input also returns zeros, which the callers treat as a miss.
    """
    squared = dx * dx + dy * dy + dz * dz
    if 1e-280 < squared < 1e280:
        inverse = 1.0 / math.sqrt(squared)
        return dx * inverse, dy * inverse, dz * inverse
    scale = max(abs(dx), abs(dy), abs(dz))
    if not (scale > 0.0) or not math.isfinite(scale):
        return 0.0, 0.0, 0.0
    dx /= scale
    dy /= scale
    dz /= scale
    norm = math.sqrt(dx * dx + dy * dy + dz * dz)
    return dx / norm, dy / norm, dz / norm


@njit(cache=True, inline="always")
def _axis_walk(dp):
    """Return ``(inverse, pad, offset, step)`` for walking one grid axis.

    The ray crosses grid line ``k`` at ``t = (k - p0) * inverse + pad``. With
    no motion along the axis the inverse is 0 and the pad ``inf``, so every
    crossing lies at infinity. A motion so small that its inverse overflows
    (a subnormal component) counts as none: it would cross the next line
    only beyond any representable distance. A quad index plus ``offset`` is
    the line the ray leaves that quad through, and ``step`` is the index
    change there.
    """
    if dp != 0.0:
        inverse = 1.0 / dp
        if math.isfinite(inverse):
            if dp > 0.0:
                return inverse, 0.0, 1, 1
            return inverse, 0.0, 0, -1
    return 0.0, math.inf, 0, 1


@njit(cache=True, inline="always")
def _hull_interval(p0, inverse, pad, upper):
    """Return the ``t`` interval where the ray lies in ``[0, upper]`` on one axis.

    The crossings use the formula of the walk's line crossings, so a ray
    that leaves the hull leaves its last quad at the same ``t``. Returns
    ``(1.0, 0.0)``, an empty interval, for a ray with no motion along the
    axis outside the range.
    """
    if pad == math.inf:
        if 0.0 <= p0 <= upper:
            return -math.inf, math.inf
        return 1.0, 0.0
    t_low = (0.0 - p0) * inverse
    t_high = (upper - p0) * inverse
    if t_low > t_high:
        return t_high, t_low
    return t_low, t_high


@njit(cache=True)
def _first_quad_index(p, dp, n_quads):
    """Return the quad index along one axis that the ray occupies just after ``p``.

    On a grid line the ray belongs to the quad it moves into. A ray with no
    motion along the axis takes the quad whose lower edge is at or below
    ``p``. The index is clamped to ``[0, n_quads - 1]`` because the hull entry
    point can round a little outside the hull.
    """
    if dp < 0.0:
        index = int(math.ceil(p)) - 1
    else:
        index = int(math.floor(p))
    return min(max(index, 0), n_quads - 1)


@njit(cache=True, inline="always")
def _root(t0, gap0, t1, gap1):
    """Return where a gap linear in ``t`` falls from ``gap0 > 0`` to ``gap1 <= 0``."""
    t = t0 + (t1 - t0) * (gap0 / (gap0 - gap1))
    return min(max(t, t0), t1)


@njit(cache=True, inline="always")
def _intersect_quad(heights, r, c, u0, v0, du, dv, oz, dz, ta, tb):
    """Return the first ``t`` in ``[ta, tb]`` with the ray on or below quad ``(r, c)``.

    Over the quad the surface under the ray is linear in ``t`` on each side
    of the diagonal ``fu == fv``, so the gap between ray and surface is
    piecewise linear with at most one break, where the ray crosses the
    diagonal. The gap is evaluated at the span's ends and at that crossing,
    and the first piece whose gap falls to zero or below contains the root.
    ``tb`` must be finite.

    Returns:
        ``(t, triangle)``: the first hit parameter in metres and
        ``TRIANGLE_UPPER`` or ``TRIANGLE_LOWER``, or ``(inf, -1)``.
    """
    # Unsigned indices spare numba's negative-index wraparound code.
    row = np.uint64(r)
    col = np.uint64(c)
    south = row + np.uint64(1)
    east = col + np.uint64(1)
    h00 = np.float64(heights[row, col])
    h01 = np.float64(heights[row, east])
    h10 = np.float64(heights[south, col])
    h11 = np.float64(heights[south, east])
    fu_a = u0 + ta * du - c
    fv_a = v0 + ta * dv - r
    gap_a = oz + ta * dz - quad_height(h00, h01, h10, h11, fu_a, fv_a)
    g_a = fu_a - fv_a
    triangle_a = TRIANGLE_UPPER if g_a >= 0.0 else TRIANGLE_LOWER
    if gap_a <= 0.0:
        return ta, triangle_a
    fu_b = u0 + tb * du - c
    fv_b = v0 + tb * dv - r
    gap_b = oz + tb * dz - quad_height(h00, h01, h10, h11, fu_b, fv_b)
    g_b = fu_b - fv_b
    if (g_a >= 0.0) == (g_b >= 0.0):
        if gap_b <= 0.0:
            return _root(ta, gap_a, tb, gap_b), triangle_a
        return math.inf, -1
    # The span crosses the diagonal, where both triangles give h00 + f (h11 - h00).
    s = g_a / (g_a - g_b)
    t_d = ta + (tb - ta) * s
    f_d = fu_a + (fu_b - fu_a) * s
    gap_d = oz + t_d * dz - (h00 + f_d * (h11 - h00))
    if gap_d <= 0.0:
        return _root(ta, gap_a, t_d, gap_d), triangle_a
    if gap_b <= 0.0:
        return _root(t_d, gap_d, tb, gap_b), 1 - triangle_a
    return math.inf, -1


@njit(cache=True, inline="always")
def _footprint_slab(p0, inverse, pad, low, high, face_rising, face_falling):
    """Return ``(inside, enter, leave, face)`` of the ray on one axis's ``[low, high]``.

    ``face`` is the wall the ray enters through: ``face_rising`` when it
    moves towards higher coordinates, ``face_falling`` otherwise. With no
    motion along the axis, ``inside`` is whether ``p0`` lies in the range,
    and the interval is unbounded.
    """
    if pad == math.inf:
        return low <= p0 <= high, -math.inf, math.inf, face_rising
    t_low = (low - p0) * inverse
    t_high = (high - p0) * inverse
    if inverse > 0.0:
        return True, t_low, t_high, face_rising
    return True, t_high, t_low, face_falling


@njit(cache=True, inline="always")
def _intersect_column(rows, cols, rr, cc, top, grid_ray, oz, dz, ta, tb):
    """Return the first ``t`` in ``[ta, tb]`` inside the column of cell ``(rr, cc)``.

    The column is the box over the cell's footprint, clipped to the hull,
    from ``-inf`` up to ``top`` in metres. ``grid_ray`` is as for
    :func:`_block_exits`.

    Returns:
        ``(t, part)``: the hit parameter in metres and the face that the ray
        enters through (``COLUMN_TOP`` or a ``WALL_*`` code), or
        ``(inf, -1)``. A ray whose origin lies strictly inside the column
        reports ``COLUMN_TOP``.
    """
    u0, v0, inv_u, inv_v, pad_u, pad_v, _, _ = grid_ray
    t_enter = -math.inf
    part = COLUMN_TOP
    inside_u, enter_u, leave_u, face_u = _footprint_slab(
        u0,
        inv_u,
        pad_u,
        max(cc - 0.5, 0.0),
        min(cc + 0.5, cols - 1.0),
        WALL_WEST,
        WALL_EAST,
    )
    # v grows southward, so a ray moving south enters through the north wall.
    inside_v, enter_v, leave_v, face_v = _footprint_slab(
        v0,
        inv_v,
        pad_v,
        max(rr - 0.5, 0.0),
        min(rr + 0.5, rows - 1.0),
        WALL_NORTH,
        WALL_SOUTH,
    )
    if not (inside_u and inside_v):
        return math.inf, -1
    if enter_u > t_enter:
        t_enter = enter_u
        part = face_u
    if enter_v > t_enter:
        t_enter = enter_v
        part = face_v
    t_exit = min(leave_u, leave_v)

    if dz == 0.0:
        if oz > top:
            return math.inf, -1
    elif dz > 0.0:
        t_exit = min(t_exit, (top - oz) / dz)
    else:
        enter = (top - oz) / dz
        if enter > t_enter:
            t_enter = enter
            part = COLUMN_TOP

    if t_enter < 0.0:
        part = COLUMN_TOP
    t = max(t_enter, ta)
    if t > min(t_exit, tb):
        return math.inf, -1
    return t, part


@njit(cache=True, inline="always")
def _intersect_quad_columns(
    heights, structure_heights, r, c, grid_ray, oz, dz, ta, tb, z_low
):
    """Return the first column hit in ``[ta, tb]`` among the cells of quad ``(r, c)``.

    The footprints that overlap a quad are those of its four corner cells.
    ``grid_ray`` is as for :func:`_block_exits`. A column whose top lies
    below ``z_low``, the lowest ray height over the span, cannot be hit and
    is not intersected.

    Returns:
        ``(t, part, row, col)`` of the cell hit, or ``(inf, -1, -1, -1)``.
    """
    rows, cols = heights.shape
    t_best = math.inf
    part_best = -1
    row_best = -1
    col_best = -1
    for rr in range(r, r + 2):
        for cc in range(c, c + 2):
            row = np.uint64(rr)
            col = np.uint64(cc)
            height = np.float64(structure_heights[row, col])
            if not (height > 0.0):
                continue
            top = np.float64(heights[row, col]) + height
            if z_low > top:
                continue
            t, part = _intersect_column(
                rows, cols, rr, cc, top, grid_ray, oz, dz, ta, tb
            )
            if t < t_best:
                t_best = t
                part_best = part
                row_best = rr
                col_best = cc
    return t_best, part_best, row_best, col_best


@njit(cache=True, inline="always")
def _finite_reach(heights, r, c, oz, dz, t_in):
    """Return a finite end for a ray that never leaves the hull sideways.

    Such a ray has (almost) no horizontal motion, so it stays over quad
    ``(r, c)``. Rising, it can only hit at its start. Falling, it is below
    the quad's lowest corner, and so below the surface, one metre after
    passing it.
    """
    if dz >= 0.0:
        return t_in
    lowest = min(
        np.float64(heights[r, c]),
        np.float64(heights[r, c + 1]),
        np.float64(heights[r + 1, c]),
        np.float64(heights[r + 1, c + 1]),
    )
    return t_in + max(oz + t_in * dz - lowest, 0.0) / -dz + 1.0


@njit(cache=True, inline="always")
def _block_exits(block_c, block_r, size, grid_ray, t_a):
    """Return where the ray crosses the exit lines of a block of ``size`` quads.

    ``grid_ray`` is ``(u0, v0, inv_u, inv_v, pad_u, pad_v, off_c, off_r)``
    from the walk's set-up. The crossings come from the integer grid lines,
    so a line that blocks of several levels share gets the same parameter at
    each. They are clamped to at least ``t_a``, the ray's entry into the
    block, against rounding.
    """
    u0, v0, inv_u, inv_v, pad_u, pad_v, off_c, off_r = grid_ray
    t_c = ((block_c + off_c) * size - u0) * inv_u + pad_u
    t_r = ((block_r + off_r) * size - v0) * inv_v + pad_v
    return max(t_c, t_a), max(t_r, t_a)


@njit(cache=True, inline="always")
def _block_top(level_1, level_2, level_3, level, block_r, block_c):
    """Return the maximum height of a block of pyramid level 1, 2 or 3."""
    # Unsigned indices spare numba's negative-index wraparound code.
    row = np.uint64(block_r)
    col = np.uint64(block_c)
    if level == 3:
        return level_3[row, col]
    if level == 2:
        return level_2[row, col]
    return level_1[row, col]


@njit(cache=True, inline="always")
def _climb(
    level_1,
    level_2,
    level_3,
    top_level,
    level,
    size,
    block_r,
    block_c,
    old_r,
    old_c,
    t_next_c,
    t_next_r,
    grid_ray,
    oz,
    dz,
    t_a,
    t_out,
):
    """Move the walk up the pyramid while the ray passes over the parent block.

    The walk has just entered block ``(block_r, block_c)`` of ``level`` at
    ``t_a``, coming from block ``(old_r, old_c)``. A parent block is tested
    only when the walk entered it just now, because one it was already in
    held something the ray could reach. ``grid_ray`` is as for
    :func:`_block_exits`.

    Returns:
        ``(level, size, block_r, block_c, t_next_c, t_next_r)`` of the level
        the walk goes on at, unchanged when no parent can be skipped.
    """
    while level < top_level:
        parent_r = block_r >> PYRAMID_SHIFT
        parent_c = block_c >> PYRAMID_SHIFT
        if parent_r == (old_r >> PYRAMID_SHIFT) and parent_c == (
            old_c >> PYRAMID_SHIFT
        ):
            break
        top = _block_top(level_1, level_2, level_3, level + 1, parent_r, parent_c)
        # The ray's lowest point over the block is no higher than where it
        # is now, so most blocks fail here, before the exit is computed.
        if not (oz + t_a * dz > top):
            break
        parent_size = size << PYRAMID_SHIFT
        exit_c, exit_r = _block_exits(parent_c, parent_r, parent_size, grid_ray, t_a)
        t_exit = min(exit_c, exit_r, t_out)
        if not (oz + t_exit * dz > top):
            break
        level += 1
        size = parent_size
        old_r >>= PYRAMID_SHIFT
        old_c >>= PYRAMID_SHIFT
        block_r = parent_r
        block_c = parent_c
        t_next_c = exit_c
        t_next_r = exit_r
    return level, size, block_r, block_c, t_next_c, t_next_r


@njit(cache=True, inline="always")
def _descend(level, block_r, block_c, grid_ray, du, dv, t_a, rows, cols):
    """Move the walk one level down, into the sub-block under the ray at ``t_a``.

    The sub-block is clamped to the current block against rounding.
    ``grid_ray`` is as for :func:`_block_exits`, and ``du``, ``dv`` are the
    ray's grid motion per unit of ``t``.

    Returns:
        ``(level, size, block_r, block_c, t_next_c, t_next_r)`` at the level
        below.
    """
    u0 = grid_ray[0]
    v0 = grid_ray[1]
    shift = level * PYRAMID_SHIFT
    c = _first_quad_index(u0 + t_a * du, du, cols - 1)
    r = _first_quad_index(v0 + t_a * dv, dv, rows - 1)
    c = min(max(c, block_c << shift), ((block_c + 1) << shift) - 1)
    r = min(max(r, block_r << shift), ((block_r + 1) << shift) - 1)
    level -= 1
    shift = level * PYRAMID_SHIFT
    size = 1 << shift
    block_r = r >> shift
    block_c = c >> shift
    t_next_c, t_next_r = _block_exits(block_c, block_r, size, grid_ray, t_a)
    return level, size, block_r, block_c, t_next_c, t_next_r


@njit(cache=True, inline="always")
def _test_quad(
    heights,
    structure_heights,
    has_structures,
    quad_max,
    use_pyramid,
    r,
    c,
    grid_ray,
    du,
    dv,
    oz,
    dz,
    t_a,
    t_b,
    z_low,
):
    """Return the first hit in ``[t_a, t_b]`` on quad ``(r, c)`` or its columns.

    ``z_low`` is the ray's lowest height over the span. Per quad the terrain
    and the columns have their own maximum in ``quad_max`` (pyramid level
    0), so a ray over a low roof skips the plane test and one over bare
    ground the columns.

    Returns:
        ``(t, part, row, col)`` as ``walk_ray`` reports them, with
        ``t = inf`` and ``part = -1`` for no hit.
    """
    test_terrain = True
    test_columns = has_structures
    if use_pyramid:
        quad_r = np.uint64(r)
        test_terrain = not (z_low > quad_max[quad_r, np.uint64(2 * c)])
        test_columns = not (z_low > quad_max[quad_r, np.uint64(2 * c + 1)])
    t_hit = math.inf
    part = -1
    hit_r = r
    hit_c = c
    if test_terrain:
        t_hit, part = _intersect_quad(
            heights, r, c, grid_ray[0], grid_ray[1], du, dv, oz, dz, t_a, t_b
        )
    if test_columns:
        t_col, part_col, row_col, col_col = _intersect_quad_columns(
            heights, structure_heights, r, c, grid_ray, oz, dz, t_a, t_b, z_low
        )
        if t_col < t_hit:
            t_hit = t_col
            part = part_col
            hit_r = row_col
            hit_c = col_col
    return t_hit, part, hit_r, hit_c


@njit(cache=True, inline="always")
def _next_block(
    block_r, block_c, shift, t_next_c, t_next_r, t_b, walk_steps, rows, cols
):
    """Step to the next block of the level whose blocks are ``2**shift`` quads wide.

    ``walk_steps`` is ``(span_c, span_r, step_c, step_r)``: the ray's ``t``
    per quad along each axis and the index change when it crosses a line.
    Selects rather than branches pick the axes crossed, because for a
    diagonal ray that is a coin toss that a branch predictor would often
    miss.

    Returns:
        ``(inside, block_r, block_c, t_next_c, t_next_r)``, where ``inside``
        is false once the ray has left the grid.
    """
    span_c, span_r, step_c, step_r = walk_steps
    size = 1 << shift
    cross_c = t_next_c <= t_b
    cross_r = t_next_r <= t_b
    next_c = block_c + step_c if cross_c else block_c
    next_r = block_r + step_r if cross_r else block_r
    t_next_c = t_next_c + span_c * size if cross_c else t_next_c
    t_next_r = t_next_r + span_r * size if cross_r else t_next_r
    inside = not (
        next_c < 0
        or next_c > (cols - 2) >> shift
        or next_r < 0
        or next_r > (rows - 2) >> shift
    )
    return inside, next_r, next_c, t_next_c, t_next_r


@njit(cache=True, inline="always")
def _skip_clear_quads(
    quad_max, level_1, walk, t_stop, t_out, oz, dz, walk_steps, shape
):
    """Step over the quads that the ray passes over, from the walk's current quad.

    This is the walk's most frequent step, so it takes one compare against
    the quad's maximum in ``quad_max``. ``walk`` is ``(block_r, block_c,
    t_next_c, t_next_r, t_a, t_b, steps)`` at level 0, with ``t_a`` and
    ``t_b`` bounding the ray over the current quad. It stops on a quad that
    the ray may touch, where ``t_b`` reaches ``t_stop``, at the grid's edge,
    and on entering a level-1 block whose top lies below the ray, where the
    general step may climb. ``t_out`` is where the walk ends, ``walk_steps``
    is as for :func:`_next_block` and ``shape`` is ``(rows, cols)``. A
    ``t_stop`` of ``-inf`` skips nothing.

    Returns:
        ``walk`` at the quad where it stopped, with one step counted per
        quad passed.
    """
    block_r, block_c, t_next_c, t_next_r, t_a, t_b, steps = walk
    rows, cols = shape
    span_c, span_r, step_c, step_r = walk_steps
    while t_b < t_stop:
        z_low = min(oz + t_a * dz, oz + t_b * dz)
        quad_r = np.uint64(block_r)
        quad_c = np.uint64(2 * block_c)
        top = max(quad_max[quad_r, quad_c], quad_max[quad_r, quad_c + 1])
        if not (z_low > top):
            break
        cross_c = t_next_c <= t_b
        cross_r = t_next_r <= t_b
        next_c = block_c + step_c if cross_c else block_c
        next_r = block_r + step_r if cross_r else block_r
        # Unsigned compares also reject an index of -1.
        if np.uint64(next_c) > np.uint64(cols - 2) or np.uint64(next_r) > np.uint64(
            rows - 2
        ):
            break
        parent_r = next_r >> PYRAMID_SHIFT
        parent_c = next_c >> PYRAMID_SHIFT
        if (
            parent_r != block_r >> PYRAMID_SHIFT or parent_c != block_c >> PYRAMID_SHIFT
        ) and oz + t_b * dz > level_1[np.uint64(parent_r), np.uint64(parent_c)]:
            break
        steps += 1
        t_next_c = t_next_c + span_c if cross_c else t_next_c
        t_next_r = t_next_r + span_r if cross_r else t_next_r
        block_c = next_c
        block_r = next_r
        t_a = t_b
        t_b = min(t_next_c, t_next_r, t_out)
    return block_r, block_c, t_next_c, t_next_r, t_a, t_b, steps


@njit(cache=True, inline="always")
def walk_ray(
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
    dx,
    dy,
    dz,
    max_range,
):
    """Cast one ray against the terrain and its columns and return the first hit.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), float32 or
            float64, rows >= 2 and cols >= 2.
        structure_heights: Column heights above the cell-centre height in
            metres, shape (rows, cols), >= 0; 0 means no column. Read only
            when ``has_structures`` is true.
        has_structures: Whether any column exists.
        pyramid: Tuple of ``PYRAMID_LEVELS`` float32 grids in metres from
            ``_pyramid.build_pyramid``. Index 0 holds per quad ``(r, c)`` the
            maximum terrain height at ``[r, 2 c]`` and the highest column
            top of its four corner cells (``-inf`` where none) at
            ``[r, 2 c + 1]``. Index ``k`` >= 1 holds the maximum solid
            height per block of ``4**k`` x ``4**k`` quads. Read only when
            ``use_pyramid`` is true.
        use_pyramid: Whether to skip quads and blocks that the ray passes
            over. Ranges differ only by rounding (``docs/surface.md``).
        x_first: Local x of the centre of column 0, in metres.
        y_first: Local y of the centre of row 0, in metres.
        cell_size: Cell edge length in metres, > 0.
        ox: Ray origin local x (east) in metres, finite.
        oy: Ray origin local y (north) in metres, finite.
        oz: Ray origin z (up) in metres, finite.
        dx: Direction x of a unit vector, from ``normalize_direction``.
        dy: Direction y.
        dz: Direction z.
        max_range: Maximum range in metres, >= 0; may be ``inf``.

    Returns:
        ``(range_m, part, row, col, steps)``: the distance to the hit in
        metres (``inf`` on a miss); ``TRIANGLE_UPPER`` or ``TRIANGLE_LOWER``
        with the quad's row and column for a terrain hit, or ``COLUMN_TOP``
        or a ``WALL_*`` code with the cell's row and column for a column hit
        (``-1`` for all three on a miss); and the number of walk steps, each
        a quad tested exactly or a block skipped.
    """
    shape = heights.shape
    rows, cols = shape
    u0 = (ox - x_first) / cell_size
    v0 = (y_first - oy) / cell_size
    du = dx / cell_size
    dv = -dy / cell_size
    inv_u, pad_u, off_c, step_c = _axis_walk(du)
    inv_v, pad_v, off_r, step_r = _axis_walk(dv)
    grid_ray = (u0, v0, inv_u, inv_v, pad_u, pad_v, off_c, off_r)

    tu_in, tu_out = _hull_interval(u0, inv_u, pad_u, cols - 1.0)
    tv_in, tv_out = _hull_interval(v0, inv_v, pad_v, rows - 1.0)
    t_in = max(tu_in, tv_in, 0.0)
    t_out = min(tu_out, tv_out, max_range)
    # An entry at t_in == inf means the ray reaches the hull only beyond any
    # representable distance, which happens for a tiny horizontal component.
    if not (t_in <= t_out) or t_in == math.inf:
        return math.inf, -1, -1, -1, 0

    c = _first_quad_index(u0 + t_in * du, du, cols - 1)
    r = _first_quad_index(v0 + t_in * dv, dv, rows - 1)
    if t_out == math.inf:
        t_out = _finite_reach(heights, r, c, oz, dz, t_in)
    quad_max = pyramid[0]
    level_1 = pyramid[1]
    level_2 = pyramid[2]
    level_3 = pyramid[3]
    top_level = PYRAMID_LEVELS - 1 if use_pyramid else 0
    walk_steps = (abs(inv_u), abs(inv_v), step_c, step_r)

    # The walk is a 2-D DDA over the blocks of one pyramid level at a time,
    # level 0 being the quads. A block that the ray passes over is skipped,
    # and the walk goes on at the same level. On entering a new parent
    # block it climbs if the ray passes over that one too. A block that the
    # ray may touch sends it one level down, into the sub-block under the
    # ray. Crossings are computed from the grid lines whenever the level
    # changes and carried forward by one block's span in between.
    t_next_c, t_next_r = _block_exits(c, r, 1, grid_ray, t_in)
    # Climb from the quad under the entry point as high as the ray passes
    # over; -1 as the previous block makes every level's block new.
    level, size, block_r, block_c, t_next_c, t_next_r = _climb(
        level_1,
        level_2,
        level_3,
        top_level,
        0,
        1,
        r,
        c,
        -1,
        -1,
        t_next_c,
        t_next_r,
        grid_ray,
        oz,
        dz,
        t_in,
        t_out,
    )
    shift = level * PYRAMID_SHIFT
    steps = 0
    t_a = t_in
    while True:
        t_b = min(t_next_c, t_next_r, t_out)
        if level > 0:
            z_low = min(oz + t_a * dz, oz + t_b * dz)
            top = _block_top(level_1, level_2, level_3, level, block_r, block_c)
            if not (z_low > top):
                level, size, block_r, block_c, t_next_c, t_next_r = _descend(
                    level, block_r, block_c, grid_ray, du, dv, t_a, rows, cols
                )
                shift = level * PYRAMID_SHIFT
                continue
            steps += 1
        else:
            walk = (block_r, block_c, t_next_c, t_next_r, t_a, t_b, steps)
            t_stop = t_out if use_pyramid else -math.inf
            walk = _skip_clear_quads(
                quad_max, level_1, walk, t_stop, t_out, oz, dz, walk_steps, shape
            )
            block_r, block_c, t_next_c, t_next_r, t_a, t_b, steps = walk
            z_low = min(oz + t_a * dz, oz + t_b * dz)
            steps += 1
            t_hit, part, hit_r, hit_c = _test_quad(
                heights,
                structure_heights,
                has_structures,
                quad_max,
                use_pyramid,
                block_r,
                block_c,
                grid_ray,
                du,
                dv,
                oz,
                dz,
                t_a,
                t_b,
                z_low,
            )
            if t_hit < math.inf:
                return t_hit, part, hit_r, hit_c, steps

        if t_b >= t_out:
            break
        inside, next_r, next_c, t_next_c, t_next_r = _next_block(
            block_r,
            block_c,
            shift,
            t_next_c,
            t_next_r,
            t_b,
            walk_steps,
            rows,
            cols,
        )
        if not inside:
            break
        t_a = t_b
        level, size, block_r, block_c, t_next_c, t_next_r = _climb(
            level_1,
            level_2,
            level_3,
            top_level,
            level,
            size,
            next_r,
            next_c,
            block_r,
            block_c,
            t_next_c,
            t_next_r,
            grid_ray,
            oz,
            dz,
            t_a,
            t_out,
        )
        shift = level * PYRAMID_SHIFT
    return math.inf, -1, -1, -1, steps


@njit(cache=True)
def cast_ray(heights, x_first, y_first, cell_size, ox, oy, oz, dx, dy, dz, max_range):
    """Return the range in metres to the first terrain hit of one ray, inf on a miss.

    This is the entry point for other numba code, for example the simulation
    core. It intersects the bare terrain only, without columns or moving
    shapes, and walks quad by quad. Heights are in metres with shape (rows, cols),
    and the grid origin and cell size are in metres. The origin is in local
    metres (x east, y north, z up), the direction may have any nonzero length
    and ``max_range`` is in metres. An origin on or below the surface returns
    0. A zero direction or a non-finite origin returns ``inf`` rather than
    raising.
    """
    dx, dy, dz = normalize_direction(dx, dy, dz)
    if dx == 0.0 and dy == 0.0 and dz == 0.0:
        return math.inf
    if not (math.isfinite(ox) and math.isfinite(oy) and math.isfinite(oz)):
        return math.inf
    # The pyramid is never read with use_pyramid False, so the heights stand
    # in for its grids rather than an array allocated at every call.
    no_pyramid = (heights, heights, heights, heights)
    t, _, _, _, _ = walk_ray(
        heights,
        heights,
        False,
        no_pyramid,
        False,
        x_first,
        y_first,
        cell_size,
        ox,
        oy,
        oz,
        dx,
        dy,
        dz,
        max_range,
    )
    return t
