"""Numba kernels that intersect a ray with moving boxes, cylinders and spheres.

Each shape has a centre ``pos_w`` and a rotation ``rot_ws`` (shape frame to
local world frame). Sizes are in metres: a box stores its half extents along
its own x, y and z, a cylinder its radius and half height (axis along its own
z), and a sphere its radius. Shapes are solids: an origin inside one hits at
range 0, with the reversed ray direction as the normal.
"""

import math

from numba import njit

SHAPE_BOX = 0
"""Oriented box with half extents ``size = (hx, hy, hz)``."""

SHAPE_CYLINDER = 1
"""Capped cylinder along its own z with ``size = (radius, half_height, 0)``."""

SHAPE_SPHERE = 2
"""Sphere with ``size = (radius, 0, 0)``."""


@njit(cache=True)
def _slab(o, d, half):
    """Return ``(t_enter, t_exit, sign)`` of a ray in ``[-half, half]`` on one axis.

    ``sign`` is the outward normal sign of the face entered. An empty
    interval is ``(inf, -inf, 0)``.
    """
    if d == 0.0:
        if abs(o) > half:
            return math.inf, -math.inf, 0.0
        return -math.inf, math.inf, 0.0
    t_low = (-half - o) / d
    t_high = (half - o) / d
    if d > 0.0:
        return t_low, t_high, -1.0
    return t_high, t_low, 1.0


@njit(cache=True)
def _sorted_roots(a, b, c):
    """Return the real roots of ``a t^2 + 2 b t + c`` in ascending order, or NaNs.

    Uses the cancellation-free form ``q = -(b + sign(b) sqrt(b^2 - a c))``.
    """
    disc = b * b - a * c
    if disc < 0.0:
        return math.nan, math.nan
    q = -(b + math.copysign(math.sqrt(disc), b))
    if q == 0.0:
        return -b / a, -b / a
    t1 = q / a
    t2 = c / q
    if t1 > t2:
        return t2, t1
    return t1, t2


@njit(cache=True)
def _intersect_box(ox, oy, oz, dx, dy, dz, hx, hy, hz):
    """Intersect a shape-frame ray with a centred box; return ``(t, nx, ny, nz)``."""
    ex, lx, sx = _slab(ox, dx, hx)
    ey, ly, sy = _slab(oy, dy, hy)
    ez, lz, sz = _slab(oz, dz, hz)
    t_enter = max(ex, ey, ez)
    t_exit = min(lx, ly, lz)
    if t_enter > t_exit or t_exit < 0.0:
        return math.inf, 0.0, 0.0, 0.0
    if t_enter < 0.0:
        return 0.0, -dx, -dy, -dz
    if t_enter == ex:
        return t_enter, sx, 0.0, 0.0
    if t_enter == ey:
        return t_enter, 0.0, sy, 0.0
    return t_enter, 0.0, 0.0, sz


@njit(cache=True)
def _intersect_cylinder(ox, oy, oz, dx, dy, dz, radius, half_height):
    """Intersect a shape-frame ray with a centred z-axis cylinder with caps."""
    a = dx * dx + dy * dy
    c = ox * ox + oy * oy - radius * radius
    if a == 0.0:
        if c > 0.0:
            return math.inf, 0.0, 0.0, 0.0
        side_enter, side_exit = -math.inf, math.inf
    else:
        side_enter, side_exit = _sorted_roots(a, ox * dx + oy * dy, c)
        if math.isnan(side_enter):
            return math.inf, 0.0, 0.0, 0.0
    cap_enter, cap_exit, cap_sign = _slab(oz, dz, half_height)
    t_enter = max(side_enter, cap_enter)
    t_exit = min(side_exit, cap_exit)
    if t_enter > t_exit or t_exit < 0.0:
        return math.inf, 0.0, 0.0, 0.0
    if t_enter < 0.0:
        return 0.0, -dx, -dy, -dz
    if cap_enter >= side_enter:
        return t_enter, 0.0, 0.0, cap_sign
    px = ox + t_enter * dx
    py = oy + t_enter * dy
    norm = math.sqrt(px * px + py * py)
    return t_enter, px / norm, py / norm, 0.0


@njit(cache=True)
def _intersect_sphere(ox, oy, oz, dx, dy, dz, radius):
    """Intersect a unit-direction ray with a sphere centred at the origin."""
    c = ox * ox + oy * oy + oz * oz - radius * radius
    t_near, t_far = _sorted_roots(1.0, ox * dx + oy * dy + oz * dz, c)
    if math.isnan(t_near) or t_far < 0.0:
        return math.inf, 0.0, 0.0, 0.0
    if t_near < 0.0:
        return 0.0, -dx, -dy, -dz
    return (
        t_near,
        (ox + t_near * dx) / radius,
        (oy + t_near * dy) / radius,
        (oz + t_near * dz) / radius,
    )


@njit(cache=True)
def intersect_shapes(kinds, pos_w, rot_ws, sizes, ox, oy, oz, dx, dy, dz, t_max):
    """Return the first shape hit of a unit-direction ray within ``t_max``.

    Args:
        kinds: ``SHAPE_*`` code per shape, shape (m,), int64.
        pos_w: Shape centres in the local world frame in metres, shape (m, 3).
        rot_ws: Shape-to-world rotation matrices, shape (m, 3, 3).
        sizes: Shape sizes in metres, shape (m, 3), as the module describes.
        ox: Ray origin local x in metres; ``oy``, ``oz`` likewise.
        oy: Ray origin local y in metres.
        oz: Ray origin z in metres.
        dx: Unit direction x; ``dy``, ``dz`` likewise.
        dy: Unit direction y.
        dz: Unit direction z.
        t_max: Only hits at ``t <= t_max`` count, metres; may be inf.

    Returns:
        ``(t, index, nx, ny, nz)``: the range in metres, the shape's index and
        the unit outward normal in the world frame, or ``(inf, -1, 0, 0, 0)``.
    """
    t_best = math.inf
    index_best = -1
    nx_best = 0.0
    ny_best = 0.0
    nz_best = 0.0
    for k in range(kinds.shape[0]):
        cx = ox - pos_w[k, 0]
        cy = oy - pos_w[k, 1]
        cz = oz - pos_w[k, 2]
        # Shape frame: o_s = R^T (o - p) and d_s = R^T d.
        rot = rot_ws[k]
        sox = rot[0, 0] * cx + rot[1, 0] * cy + rot[2, 0] * cz
        soy = rot[0, 1] * cx + rot[1, 1] * cy + rot[2, 1] * cz
        soz = rot[0, 2] * cx + rot[1, 2] * cy + rot[2, 2] * cz
        sdx = rot[0, 0] * dx + rot[1, 0] * dy + rot[2, 0] * dz
        sdy = rot[0, 1] * dx + rot[1, 1] * dy + rot[2, 1] * dz
        sdz = rot[0, 2] * dx + rot[1, 2] * dy + rot[2, 2] * dz
        kind = kinds[k]
        if kind == SHAPE_BOX:
            t, nx, ny, nz = _intersect_box(
                sox, soy, soz, sdx, sdy, sdz, sizes[k, 0], sizes[k, 1], sizes[k, 2]
            )
        elif kind == SHAPE_CYLINDER:
            t, nx, ny, nz = _intersect_cylinder(
                sox, soy, soz, sdx, sdy, sdz, sizes[k, 0], sizes[k, 1]
            )
        else:
            t, nx, ny, nz = _intersect_sphere(sox, soy, soz, sdx, sdy, sdz, sizes[k, 0])
        if t < t_best and t <= t_max:
            t_best = t
            index_best = k
            # Back to the world frame: n_w = R n_s.
            nx_best = rot[0, 0] * nx + rot[0, 1] * ny + rot[0, 2] * nz
            ny_best = rot[1, 0] * nx + rot[1, 1] * ny + rot[1, 2] * nz
            nz_best = rot[2, 0] * nx + rot[2, 1] * ny + rot[2, 2] * nz
    return t_best, index_best, nx_best, ny_best, nz_best
