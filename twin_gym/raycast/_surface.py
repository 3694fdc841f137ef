"""Numba functions that evaluate the terrain surface at a point.

The surface is the triangulation of the cell-centre height samples. Cell
centres sit at local ``x = x_first + col * cell_size`` and
``y = y_first - row * cell_size`` (row 0 is the northern row). Each quad of
four neighbouring centres is split into two triangles by the fixed diagonal
from ``(row, col)`` to ``(row + 1, col + 1)``. With fractional offsets
``fu`` (along columns) and ``fv`` (along rows) inside the quad, the triangle
with ``fu >= fv`` has corners ``(r, c), (r, c + 1), (r + 1, c + 1)`` and the
one with ``fv > fu`` has corners ``(r, c), (r + 1, c), (r + 1, c + 1)``.
The surface is defined only inside the hull of the cell centres.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def quad_height(h00, h01, h10, h11, fu, fv):
    """Return the surface height at offsets ``(fu, fv)`` in ``[0, 1]`` of a quad.

    ``h01`` is the corner one column east of ``h00``, ``h10`` one row south.
    """
    if fu >= fv:
        return h00 + fu * (h01 - h00) + fv * (h11 - h01)
    return h00 + fv * (h10 - h00) + fu * (h11 - h10)


@njit(cache=True)
def surface_height(heights, x_first, y_first, cell_size, x, y):
    """Return the terrain height at local ``(x, y)``, or NaN off the map.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), float32.
        x_first: Local x of the centre of column 0, in metres.
        y_first: Local y of the centre of row 0, in metres.
        cell_size: Cell edge length in metres.
        x: Local east coordinate in metres.
        y: Local north coordinate in metres.
    """
    rows, cols = heights.shape
    u = (x - x_first) / cell_size
    v = (y_first - y) / cell_size
    if not (0.0 <= u <= cols - 1) or not (0.0 <= v <= rows - 1):
        return math.nan
    c = min(int(math.floor(u)), cols - 2)
    r = min(int(math.floor(v)), rows - 2)
    c = max(c, 0)
    r = max(r, 0)
    fu = u - c
    fv = v - r
    return quad_height(
        np.float64(heights[r, c]),
        np.float64(heights[r, c + 1]),
        np.float64(heights[r + 1, c]),
        np.float64(heights[r + 1, c + 1]),
        fu,
        fv,
    )
