"""Max-height pyramid (maximum mipmap) over the terrain and its column tops."""

import numpy as np

from twin_gym.raycast._kernels import PYRAMID_LEVELS, PYRAMID_SHIFT


def _round_up_float32(values):
    """Cast float64 values to float32, rounding up so the result is never lower."""
    rounded = values.astype(np.float32)
    low = rounded.astype(np.float64) < values
    rounded[low] = np.nextafter(rounded[low], np.float32(np.inf))
    return rounded


def _block_max(grid, factor):
    """Return the maximum over blocks of ``factor`` x ``factor`` cells.

    Edge blocks that the grid fills only in part take the maximum of the
    cells they contain.
    """
    rows, cols = grid.shape
    out_rows = -(-rows // factor)
    out_cols = -(-cols // factor)
    padded = np.full((out_rows * factor, out_cols * factor), -np.inf, grid.dtype)
    padded[:rows, :cols] = grid
    blocks = padded.reshape(out_rows, factor, out_cols, factor)
    return blocks.max(axis=(1, 3))


def _quad_max(values):
    """Return the maximum of each quad's four corner values, (rows - 1, cols - 1)."""
    return np.maximum(
        np.maximum(values[:-1, :-1], values[:-1, 1:]),
        np.maximum(values[1:, :-1], values[1:, 1:]),
    )


def build_pyramid(heights, structure_heights):
    """Build the max-height pyramid that lets rays skip blocks they pass over.

    Per quad it stores the maximum of its four corner heights, and apart
    from it the highest column top of its four corner cells, because
    exactly those cells' footprints overlap the quad. Level ``k`` in 1 to 3
    holds the maximum of both over blocks of ``4**k`` x ``4**k`` quads.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), float32 or
            float64.
        structure_heights: Column heights above the cell-centre height in
            metres, shape (rows, cols), >= 0; 0 means no column.

    Returns:
        A tuple of ``PYRAMID_LEVELS`` C-contiguous float32 arrays. The first
        interleaves, per quad ``(r, c)``, the terrain maximum at ``[r, 2 c]``
        and the column maximum (``-inf`` where the quad has no column) at
        ``[r, 2 c + 1]``, shape (rows - 1, 2 (cols - 1)), so both share a
        cache line. Index ``k`` in 1 to ``PYRAMID_LEVELS - 1`` holds the
        maximum of both over blocks of ``4**k`` x ``4**k`` quads. Values are
        rounded up, so each is at least the float64 maximum it bounds.
    """
    terrain = heights.astype(np.float64)
    tops = np.where(
        structure_heights > 0.0,
        terrain + structure_heights.astype(np.float64),
        -np.inf,
    )
    terrain_max = _round_up_float32(_quad_max(terrain))
    column_max = _round_up_float32(_quad_max(tops))
    quad_rows, quad_cols = terrain_max.shape
    quad_max = np.stack([terrain_max, column_max], axis=-1)
    levels = [np.ascontiguousarray(quad_max.reshape(quad_rows, 2 * quad_cols))]
    coarser = np.maximum(terrain_max, column_max)
    for _ in range(1, PYRAMID_LEVELS):
        coarser = _block_max(coarser, 1 << PYRAMID_SHIFT)
        levels.append(np.ascontiguousarray(coarser))
    return tuple(levels)
