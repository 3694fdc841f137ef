"""Brute-force reference ray caster and random scenes for the raycast tests.

The reference intersects every ray with every triangle (Möller-Trumbore in
float64, two-sided) and with every column box (slab method), and applies the
solid rule at the hull entry.
"""

import math

import numpy as np

from twin_gym.raycast.scene import RaycastScene

# Grid origins and cell sizes are exact binary fractions, so grid lines and
# vertices computed in the tests are the exact values the kernel reads.
CELL_SIZES = (0.5, 1.0, 2.0, 0.25)
X_FIRSTS = (-1.25, 0.0, 3.5)
Y_FIRSTS = (2.75, 10.0, -4.0)

RTOL = 1e-9


# --- Brute-force reference -------------------------------------------------


def mesh_triangles(heights, x_first, y_first, cell_size):
    """Return the mesh triangles as (n_tri, 3, 3) float64 vertex coordinates."""
    heights = np.asarray(heights, dtype=np.float64)
    rows, cols = heights.shape
    triangles = []
    for r in range(rows - 1):
        for c in range(cols - 1):

            def vertex(rr, cc):
                return (
                    x_first + cc * cell_size,
                    y_first - rr * cell_size,
                    heights[rr, cc],
                )

            p00, p01 = vertex(r, c), vertex(r, c + 1)
            p10, p11 = vertex(r + 1, c), vertex(r + 1, c + 1)
            triangles.append((p00, p01, p11))
            triangles.append((p00, p10, p11))
    return np.array(triangles, dtype=np.float64)


def moller_trumbore(triangles, origin, direction, eps=1e-12):
    """Return ray parameters of every triangle hit (inf where missed), two-sided."""
    v0, v1, v2 = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    edge1 = v1 - v0
    edge2 = v2 - v0
    pvec = np.cross(direction, edge2)
    det = np.einsum("ij,ij->i", edge1, pvec)
    parallel = np.abs(det) < 1e-14
    safe_det = np.where(parallel, 1.0, det)
    tvec = origin - v0
    u = np.einsum("ij,ij->i", tvec, pvec) / safe_det
    qvec = np.cross(tvec, edge1)
    v = (qvec @ direction) / safe_det
    t = np.einsum("ij,ij->i", edge2, qvec) / safe_det
    inside = (~parallel) & (u >= -eps) & (v >= -eps) & (u + v <= 1.0 + eps)
    return np.where(inside & (t >= 0.0), t, np.inf)


def reference_height(triangles, x, y, eps=1e-9):
    """Return the mesh height at (x, y) from 2-D barycentric coordinates, or NaN."""
    for tri in triangles:
        (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = tri
        det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        b1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) / det
        b2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) / det
        if b1 >= -eps and b2 >= -eps and b1 + b2 <= 1.0 + eps:
            return z0 + b1 * (z1 - z0) + b2 * (z2 - z0)
    return math.nan


def _divide(numerator, denominator):
    try:
        return numerator / denominator
    except OverflowError:
        return math.copysign(math.inf, numerator * denominator)


def hull_interval(bounds, origin, direction):
    """Return the (t_in, t_out) interval of a unit ray over the hull, t_in >= 0."""
    x_min, y_min, x_max, y_max = bounds
    t_in, t_out = 0.0, math.inf
    for p0, dp, low, high in (
        (float(origin[0]), float(direction[0]), x_min, x_max),
        (float(origin[1]), float(direction[1]), y_min, y_max),
    ):
        if dp == 0.0:
            if not (low <= p0 <= high):
                return math.inf, -math.inf
            continue
        # Subnormal components overflow the division, which means never.
        ta, tb = sorted((_divide(low - p0, dp), _divide(high - p0, dp)))
        t_in = max(t_in, ta)
        t_out = min(t_out, tb)
    return t_in, t_out


def reference_cast(triangles, bounds, origin, direction, max_range):
    """Return the reference range of one ray under the solid-terrain rule.

    The in-hull part of a ray is one interval because the hull is convex. If
    the ray's first in-hull point is on or below the surface, that point is
    the hit. Otherwise the gap to the surface is positive there and the first
    hit is the nearest triangle intersection.
    """
    origin = np.asarray(origin, dtype=np.float64)
    direction = np.asarray(direction, dtype=np.float64)
    direction = direction / np.linalg.norm(direction)
    t_in, t_out = hull_interval(bounds, origin, direction)
    if t_in > t_out or t_in > max_range:
        return math.inf
    entry = origin + t_in * direction
    if entry[2] <= reference_height(triangles, entry[0], entry[1]):
        return t_in
    t = float(np.min(moller_trumbore(triangles, origin, direction)))
    # The edge tolerance of Möller-Trumbore can accept a triangle the ray
    # passes just outside of, so hits past the hull exit are dropped.
    if t > t_out + 1e-9 * max(1.0, t_out):
        return math.inf
    return t if t <= max_range else math.inf


def ranges_agree(expected, got):
    if math.isinf(expected) or math.isinf(got):
        return expected == got
    return abs(got - expected) <= RTOL * abs(expected) + 1e-12


def is_tangent_touch(triangles, origin, direction, t_touch):
    """Return whether the ray only touches the surface at range t_touch."""
    unit = direction / np.linalg.norm(direction)
    x_min, y_min = triangles[:, :, 0].min(), triangles[:, :, 1].min()
    x_max, y_max = triangles[:, :, 0].max(), triangles[:, :, 1].max()

    def gap(t, strict):
        point = origin + t * unit
        # A point strictly off the map has no surface, which is NaN here.
        off_map = not (x_min <= point[0] <= x_max and y_min <= point[1] <= y_max)
        if strict and off_map:
            return math.nan
        return point[2] - reference_height(triangles, point[0], point[1])

    if t_touch == 0.0 or abs(gap(t_touch, strict=False)) > 1e-9:
        return False
    before = gap(t_touch - 1e-6, strict=True)
    after = gap(t_touch + 1e-6, strict=True)
    return not (before <= 0.0) and not (after <= 0.0)


# --- Helpers ----------------------------------------------------------------


def make_scene(rng, rows, cols, dtype=np.float32, height_scale=5.0):
    heights = (rng.random((rows, cols)) * height_scale).astype(dtype)
    classes = rng.integers(0, 6, size=(rows, cols)).astype(np.uint8)
    valid = rng.random((rows, cols)) > 0.2
    scene = RaycastScene(
        heights,
        classes,
        valid,
        x_first=X_FIRSTS[rng.integers(len(X_FIRSTS))],
        y_first=Y_FIRSTS[rng.integers(len(Y_FIRSTS))],
        cell_size=CELL_SIZES[rng.integers(len(CELL_SIZES))],
    )
    return scene


def scene_triangles(scene):
    return mesh_triangles(scene.heights, scene.x_first, scene.y_first, scene.cell_size)


def vertex_w(scene, r, c):
    return np.array(
        [
            scene.x_first + c * scene.cell_size,
            scene.y_first - r * scene.cell_size,
            float(scene.heights[r, c]),
        ]
    )


def random_rays(rng, scene, n):
    """Return origins, directions and max ranges mixing the hard ray families."""
    x_min, y_min, x_max, y_max = scene.bounds
    span = max(x_max - x_min, y_max - y_min)
    top = float(scene.heights.max())
    rows, cols = scene.shape
    origins = np.column_stack(
        [
            rng.uniform(x_min - 0.3 * span, x_max + 0.3 * span, n),
            rng.uniform(y_min - 0.3 * span, y_max + 0.3 * span, n),
            rng.uniform(-1.0, top + 5.0, n),
        ]
    )
    directions = rng.normal(size=(n, 3))
    family = rng.integers(0, 7, n)
    for i in range(n):
        kind = family[i]
        if kind == 1:
            # Aimed exactly at a vertex from above.
            r, c = rng.integers(rows), rng.integers(cols)
            origins[i, 2] = top + rng.uniform(0.5, 5.0)
            directions[i] = vertex_w(scene, r, c) - origins[i]
        elif kind == 2:
            # Along a column grid line (dx == 0).
            c = rng.integers(cols)
            origins[i, 0] = scene.x_first + c * scene.cell_size
            directions[i, 0] = 0.0
        elif kind == 3:
            # Along a row grid line (dy == 0).
            r = rng.integers(rows)
            origins[i, 1] = scene.y_first - r * scene.cell_size
            directions[i, 1] = 0.0
        elif kind == 4:
            # Vertical, up or down.
            directions[i] = (0.0, 0.0, rng.choice((-1.0, 1.0)))
        elif kind == 5:
            # Grazing: a few degrees below horizontal.
            azimuth = rng.uniform(0.0, 2.0 * math.pi)
            elevation = -math.radians(rng.uniform(0.5, 5.0))
            directions[i] = (
                math.cos(elevation) * math.cos(azimuth),
                math.cos(elevation) * math.sin(azimuth),
                math.sin(elevation),
            )
        elif kind == 6:
            # Along the quad diagonal direction, through a vertex.
            r, c = rng.integers(rows), rng.integers(cols)
            origins[i, :2] = vertex_w(scene, r, c)[:2]
            directions[i] = (1.0, -1.0, rng.uniform(-2.0, 0.5))
    max_ranges = np.where(rng.random(n) < 0.5, np.inf, rng.uniform(0.0, span, n))
    return origins, directions, max_ranges


def on_hull_boundary(scene, origin, unit, t, tolerance=1e-9):
    """Return whether the point at range ``t`` lies on the hull's side."""
    x_min, y_min, x_max, y_max = scene.bounds
    x, y = origin[0] + t * unit[0], origin[1] + t * unit[1]
    near_x = min(abs(x - x_min), abs(x - x_max)) <= tolerance
    near_y = min(abs(y - y_min), abs(y - y_max)) <= tolerance
    inside = (
        x_min - tolerance <= x <= x_max + tolerance
        and y_min - tolerance <= y <= y_max + tolerance
    )
    return inside and (near_x or near_y)


def assert_matches_reference(scene, origins, directions, max_ranges):
    hits = scene.cast(origins, directions, max_ranges)
    triangles = scene_triangles(scene)
    expected = np.array(
        [
            reference_cast(triangles, scene.bounds, o, d, m)
            for o, d, m in zip(origins, directions, max_ranges, strict=True)
        ]
    )
    disagree = [
        i for i in range(len(expected)) if not ranges_agree(expected[i], hits.range[i])
    ]
    # A ray that only touches the surface, for example at a peak vertex or at
    # a vertex on the hull boundary, takes or skips the touch by one rounding
    # step in either method. Such a difference is accepted under two
    # conditions. The ray comes within 1e-9 m of the surface there and stays
    # above it (or off the map) 1e-6 m before and after. The later of the two
    # results is a miss or another triangle intersection.
    # A hit exactly where the ray leaves the hull, within 1e-9 relative, is
    # decided by one rounding step too, so a miss is accepted there.
    accepted = []
    for i in disagree:
        t_first = min(expected[i], hits.range[i])
        t_later = max(expected[i], hits.range[i])
        unit = directions[i] / np.linalg.norm(directions[i])
        _, t_out = hull_interval(scene.bounds, origins[i], unit)
        at_exit = abs(t_first - t_out) <= 1e-9 * max(1.0, t_out)
        if at_exit and math.isinf(t_later):
            accepted.append(i)
            continue
        # A ray that runs along the hull's side, less than 1e-9 m outside or
        # inside it (a subnormal direction component), is decided by the same
        # rounding step, so a hit on the hull's boundary is accepted too.
        if math.isinf(expected[i]) and on_hull_boundary(
            scene, origins[i], unit, t_first
        ):
            accepted.append(i)
            continue
        if not is_tangent_touch(triangles, origins[i], directions[i], t_first):
            continue
        unit = directions[i] / np.linalg.norm(directions[i])
        all_t = moller_trumbore(triangles, origins[i], unit)
        if math.isinf(t_later) or any(ranges_agree(t, t_later) for t in all_t):
            accepted.append(i)
    rejected = sorted(set(disagree) - set(accepted))
    assert not rejected, (
        f"ranges differ for rays {rejected[:5]}: expected "
        f"{expected[rejected[:5]]}, got {hits.range[rejected[:5]]}"
    )
    # Touches need exact aim, so they stay a small share of random rays.
    assert len(accepted) <= max(1, len(expected) // 10)
    expected[accepted] = hits.range[accepted]
    return hits, expected


def column_boxes(scene):
    """Return the column boxes as rows ``(row, col, x0, x1, y0, y1, top)``.

    Footprints are clipped to the hull of the cell centres, as the scene
    defines them.
    """
    x_min, y_min, x_max, y_max = scene.bounds
    size = scene.cell_size
    boxes = []
    for row, col in np.argwhere(scene.structure_heights > 0.0):
        x_c = scene.x_first + col * size
        y_c = scene.y_first - row * size
        top = float(scene.heights[row, col]) + float(scene.structure_heights[row, col])
        boxes.append(
            (
                row,
                col,
                max(x_c - 0.5 * size, x_min),
                min(x_c + 0.5 * size, x_max),
                max(y_c - 0.5 * size, y_min),
                min(y_c + 0.5 * size, y_max),
                top,
            )
        )
    return boxes


def box_entry(box, origin, direction):
    """Return ``(t, normal)`` where a unit ray first lies in a column box.

    The box reaches down to -inf. ``t`` is inf when the ray misses it, and 0
    with normal +z when the origin is strictly inside.
    """
    _, _, x0, x1, y0, y1, top = box
    t_enter, t_exit = -math.inf, math.inf
    normal = (0.0, 0.0, 1.0)
    for axis, low, high in ((0, x0, x1), (1, y0, y1)):
        p, d = float(origin[axis]), float(direction[axis])
        if d == 0.0:
            if not (low <= p <= high):
                return math.inf, None
            continue
        ta, tb = _divide(low - p, d), _divide(high - p, d)
        face = [0.0, 0.0, 0.0]
        face[axis] = -1.0 if d > 0.0 else 1.0
        if d < 0.0:
            ta, tb = tb, ta
        if ta > t_enter:
            t_enter, normal = ta, tuple(face)
        t_exit = min(t_exit, tb)
    p, d = float(origin[2]), float(direction[2])
    if d == 0.0:
        if p > top:
            return math.inf, None
    elif d > 0.0:
        t_exit = min(t_exit, (top - p) / d)
    else:
        enter = (top - p) / d
        if enter > t_enter:
            t_enter, normal = enter, (0.0, 0.0, 1.0)
    if t_enter < 0.0:
        t_enter, normal = 0.0, (0.0, 0.0, 1.0)
    if t_enter > t_exit:
        return math.inf, None
    return t_enter, normal


def reference_cast_columns(boxes, origin, direction, max_range):
    """Return ``(t, box_index, normal)`` of the first column box hit, or inf."""
    unit = np.asarray(direction, dtype=np.float64)
    unit = unit / np.linalg.norm(unit)
    best = (math.inf, -1, None)
    for index, box in enumerate(boxes):
        t, normal = box_entry(box, origin, unit)
        if t < best[0] and t <= max_range:
            best = (t, index, normal)
    return best


def make_column_scene(rng, rows, cols, fraction=0.3, dtype=np.float32):
    """Return a random scene with columns on about ``fraction`` of its cells."""
    base = make_scene(rng, rows, cols, dtype=dtype)
    structure_heights = np.where(
        rng.random((rows, cols)) < fraction, rng.uniform(0.5, 6.0, (rows, cols)), 0.0
    )
    return RaycastScene(
        base.heights,
        base.classes,
        base.valid,
        base.x_first,
        base.y_first,
        base.cell_size,
        structure_heights=structure_heights,
    )


# --- Comparing two casts of the same rays ------------------------------------


def hilly_scene(rng, rows, cols, use_pyramid=True, buildings=0.02):
    """Return smooth hills with a few tall columns, 1 m cells."""
    y, x = np.mgrid[0:rows, 0:cols]
    heights = (
        20.0 * np.sin(x / 37.0) * np.cos(y / 23.0)
        + 0.02 * x
        + rng.normal(0.0, 0.2, (rows, cols))
    )
    structure_heights = np.where(
        rng.random((rows, cols)) < buildings, rng.uniform(3.0, 30.0, (rows, cols)), 0.0
    )
    return RaycastScene(
        heights,
        rng.integers(0, 6, (rows, cols)),
        np.ones((rows, cols), bool),
        -0.5 * cols,
        0.5 * rows,
        1.0,
        structure_heights=structure_heights,
        use_pyramid=use_pyramid,
    )


def on_face_edge(scene, point_w, tolerance=1e-9):
    """Return whether a hit point lies on an edge shared by two faces.

    Triangle edges are the grid lines and the quad diagonals; column walls
    stand on the half-cell lines.
    """
    u = (point_w[0] - scene.x_first) / scene.cell_size
    v = (scene.y_first - point_w[1]) / scene.cell_size

    def near_line(value, offset):
        shifted = value - offset
        return abs(shifted - round(shifted)) <= tolerance

    on_grid = near_line(u, 0.0) or near_line(v, 0.0)
    on_diagonal = abs((u - math.floor(u)) - (v - math.floor(v))) <= tolerance
    on_footprint = near_line(u, 0.5) or near_line(v, 0.5)
    return on_grid or on_diagonal or on_footprint


def assert_same_hits(scene, first, second, origins, directions, labels):
    """Check two casts of the same rays against each other.

    Ranges may differ by rounding only. One rounding step may decide a ray
    that only touches a vertex, or one that hits an edge two faces share:
    such a ray may hit or miss, or report either face. So may a ray that
    hits exactly where it leaves the hull, where it can only touch a
    column's edge or the terrain's rim. Any other difference fails.
    ``labels`` names the two casts in messages.
    """
    both_hit = first.hit & second.hit
    agree = ~first.hit & ~second.hit
    agree[both_hit] = np.abs(first.range[both_hit] - second.range[both_hit]) <= 1e-9
    differ = np.flatnonzero(~agree)
    triangles = scene_triangles(scene) if len(differ) else None
    for i in differ:
        t_first = min(first.range[i], second.range[i])
        unit = directions[i] / np.linalg.norm(directions[i])
        _, t_out = hull_interval(scene.bounds, origins[i], unit)
        at_exit = abs(t_first - t_out) <= 1e-9 * max(1.0, t_out) and not (
            first.hit[i] and second.hit[i]
        )
        touch = is_tangent_touch(triangles, origins[i], directions[i], t_first)
        assert at_exit or touch, (
            f"ray {i}: {first.range[i]} m {labels[0]}, {second.range[i]} m {labels[1]}"
        )
    assert len(differ) <= max(1, len(origins) // 1000)
    same = np.setdiff1d(np.arange(len(origins)), differ)
    np.testing.assert_allclose(
        first.point_w[same], second.point_w[same], rtol=0.0, atol=1e-9
    )
    normals_equal = np.isclose(
        first.normal_w[same], second.normal_w[same], rtol=0.0, atol=1e-12
    ) | (np.isnan(first.normal_w[same]) & np.isnan(second.normal_w[same]))
    other_face = np.flatnonzero(
        ~normals_equal.all(axis=1)
        | (first.surface_class[same] != second.surface_class[same])
    )
    for i in same[other_face]:
        assert on_face_edge(scene, first.point_w[i]), (
            f"ray {i} hits {first.point_w[i]} with normal {first.normal_w[i]} "
            f"and class {first.surface_class[i]} {labels[0]}, normal "
            f"{second.normal_w[i]} and class {second.surface_class[i]} "
            f"{labels[1]}"
        )
    assert len(other_face) <= max(1, len(origins) // 100)
