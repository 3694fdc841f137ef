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


def build_pyramid(heights, structure_heights):
    """Build the max-height pyramid that lets rays skip blocks they pass over.

    Level 0 holds, per quad, the maximum of its four corner heights and of
    the column tops of its four corner cells, because exactly those cells'
    footprints overlap the quad. Level ``k`` holds the maximum over blocks of
    ``4**k`` x ``4**k`` quads.

    Args:
        heights: Cell-centre heights in metres, shape (rows, cols), float32 or
            float64.
        structure_heights: Column heights above the cell-centre height in
            metres, shape (rows, cols), >= 0.

    Returns:
        A tuple of ``PYRAMID_LEVELS`` C-contiguous float32 arrays; level 0
        has shape (rows - 1, cols - 1). Values are rounded up, so each is
        at least the float64 maximum of the solid below it.
    """
    tops = heights.astype(np.float64) + structure_heights.astype(np.float64)
    quad_max = np.maximum(
        np.maximum(tops[:-1, :-1], tops[:-1, 1:]),
        np.maximum(tops[1:, :-1], tops[1:, 1:]),
    )
    levels = [np.ascontiguousarray(_round_up_float32(quad_max))]
    for _ in range(1, PYRAMID_LEVELS):
        coarser = _block_max(levels[-1], 1 << PYRAMID_SHIFT)
        levels.append(np.ascontiguousarray(coarser))
    return tuple(levels)
