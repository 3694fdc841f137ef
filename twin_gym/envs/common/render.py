"""Top-down pictures of a twin with vehicles, goals and trajectories."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LightSource

from twin_gym.raycast.scene import RaycastScene


class TopDownCanvas:
    """A hillshaded square view of part of the twin, in local metres.

    Args:
        scene: Scene whose surface is drawn.
        center_xy: Local (x, y) of the view's centre, metres.
        half_width: Half the side of the square view, metres.
        pixels: Side of the square image in pixels.
    """

    def __init__(
        self,
        scene: RaycastScene,
        center_xy: tuple[float, float],
        half_width: float,
        pixels: int = 400,
    ) -> None:
        self.pixels = pixels
        self.left = center_xy[0] - half_width
        self.top = center_xy[1] + half_width
        self.metres_per_pixel = 2.0 * half_width / pixels
        offsets = (np.arange(pixels) + 0.5) * self.metres_per_pixel
        grid_x, grid_y = np.meshgrid(self.left + offsets, self.top - offsets)
        heights = scene.height_at(grid_x.ravel(), grid_y.ravel()).reshape(grid_x.shape)
        off_map = ~np.isfinite(heights)
        if off_map.all():
            heights = np.zeros_like(heights)
        else:
            heights = np.where(off_map, np.nanmin(heights), heights)
        shade = LightSource(azdeg=315, altdeg=45).shade(
            heights,
            cmap=colormaps["gist_earth"],
            blend_mode="soft",
            vert_exag=1.0,
            dx=self.metres_per_pixel,
            dy=self.metres_per_pixel,
        )
        image = (shade[..., :3] * 255).astype(np.uint8)
        image[off_map] = (40, 40, 40)
        self.background = image

    def to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """Return (col, row) pixel coordinates of local (x, y) points, float."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        col = (xy[:, 0] - self.left) / self.metres_per_pixel
        row = (self.top - xy[:, 1]) / self.metres_per_pixel
        return np.stack([col, row], axis=1)

    def draw(
        self,
        path_xy: np.ndarray,
        vehicle_xy: np.ndarray,
        goal_xy: np.ndarray,
        goal_radius: float,
    ) -> np.ndarray:
        """Return an RGB image (pixels, pixels, 3) uint8 of the scene.

        Args:
            path_xy: Local positions flown so far, shape (n, 2), metres.
            vehicle_xy: Local position of the vehicle, shape (2,), metres.
            goal_xy: Local position of the goal, shape (2,), metres.
            goal_radius: Radius of the goal region, metres.
        """
        image = self.background.copy()
        rows, cols = np.mgrid[0 : self.pixels, 0 : self.pixels]
        goal = self.to_pixel(goal_xy)[0]
        ring = np.hypot(cols + 0.5 - goal[0], rows + 0.5 - goal[1])
        radius_px = max(goal_radius / self.metres_per_pixel, 4.0)
        image[np.abs(ring - radius_px) < 1.5] = (255, 215, 0)
        if len(path_xy) > 1:
            points = self.to_pixel(path_xy)
            for start, end in zip(points[:-1], points[1:], strict=True):
                self._line(image, start, end, (255, 255, 255))
        vehicle = self.to_pixel(vehicle_xy)[0]
        disc = np.hypot(cols + 0.5 - vehicle[0], rows + 0.5 - vehicle[1]) < 4.0
        image[disc] = (220, 30, 30)
        return image

    def _line(self, image, start, end, color) -> None:
        steps = int(max(abs(end[0] - start[0]), abs(end[1] - start[1]))) + 1
        cols = np.linspace(start[0], end[0], steps + 1).astype(np.int64)
        rows = np.linspace(start[1], end[1], steps + 1).astype(np.int64)
        inside = (cols >= 0) & (cols < self.pixels) & (rows >= 0) & (rows < self.pixels)
        image[rows[inside], cols[inside]] = color
