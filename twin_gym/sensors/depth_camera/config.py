"""Configuration of the pinhole depth camera."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from twin_gym.errors import InputError
from twin_gym.sensors.base import MountPose, check_count, check_positive

__all__ = ["DepthCameraConfig"]


@dataclass(frozen=True)
class DepthCameraConfig:
    """Image size, field of view, mounting, rate and noise of a depth camera.

    The camera looks along sensor +x. Image columns grow to the right
    (sensor -y) and rows grow downwards (sensor -z), with square pixels and
    the principal point at the image centre. Defaults are representative of
    a small stereo depth camera, not one unit's datasheet.

    Attributes:
        width: Image width in pixels, >= 1.
        height: Image height in pixels, >= 1.
        horizontal_fov_deg: Horizontal field of view in degrees, in (0, 180).
        max_range: Depth beyond which a pixel is invalid, metres, > 0.
        min_range: Depth below which a pixel is invalid, metres, >= 0.
        mount: Pose of the camera on the body.
        update_hz: Frames per second, > 0.
        depth_noise_coefficient: Standard deviation of the depth noise
            divided by depth squared, 1/metres, >= 0; stereo error grows with
            the square of depth. Default 0.002 (2 mm at 1 m, 8 mm at 2 m).
    """

    width: int = 160
    height: int = 120
    horizontal_fov_deg: float = 87.0
    max_range: float = 10.0
    min_range: float = 0.2
    mount: MountPose = field(default_factory=MountPose)
    update_hz: float = 30.0
    depth_noise_coefficient: float = 0.002

    def __post_init__(self):
        for name in ("width", "height"):
            check_count(name, getattr(self, name))
        check_positive("horizontal_fov_deg", self.horizontal_fov_deg)
        if self.horizontal_fov_deg >= 180.0:
            raise InputError(
                f"horizontal_fov_deg must be < 180 for a pinhole camera, got "
                f"{self.horizontal_fov_deg}."
            )
        check_positive("max_range", self.max_range)
        check_positive("min_range", self.min_range, allow_zero=True)
        if self.min_range >= self.max_range:
            raise InputError(
                f"min_range {self.min_range} must be below max_range {self.max_range}."
            )
        if not isinstance(self.mount, MountPose):
            raise InputError(f"mount must be a MountPose, got {self.mount!r}.")
        check_positive("update_hz", self.update_hz)
        check_positive(
            "depth_noise_coefficient", self.depth_noise_coefficient, allow_zero=True
        )

    @property
    def focal_px(self):
        """Focal length in pixels, from the width and horizontal field of view."""
        return 0.5 * self.width / math.tan(math.radians(0.5 * self.horizontal_fov_deg))
