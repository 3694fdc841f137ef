"""Numba kernels that intersect rays with the triangulated terrain surface.

The surface model is described in ``_surface.py`` and ``docs/surface.md``.
Rays are walked in grid coordinates ``u = (x - x_first) / cell_size`` (column
index) and ``v = (y_first - y) / cell_size`` (row index), so quad ``(r, c)``
covers ``u`` in ``[c, c + 1]`` and ``v`` in ``[r, r + 1]``. The ray parameter
``t`` is the distance along the unit direction in metres throughout.

The terrain is treated as a solid below the surface. A ray hits at the
smallest ``t`` in ``[0, max_range]`` whose point lies inside the vertical
prism over the hull of the cell centres and on or below the surface. That
covers an origin below the surface (range 0) and a ray that enters the hull
from outside below the edge height (hit at the entry point).

Every function here takes plain scalars and arrays so the simulation core can
call them from its own numba code.
"""

import math

import numpy as np
from numba import njit, prange

from twin_gym.raycast._surface import quad_height

MISS_CLASS = 255
"""Value of ``surface_class`` for a ray that hit nothing."""

NO_DATA_CLASS = 6
"""``SurfaceClass.NO_DATA``, repeated here because numba cannot read an enum."""

TRIANGLE_UPPER = 0
"""Triangle ``(r, c), (r, c + 1), (r + 1, c + 1)`` of a quad, where ``fu >= fv``."""

TRIANGLE_LOWER = 1
"""Triangle ``(r, c), (r + 1, c), (r + 1, c + 1)`` of a quad, where ``fv > fu``."""


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
def cast_ray_full(
    heights, x_first, y_first, cell_size, ox, oy, oz, dx, dy, dz, max_range
):
    """Cast one ray and return the hit range and the quad and triangle it hit.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), float32 or
            float64, rows >= 2 and cols >= 2.
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
        ``(range_m, r, c, triangle)``: the distance from the origin to the hit
        in metres (``inf`` on a miss), the quad's row and column and the
        triangle (``TRIANGLE_UPPER`` or ``TRIANGLE_LOWER``), or ``-1`` for all
        three on a miss. A zero or non-finite direction and a non-finite
        origin are misses.
    """
    rows, cols = heights.shape
    dx, dy, dz = normalize_direction(dx, dy, dz)
    if dx == 0.0 and dy == 0.0 and dz == 0.0:
        return math.inf, -1, -1, -1
    if not (math.isfinite(ox) and math.isfinite(oy) and math.isfinite(oz)):
        return math.inf, -1, -1, -1

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
        return math.inf, -1, -1, -1

    u_in = u0 + t_in * du
    v_in = v0 + t_in * dv
    c = _first_quad_index(u_in, du, cols - 1)
    r = _first_quad_index(v_in, dv, rows - 1)

    step_c = 1 if du > 0.0 else -1
    step_r = 1 if dv > 0.0 else -1

    # Boundary parameters come straight from the integer grid lines, so no
    # rounding error accumulates over a long walk.
    t_a = t_in
    while True:
        t_next_c = math.inf
        if du > 0.0:
            t_next_c = (c + 1 - u0) / du
        elif du < 0.0:
            t_next_c = (c - u0) / du
        t_next_r = math.inf
        if dv > 0.0:
            t_next_r = (r + 1 - v0) / dv
        elif dv < 0.0:
            t_next_r = (r - v0) / dv
        t_b = min(t_next_c, t_next_r, t_out)
        t_b = max(t_b, t_a)

        # NOTE: flat-topped structure columns and a max-height pyramid are not
        # modelled yet. Both fit here as tests on the span [t_a, t_b] before
        # or instead of the exact quad intersection.
        t_hit, triangle = _intersect_quad(
            heights, r, c, u0, v0, du, dv, oz, dz, t_a, t_b
        )
        if t_hit < math.inf:
            return t_hit, r, c, triangle
        if t_b >= t_out:
            break
        if t_next_c <= t_b:
            c += step_c
        if t_next_r <= t_b:
            r += step_r
        if c < 0 or c > cols - 2 or r < 0 or r > rows - 2:
            break
        t_a = t_b
    return math.inf, -1, -1, -1


@njit(cache=True)
def cast_ray(heights, x_first, y_first, cell_size, ox, oy, oz, dx, dy, dz, max_range):
    """Return the range in metres to the first surface hit of one ray, inf on a miss.

    This is the entry point for other numba code, for example the simulation
    core. It takes the arguments of :func:`cast_ray_full`. Heights are in
    metres with shape (rows, cols), and the grid origin and cell size are in
    metres. The origin is in local metres (x east, y north, z up), the
    direction may have any nonzero length and ``max_range`` is in metres. An
    origin on or below the surface returns 0. A zero direction or a
    non-finite origin returns ``inf`` rather than raising.
    """
    t, _, _, _ = cast_ray_full(
        heights, x_first, y_first, cell_size, ox, oy, oz, dx, dy, dz, max_range
    )
    return t


@njit(cache=True)
def triangle_normal(heights, cell_size, r, c, triangle):
    """Return the unit upward normal ``(nx, ny, nz)`` of one triangle in local axes."""
    h00 = np.float64(heights[r, c])
    h01 = np.float64(heights[r, c + 1])
    h10 = np.float64(heights[r + 1, c])
    h11 = np.float64(heights[r + 1, c + 1])
    # Moving one row south is -y, which flips the sign of the row slope.
    if triangle == TRIANGLE_UPPER:
        slope_x = (h01 - h00) / cell_size
        slope_y = -(h11 - h01) / cell_size
    else:
        slope_x = (h11 - h10) / cell_size
        slope_y = -(h10 - h00) / cell_size
    norm = math.sqrt(slope_x * slope_x + slope_y * slope_y + 1.0)
    # Subtracting from 0.0 gives +0.0 rather than -0.0 on flat ground.
    return 0.0 - slope_x / norm, 0.0 - slope_y / norm, 1.0 / norm


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
    if not valid[row, col]:
        return NO_DATA_CLASS
    return classes[row, col]


@njit(cache=True)
def _cast_into(
    i,
    heights,
    classes,
    valid,
    x_first,
    y_first,
    cell_size,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
):
    """Cast ray ``i`` and write its result into row ``i`` of the ``out_*`` arrays."""
    ox = origins[i, 0]
    oy = origins[i, 1]
    oz = origins[i, 2]
    t, r, c, triangle = cast_ray_full(
        heights,
        x_first,
        y_first,
        cell_size,
        ox,
        oy,
        oz,
        directions[i, 0],
        directions[i, 1],
        directions[i, 2],
        max_ranges[i],
    )
    out_range[i] = t
    if t == math.inf:
        for k in range(3):
            out_point[i, k] = math.nan
            out_normal[i, k] = math.nan
        out_class[i] = MISS_CLASS
        return
    ux, uy, uz = normalize_direction(
        directions[i, 0], directions[i, 1], directions[i, 2]
    )
    px = ox + t * ux
    py = oy + t * uy
    out_point[i, 0] = px
    out_point[i, 1] = py
    out_point[i, 2] = oz + t * uz
    nx, ny, nz = triangle_normal(heights, cell_size, r, c, triangle)
    out_normal[i, 0] = nx
    out_normal[i, 1] = ny
    out_normal[i, 2] = nz
    out_class[i] = nearest_cell_class(
        classes, valid, x_first, y_first, cell_size, px, py
    )


@njit(cache=True, parallel=True)
def cast_rays(
    heights,
    classes,
    valid,
    x_first,
    y_first,
    cell_size,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
):
    """Cast many rays in parallel and write the results into the ``out_*`` arrays.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols).
        classes: Cell classes, shape (rows, cols), uint8.
        valid: Cell validity, shape (rows, cols), bool.
        x_first: Local x of the centre of column 0, in metres.
        y_first: Local y of the centre of row 0, in metres.
        cell_size: Cell edge length in metres.
        origins: Ray origins in the local world frame, shape (n, 3), float64.
        directions: Ray directions of nonzero length, shape (n, 3), float64.
        max_ranges: Maximum range per ray in metres, shape (n,), float64.
        out_range: Output ranges in metres, shape (n,), float64, inf on a miss.
        out_point: Output hit points, shape (n, 3), float64, NaN on a miss.
        out_normal: Output unit normals, shape (n, 3), float64, NaN on a miss.
        out_class: Output classes, shape (n,), uint8, ``MISS_CLASS`` on a miss.
    """
    for i in prange(origins.shape[0]):
        _cast_into(
            i,
            heights,
            classes,
            valid,
            x_first,
            y_first,
            cell_size,
            origins,
            directions,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
        )


@njit(cache=True)
def cast_rays_serial(
    heights,
    classes,
    valid,
    x_first,
    y_first,
    cell_size,
    origins,
    directions,
    max_ranges,
    out_range,
    out_point,
    out_normal,
    out_class,
):
    """Cast rays one after another; the same contract as :func:`cast_rays`.

    Starting numba's thread pool costs more than a few hundred rays take, so
    small batches run faster here.
    """
    for i in range(origins.shape[0]):
        _cast_into(
            i,
            heights,
            classes,
            valid,
            x_first,
            y_first,
            cell_size,
            origins,
            directions,
            max_ranges,
            out_range,
            out_point,
            out_normal,
            out_class,
        )


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


__all__ = [
    "MISS_CLASS",
    "NO_DATA_CLASS",
    "TRIANGLE_LOWER",
    "TRIANGLE_UPPER",
    "cast_ray",
    "cast_ray_full",
    "cast_rays",
    "cast_rays_serial",
    "nearest_cell_class",
    "normalize_direction",
    "surface_height_f64",
    "surface_heights",
    "triangle_normal",
]
