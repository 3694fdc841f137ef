"""Beam layouts and noise figures of common spinning LiDARs.

Velodyne VLP-16 and HDL-32E values are those of their public datasheets:
VLP-16 has 16 channels from -15 to +15 degrees in 2 degree steps, 100 m
range and a typical range accuracy of +-3 cm. HDL-32E has 32 channels from
-30.67 to +10.67 degrees (1.33 degree spacing), 100 m range and a range
accuracy under 2 cm. The Ouster OS1 presets use the 45 degree (+-22.5)
vertical field of view of its uniform beam configuration with evenly spaced
channels, and 120 m range. Their noise figure is a representative value,
not a datasheet number.

Azimuth steps per revolution at 10 Hz are representative settings. The
datasheets give accuracy, not a distribution, so the presets use the stated
accuracy as the standard deviation of Gaussian range noise, an assumption.
"""

import numpy as np

LIDAR_PRESETS = {
    "VLP-16": {
        "elevation_table_deg": tuple(float(v) for v in np.arange(-15.0, 15.5, 2.0)),
        "max_range": 100.0,
        "range_noise_std": 0.03,
        "azimuth_steps": 1800,
        "update_hz": 10.0,
    },
    "HDL-32E": {
        "elevation_table_deg": tuple(float(v) for v in np.linspace(-30.67, 10.67, 32)),
        "max_range": 100.0,
        "range_noise_std": 0.02,
        "azimuth_steps": 2250,
        "update_hz": 10.0,
    },
    "OS1-64": {
        "elevation_table_deg": tuple(float(v) for v in np.linspace(-22.5, 22.5, 64)),
        "max_range": 120.0,
        "range_noise_std": 0.03,
        "azimuth_steps": 1024,
        "update_hz": 10.0,
    },
    "OS1-128": {
        "elevation_table_deg": tuple(float(v) for v in np.linspace(-22.5, 22.5, 128)),
        "max_range": 120.0,
        "range_noise_std": 0.03,
        "azimuth_steps": 1024,
        "update_hz": 10.0,
    },
}
"""Config fields of each preset, by model name."""
