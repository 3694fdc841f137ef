"""Numba kernels that walk a fan of rays over the terrain in one pass.

A fan is a set of rays that share an origin and whose horizontal directions
are the same, so that they all lie in one vertical half-plane. That is the
case for the channels of one azimuth step of a level spinning LiDAR. The
rays then share one ground track, and along it each ray's height is linear
in the horizontal distance ``s``: ``z = oz + s * slope``. A ray with a
larger slope lies above one with a smaller slope at every ``s > 0``, so it
cannot hit the solid before the lower one does. The walk therefore goes
along the track once, tests only the lowest ray that has not hit yet, and
on a hit moves on to the next ray up in the same quad. Pyramid blocks are
skipped when the lowest unresolved ray passes over them, which holds for
every ray above it too.

Each ray is tested with its own slope, so its hit is the one ``walk_ray``
finds, up to rounding. The rounding differs because the walk works in
``s`` rather than in metres along the ray, and because the rays'
horizontal directions may differ from the shared heading by up to
``FAN_HEADING_TOLERANCE``. ``docs/surface.md`` describes
both walks.
"""

import math

from numba import njit

from twin_gym.raycast._kernels import (
    PYRAMID_LEVELS,
    PYRAMID_SHIFT,
    _axis_walk,
    _block_exits,
    _block_top,
    _climb,
    _descend,
    _first_quad_index,
    _hull_interval,
    _next_block,
    _skip_clear_quads,
    _test_quad,
    normalize_direction,
    ray_max_range,
    record_steps,
)

FAN_HEADING_TOLERANCE = 1e-12
"""Largest sine of the angle between a ray's horizontal direction and the
fan's heading for the fan to be walked in one pass. Over 200 m it moves a
ray's track sideways by 0.2 nm, which decides only rays through a vertex."""


@njit(cache=True, inline="always")
def _unit_heading(directions, i):
    """Return the slope, horizontal length and heading of ray ``i``'s direction.

    Returns:
        ``(slope, horizontal, inverse, ex, ey)``. ``slope`` is the rise per
        unit of horizontal distance, ``horizontal`` the length of the unit
        direction's horizontal part and ``inverse`` its reciprocal. The
        heading ``(ex, ey)`` is the horizontal part scaled to unit length.
        All but ``slope`` are zero where the direction has no horizontal
        part.
    """
    dx = directions[i, 0]
    dy = directions[i, 1]
    dz = directions[i, 2]
    flat = dx * dx + dy * dy
    squared = flat + dz * dz
    if 1e-280 < flat and squared < 1e280:
        # The two square roots do not wait for each other, which keeps the
        # chain of dependent steps short.
        flat_length = math.sqrt(flat)
        length = math.sqrt(squared)
        inverse_flat = 1.0 / flat_length
        return (
            dz * inverse_flat,
            flat_length / length,
            length * inverse_flat,
            dx * inverse_flat,
            dy * inverse_flat,
        )
    # Lengths whose squares underflow or overflow, such as a nearly vertical
    # ray's horizontal part, are scaled by their largest component first.
    ux, uy, uz = normalize_direction(dx, dy, dz)
    scale = max(abs(ux), abs(uy))
    if not (scale > 0.0):
        return math.copysign(math.inf, uz), 0.0, 0.0, 0.0, 0.0
    sx = ux / scale
    sy = uy / scale
    norm = math.sqrt(sx * sx + sy * sy)
    horizontal = scale * norm
    inverse = 1.0 / horizontal
    if not math.isfinite(inverse):
        # The reciprocal of a subnormal horizontal part overflows, so the
        # fan goes ray by ray.
        return math.copysign(math.inf, uz), 0.0, 0.0, 0.0, 0.0
    return uz * inverse, horizontal, inverse, sx / norm, sy / norm


@njit(cache=True, inline="always")
def fan_geometry(directions, max_ranges, first, order, constants):
    """Check that rays ``first + order`` form a fan and fill their walk constants.

    The rays form a fan when each has a horizontal component in the same
    direction as the fan's heading, within ``FAN_HEADING_TOLERANCE``, and
    their slopes do not decrease along ``order``. The heading is that of the
    middle ray of ``order``.

    ``constants`` has shape (4, k), and column ``j`` is for ray
    ``first + order[j]``:

    - row 0: the rise per metre of horizontal distance;
    - row 1: metres along the ray per metre of horizontal distance;
    - row 2: the horizontal distance at the ray's maximum range;
    - row 3: the length of the unit direction's horizontal part.

    Returns:
        ``(is_fan, hx, hy, reach)``: the unit heading in local x and y and
        the largest horizontal distance that any ray reaches.
    """
    count = order.shape[0]
    _, _, _, hx, hy = _unit_heading(directions, first + order[count // 2])
    previous = -math.inf
    reach = 0.0
    for j in range(count):
        i = first + order[j]
        slope, horizontal, inverse, ex, ey = _unit_heading(directions, i)
        if not (horizontal > 0.0):
            return False, 0.0, 0.0, 0.0
        if abs(ex * hy - ey * hx) > FAN_HEADING_TOLERANCE or ex * hx + ey * hy <= 0.0:
            return False, 0.0, 0.0, 0.0
        if slope < previous:
            return False, 0.0, 0.0, 0.0
        previous = slope
        constants[0, j] = slope
        constants[1, j] = inverse
        constants[2, j] = ray_max_range(max_ranges, i) * horizontal
        constants[3, j] = horizontal
        reach = max(reach, constants[2, j])
    return True, hx, hy, reach


@njit(cache=True, inline="always")
def _resolve(ray, rank, t, part, row, col, steps, out_t, out_steps, found):
    """Write the walk result of ray ``ray``, ``rank``-th of its fan by slope."""
    out_t[ray] = t
    record_steps(out_steps, ray, steps)
    found[0, rank] = part
    found[1, rank] = row
    found[2, rank] = col


@njit(cache=True, inline="always")
def walk_fan(
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
    reach_out,
    first,
    order,
    constants,
    max_ranges,
    out_t,
    out_steps,
    found,
):
    """Cast the rays of one fan and write the first hit of each.

    The arguments up to ``oz`` are those of ``walk_ray``. The fan's rays are
    ``first + order[j]`` in order of rising slope. ``(hx, hy)`` is its unit
    heading, ``reach_out`` the largest horizontal distance that a ray
    reaches and ``constants`` the per-ray walk constants, all from
    :func:`fan_geometry`. ``max_ranges`` is each ray's maximum range in
    metres.

    Ray ``i`` gets its range in metres in ``out_t[i]`` (``inf`` on a miss)
    and, in ``out_steps[i]``, the walk steps taken while it was the lowest
    unresolved ray, so that the fan's steps add up over its rays. Ray
    ``first + order[j]`` gets the part hit and its row and column, as ``walk_ray``
    returns them, in ``found[0, j]``, ``found[1, j]`` and ``found[2, j]``.
    """
    shape = heights.shape
    rows, cols = shape
    count = order.shape[0]
    u0 = (ox - x_first) / cell_size
    v0 = (y_first - oy) / cell_size
    du = hx / cell_size
    dv = -hy / cell_size
    inv_u, pad_u, off_c, step_c = _axis_walk(du)
    inv_v, pad_v, off_r, step_r = _axis_walk(dv)
    grid_ray = (u0, v0, inv_u, inv_v, pad_u, pad_v, off_c, off_r)
    walk_steps = (abs(inv_u), abs(inv_v), step_c, step_r)

    # The walk runs in s, the horizontal distance, up to where the track
    # leaves the hull or the farthest-reaching ray ends.
    su_in, su_out = _hull_interval(u0, inv_u, pad_u, cols - 1.0)
    sv_in, sv_out = _hull_interval(v0, inv_v, pad_v, rows - 1.0)
    s_in = max(su_in, sv_in, 0.0)
    s_out = min(su_out, sv_out, reach_out)

    low = 0
    ray = first + order[0]
    slope = constants[0, 0]
    reach = constants[2, 0]
    steps = 0
    steps_before = 0
    if s_in <= s_out:
        quad_max = pyramid[0]
        level_1 = pyramid[1]
        level_2 = pyramid[2]
        level_3 = pyramid[3]
        top_level = PYRAMID_LEVELS - 1 if use_pyramid else 0
        c = _first_quad_index(u0 + s_in * du, du, cols - 1)
        r = _first_quad_index(v0 + s_in * dv, dv, rows - 1)
        t_next_c, t_next_r = _block_exits(c, r, 1, grid_ray, s_in)
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
            slope,
            s_in,
            s_out,
        )
        shift = level * PYRAMID_SHIFT
        s_a = s_in
        while True:
            s_b = min(t_next_c, t_next_r, s_out)
            if level > 0:
                # Blocks are skipped on the lowest unresolved ray's height,
                # which every ray above it clears too.
                z_low = min(oz + s_a * slope, oz + s_b * slope)
                top = _block_top(level_1, level_2, level_3, level, block_r, block_c)
                if not (z_low > top):
                    level, size, block_r, block_c, t_next_c, t_next_r = _descend(
                        level, block_r, block_c, grid_ray, du, dv, s_a, rows, cols
                    )
                    shift = level * PYRAMID_SHIFT
                    continue
                steps += 1
            else:
                walk = (block_r, block_c, t_next_c, t_next_r, s_a, s_b, steps)
                s_stop = min(reach, s_out) if use_pyramid else -math.inf
                walk = _skip_clear_quads(
                    quad_max, level_1, walk, s_stop, s_out, oz, slope, walk_steps, shape
                )
                block_r, block_c, t_next_c, t_next_r, s_a, s_b, steps = walk
                steps += 1
                # Test the lowest unresolved ray on this quad. After a hit,
                # or when its range ends inside the quad, test the next ray
                # up on the same quad. Otherwise no ray above it can hit here.
                while True:
                    t_hit = math.inf
                    part = -1
                    hit_r = -1
                    hit_c = -1
                    if s_a <= reach:
                        s_end = min(s_b, reach)
                        z_low = min(oz + s_a * slope, oz + s_end * slope)
                        s_hit, part, hit_r, hit_c = _test_quad(
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
                            slope,
                            s_a,
                            s_end,
                            z_low,
                        )
                        if s_hit < math.inf:
                            limit = ray_max_range(max_ranges, ray)
                            t_hit = min(s_hit * constants[1, low], limit)
                        elif reach >= s_b:
                            break
                        else:
                            # The range ends inside the quad: a miss.
                            part = -1
                            hit_r = -1
                            hit_c = -1
                    _resolve(
                        ray,
                        low,
                        t_hit,
                        part,
                        hit_r,
                        hit_c,
                        steps - steps_before,
                        out_t,
                        out_steps,
                        found,
                    )
                    steps_before = steps
                    low += 1
                    if low == count:
                        return
                    ray = first + order[low]
                    slope = constants[0, low]
                    reach = constants[2, low]

            if s_b >= s_out:
                break
            inside, next_r, next_c, t_next_c, t_next_r = _next_block(
                block_r,
                block_c,
                shift,
                t_next_c,
                t_next_r,
                s_b,
                walk_steps,
                rows,
                cols,
            )
            if not inside:
                break
            s_a = s_b
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
                slope,
                s_a,
                s_out,
            )
            shift = level * PYRAMID_SHIFT

    # The track left the hull or every remaining ray's range: all miss.
    for j in range(low, count):
        _resolve(
            first + order[j],
            j,
            math.inf,
            -1,
            -1,
            -1,
            steps - steps_before,
            out_t,
            out_steps,
            found,
        )
        steps_before = steps
