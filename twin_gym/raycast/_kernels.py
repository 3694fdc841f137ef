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

MISS_CLASS = 255
"""Value of ``surface_class`` for a ray that hit nothing."""

NO_DATA_CLASS = 6
"""``SurfaceClass.NO_DATA``, repeated here because numba cannot read an enum."""

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
"""Levels of the max-height pyramid, level 0 being one quad."""

PYRAMID_SHIFT = 2
"""Each pyramid level merges ``2**PYRAMID_SHIFT`` blocks per axis (4 x 4)."""


@njit(cache=True)
def normalize_direction(dx, dy, dz):
    """Return the unit vector of ``(dx, dy, dz)``, or zeros for a zero vector.

    The components are scaled by their maximum magnitude first, so very small
    or very large vectors neither underflow nor overflow. A non-finite input
    also returns zeros, which the callers treat as a miss.
    """
    scale = max(abs(dx), abs(dy), abs(dz))
    if not (scale > 0.0) or not math.isfinite(scale):
        return 0.0, 0.0, 0.0
    dx /= scale
    dy /= scale
    dz /= scale
    norm = math.sqrt(dx * dx + dy * dy + dz * dz)
    return dx / norm, dy / norm, dz / norm


@njit(cache=True)
def _slab_interval(p0, dp, upper):
    """Return the ``t`` interval where ``p0 + t * dp`` lies in ``[0, upper]``.

    Returns ``(1.0, 0.0)``, an empty interval, when ``dp == 0`` and ``p0`` is
    outside the range.
    """
    if dp == 0.0:
        if 0.0 <= p0 <= upper:
            return -math.inf, math.inf
        return 1.0, 0.0
    ta = (0.0 - p0) / dp
    tb = (upper - p0) / dp
    if ta > tb:
        return tb, ta
    return ta, tb


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


@njit(cache=True)
def _plane_gap(heights, r, c, triangle, u0, v0, du, dv, oz, dz, t):
    """Return ray height minus the plane of one triangle at ``t``, and its rate.

    The plane is extended beyond the triangle, so the gap is linear in ``t``
    with the returned rate (metres per metre of ray). Corners are cast with
    ``np.float64`` because numba types ``float()`` of a float32 as float32.
    """
    h00 = np.float64(heights[r, c])
    h01 = np.float64(heights[r, c + 1])
    h10 = np.float64(heights[r + 1, c])
    h11 = np.float64(heights[r + 1, c + 1])
    if triangle == TRIANGLE_UPPER:
        rise_u = h01 - h00
        rise_v = h11 - h01
    else:
        rise_u = h11 - h10
        rise_v = h10 - h00
    fu = u0 + t * du - c
    fv = v0 + t * dv - r
    # The term order matches quad_height, so at t = 0 the gap is exactly the
    # origin height minus surface_height_f64 when both pick the same triangle.
    if triangle == TRIANGLE_UPPER:
        z_plane = h00 + fu * rise_u + fv * rise_v
    else:
        z_plane = h00 + fv * rise_v + fu * rise_u
    return oz + t * dz - z_plane, dz - (du * rise_u + dv * rise_v)


@njit(cache=True)
def _intersect_triangle_span(heights, r, c, triangle, u0, v0, du, dv, oz, dz, ta, tb):
    """Return the first ``t`` in ``[ta, tb]`` with the ray on or below one plane.

    Returns ``inf`` when the ray stays above the plane over the whole span.
    The gap to the plane is linear in ``t``, so its root is exact up to
    rounding. ``tb`` may be ``inf``, which happens for a vertical ray with no
    range limit.
    """
    gap_a, rate = _plane_gap(heights, r, c, triangle, u0, v0, du, dv, oz, dz, ta)
    if gap_a <= 0.0:
        return ta
    if rate >= 0.0:
        return math.inf
    t = ta + gap_a / -rate
    if t > tb:
        return math.inf
    return t


@njit(cache=True)
def _intersect_quad(heights, r, c, u0, v0, du, dv, oz, dz, ta, tb):
    """Intersect the ray span ``[ta, tb]`` with the two triangles of quad ``(r, c)``.

    The span is split where the ray crosses the quad's diagonal ``fu == fv``,
    so each piece lies over one triangle.

    Returns:
        ``(t, triangle)``: the first hit parameter in metres and
        ``TRIANGLE_UPPER`` or ``TRIANGLE_LOWER``, or ``(inf, -1)``.
    """
    # g(t) = fu - fv is positive over the upper triangle.
    g0 = (u0 - c) - (v0 - r)
    dg = du - dv
    t_split = math.inf
    if dg != 0.0:
        t_diag = -g0 / dg
        if ta < t_diag < tb:
            t_split = t_diag

    t_start = ta
    t_end = min(t_split, tb)
    for _ in range(2):
        # g keeps one sign inside each piece, so any interior point picks the
        # triangle. An unbounded piece uses a point 1 m past its start.
        if t_end == math.inf:
            t_mid = t_start + 1.0
        else:
            t_mid = 0.5 * (t_start + t_end)
        g_mid = g0 + t_mid * dg
        triangle = TRIANGLE_UPPER if g_mid >= 0.0 else TRIANGLE_LOWER
        t_hit = _intersect_triangle_span(
            heights, r, c, triangle, u0, v0, du, dv, oz, dz, t_start, t_end
        )
        if t_hit < math.inf:
            return t_hit, triangle
        if t_end >= tb:
            break
        t_start = t_end
        t_end = tb
    return math.inf, -1


@njit(cache=True)
def _intersect_column(
    heights, structure_heights, rr, cc, u0, v0, du, dv, oz, dz, ta, tb
):
    """Return the first ``t`` in ``[ta, tb]`` inside the column of cell ``(rr, cc)``.

    The column is the box over the cell's footprint, clipped to the hull,
    from ``-inf`` up to ``heights + structure_heights`` (in float64). Cells
    with a structure height of 0 have no column.

    Returns:
        ``(t, part)``: the hit parameter in metres and the face that the ray
        enters through (``COLUMN_TOP`` or a ``WALL_*`` code), or
        ``(inf, -1)``. A ray whose origin lies strictly inside the column
        reports ``COLUMN_TOP``.
    """
    height = np.float64(structure_heights[rr, cc])
    if not (height > 0.0):
        return math.inf, -1
    rows, cols = heights.shape
    top = np.float64(heights[rr, cc]) + height
    t_enter = -math.inf
    t_exit = math.inf
    part = COLUMN_TOP

    u_low = max(cc - 0.5, 0.0)
    u_high = min(cc + 0.5, cols - 1.0)
    if du == 0.0:
        if not (u_low <= u0 <= u_high):
            return math.inf, -1
    else:
        t_low = (u_low - u0) / du
        t_high = (u_high - u0) / du
        if du > 0.0:
            enter, leave, face = t_low, t_high, WALL_WEST
        else:
            enter, leave, face = t_high, t_low, WALL_EAST
        if enter > t_enter:
            t_enter = enter
            part = face
        t_exit = min(t_exit, leave)

    # v grows southward, so a ray moving south enters through the north wall.
    v_low = max(rr - 0.5, 0.0)
    v_high = min(rr + 0.5, rows - 1.0)
    if dv == 0.0:
        if not (v_low <= v0 <= v_high):
            return math.inf, -1
    else:
        t_low = (v_low - v0) / dv
        t_high = (v_high - v0) / dv
        if dv > 0.0:
            enter, leave, face = t_low, t_high, WALL_NORTH
        else:
            enter, leave, face = t_high, t_low, WALL_SOUTH
        if enter > t_enter:
            t_enter = enter
            part = face
        t_exit = min(t_exit, leave)

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


@njit(cache=True)
def _intersect_quad_columns(
    heights, structure_heights, r, c, u0, v0, du, dv, oz, dz, ta, tb
):
    """Return the first column hit in ``[ta, tb]`` among the cells of quad ``(r, c)``.

    The footprints that overlap a quad are those of its four corner cells.

    Returns:
        ``(t, part, row, col)`` of the cell hit, or ``(inf, -1, -1, -1)``.
    """
    t_best = math.inf
    part_best = -1
    row_best = -1
    col_best = -1
    for rr in range(r, r + 2):
        for cc in range(c, c + 2):
            t, part = _intersect_column(
                heights, structure_heights, rr, cc, u0, v0, du, dv, oz, dz, ta, tb
            )
            if t < t_best:
                t_best = t
                part_best = part
                row_best = rr
                col_best = cc
    return t_best, part_best, row_best, col_best


@njit(cache=True)
def _lowest_ray_height(oz, dz, ta, tb):
    """Return the minimum of ``oz + t * dz`` over ``[ta, tb]``; ``tb`` may be inf."""
    if dz >= 0.0:
        return oz + ta * dz
    return oz + tb * dz


@njit(cache=True)
def _line_crossing(p0, dp, index, size):
    """Return ``t`` where a ray leaves block ``index`` of ``size`` quads on one axis.

    The boundary parameter comes straight from the integer grid line, so the
    quad walk and the block skips compute bitwise identical crossings. It is
    a quotient like the hull crossings of ``_slab_interval``, so a ray that
    leaves the hull there leaves its last quad at the same ``t``.
    """
    if dp > 0.0:
        return ((index + 1) * size - p0) / dp
    if dp < 0.0:
        return (index * size - p0) / dp
    return math.inf


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
        pyramid: Tuple of ``PYRAMID_LEVELS + 1`` float32 grids in metres
            from ``_pyramid.build_pyramid``. Index 0 contains the maximum
            terrain height per quad, shape (rows - 1, cols - 1). Index ``k``
            in 1 to 3 contains the maximum solid height per block of ``4**k`` x
            ``4**k`` quads. The last holds, per quad, the highest column top
            of its four corner cells, ``-inf`` where none. Read only when
            ``use_pyramid`` is true.
        use_pyramid: Whether to skip quads and blocks that the ray passes
            over. The result is the same either way.
        x_first: Local x of the centre of column 0, in metres.
        y_first: Local y of the centre of row 0, in metres.
        cell_size: Cell edge length in metres, > 0.
        ox: Ray origin local x (east) in metres.
        oy: Ray origin local y (north) in metres.
        oz: Ray origin z (up) in metres.
        dx: Direction x, any nonzero length.
        dy: Direction y.
        dz: Direction z.
        max_range: Maximum range in metres, >= 0; may be ``inf``.

    Returns:
        ``(range_m, part, row, col, steps)``: the distance to the hit in
        metres (``inf`` on a miss); ``TRIANGLE_UPPER`` or ``TRIANGLE_LOWER``
        with the quad's row and column for a terrain hit, or ``COLUMN_TOP``
        or a ``WALL_*`` code with the cell's row and column for a column hit
        (``-1`` for all three on a miss); and the number of walk steps, each
        a quad tested exactly or a block skipped. A zero or non-finite
        direction and a non-finite origin are misses.
    """
    rows, cols = heights.shape
    dx, dy, dz = normalize_direction(dx, dy, dz)
    if dx == 0.0 and dy == 0.0 and dz == 0.0:
        return math.inf, -1, -1, -1, 0
    if not (math.isfinite(ox) and math.isfinite(oy) and math.isfinite(oz)):
        return math.inf, -1, -1, -1, 0

    u0 = (ox - x_first) / cell_size
    v0 = (y_first - oy) / cell_size
    du = dx / cell_size
    dv = -dy / cell_size

    tu_in, tu_out = _slab_interval(u0, du, cols - 1.0)
    tv_in, tv_out = _slab_interval(v0, dv, rows - 1.0)
    t_in = max(tu_in, tv_in, 0.0)
    t_out = min(tu_out, tv_out, max_range)
    # An entry at t_in == inf means the ray reaches the hull only beyond any
    # representable distance, which happens for a tiny horizontal component.
    if not (t_in <= t_out) or t_in == math.inf:
        return math.inf, -1, -1, -1, 0

    c = _first_quad_index(u0 + t_in * du, du, cols - 1)
    r = _first_quad_index(v0 + t_in * dv, dv, rows - 1)
    step_c = 1 if du > 0.0 else -1
    step_r = 1 if dv > 0.0 else -1

    steps = 0
    # The quad of the previous step. A block is tested only when the ray
    # reaches a block other than the previous quad's, because a block that
    # could not be skipped from an earlier point rarely can be later.
    r_prev = -1
    c_prev = -1
    t_a = t_in
    while True:
        if use_pyramid:
            skipped = False
            for level in range(PYRAMID_LEVELS - 1, 0, -1):
                shift = level * PYRAMID_SHIFT
                block_r = r >> shift
                block_c = c >> shift
                if block_r == (r_prev >> shift) and block_c == (c_prev >> shift):
                    continue
                size = 1 << shift
                t_exit_c = _line_crossing(u0, du, block_c, size)
                t_exit_r = _line_crossing(v0, dv, block_r, size)
                t_exit = min(t_exit_c, t_exit_r, t_out)
                z_low = _lowest_ray_height(oz, dz, t_a, t_exit)
                if not (z_low > pyramid[level][block_r, block_c]):
                    continue
                steps += 1
                if t_exit >= t_out:
                    return math.inf, -1, -1, -1, steps
                r_prev = r
                c_prev = c
                if t_exit_c <= t_exit:
                    c = (block_c + 1) * size if du > 0.0 else block_c * size - 1
                else:
                    c = _first_quad_index(u0 + t_exit * du, du, cols - 1)
                    c = min(max(c, block_c * size), (block_c + 1) * size - 1)
                if t_exit_r <= t_exit:
                    r = (block_r + 1) * size if dv > 0.0 else block_r * size - 1
                else:
                    r = _first_quad_index(v0 + t_exit * dv, dv, rows - 1)
                    r = min(max(r, block_r * size), (block_r + 1) * size - 1)
                t_a = t_exit
                skipped = True
                break
            if skipped:
                if c < 0 or c > cols - 2 or r < 0 or r > rows - 2:
                    return math.inf, -1, -1, -1, steps
                continue

        steps += 1
        t_next_c = _line_crossing(u0, du, c, 1)
        t_next_r = _line_crossing(v0, dv, r, 1)
        t_b = max(min(t_next_c, t_next_r, t_out), t_a)

        # Level 0 keeps the terrain and the columns apart, so a ray over a
        # low roof skips the plane test and one over bare ground the columns.
        test_terrain = True
        test_columns = has_structures
        if use_pyramid:
            z_low = _lowest_ray_height(oz, dz, t_a, t_b)
            test_terrain = not (z_low > pyramid[0][r, c])
            test_columns = not (z_low > pyramid[PYRAMID_LEVELS][r, c])
        t_hit = math.inf
        part = -1
        hit_r = r
        hit_c = c
        if test_terrain:
            t_hit, part = _intersect_quad(
                heights, r, c, u0, v0, du, dv, oz, dz, t_a, t_b
            )
        if test_columns:
            t_col, part_col, row_col, col_col = _intersect_quad_columns(
                heights, structure_heights, r, c, u0, v0, du, dv, oz, dz, t_a, t_b
            )
            if t_col < t_hit:
                t_hit = t_col
                part = part_col
                hit_r = row_col
                hit_c = col_col
        if t_hit < math.inf:
            return t_hit, part, hit_r, hit_c, steps
        if t_b >= t_out:
            break
        r_prev = r
        c_prev = c
        if t_next_c <= t_b:
            c += step_c
        if t_next_r <= t_b:
            r += step_r
        if c < 0 or c > cols - 2 or r < 0 or r > rows - 2:
            break
        t_a = t_b
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
    no_pyramid = (heights, heights, heights, heights, heights)
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
