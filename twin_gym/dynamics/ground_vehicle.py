"""Ground-vehicle parameters, surface traction and presets.

State array, one row per vehicle, float64, shape (num_vehicles, 10):

* ``pos_w[0:3]``: position in the world frame (ENU), m. x and y are the centre
  of mass projected on the ground. z is the surface height under it, on the
  plane through the four wheel contacts.
* ``yaw[3]``: heading in rad, counter-clockwise from east.
* ``vel_b[4:6]``: velocity of the centre of mass along body x (forward) and
  body y (left) in the plane of the wheels, m/s.
* ``yaw_rate[6]``: rate of change of ``yaw``, rad/s.
* ``steer_angle[7]``: front-wheel steering angle in rad, positive to the left.
* ``pitch[8]``: nose-up angle of the wheel plane in rad, from the surface.
* ``roll[9]``: left-side-up angle of the wheel plane in rad, from the surface.

The model is a single-track (bicycle) model. Below ``kinematic_speed`` it is
kinematic: the wheels roll without lateral slip, so the rear axle follows a
circle of radius ``wheelbase / tan(steer_angle)``. Above ``dynamic_speed`` it
is dynamic: each axle's lateral force follows Pacejka's magic formula in the
slip angle, scaled so that its peak is the friction limit ``mu F_z`` (see
``_ground_kernels``). Between the two the derivatives blend linearly in speed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from twin_gym.dynamics import _ground_kernels as gk
from twin_gym.errors import InputError
from twin_gym.terrain.classes import SurfaceClass

POS_W = slice(0, 3)
YAW = 3
VEL_B = slice(4, 6)
YAW_RATE = 6
STEER_ANGLE = 7
PITCH = 8
ROLL = 9
VEHICLE_STATE_SIZE = gk.STATE_SIZE


@dataclass(frozen=True)
class SurfaceTraction:
    """Traction of one surface class.

    Attributes:
        friction: Peak tyre-surface friction coefficient mu, dimensionless.
        rolling_resistance: Rolling resistance coefficient C_rr: the
            resisting force is ``C_rr`` times the normal load.
        blocked: Whether a vehicle cannot enter the class (a collision).
    """

    friction: float
    rolling_resistance: float
    blocked: bool = False


# NOTE: representative textbook magnitudes for pneumatic tyres (dry asphalt
# mu about 0.8-0.9 and C_rr about 0.015; packed dirt mu about 0.6; grass mu
# about 0.4-0.5 with several times the rolling resistance), not measured on
# the twin's surfaces. Water, buildings, obstacles and cells without data
# block the vehicle.
DEFAULT_TRACTION: Mapping[SurfaceClass, SurfaceTraction] = {
    SurfaceClass.GROUND: SurfaceTraction(friction=0.6, rolling_resistance=0.05),
    SurfaceClass.ROAD: SurfaceTraction(friction=0.9, rolling_resistance=0.015),
    SurfaceClass.BUILDING: SurfaceTraction(0.0, 0.0, blocked=True),
    SurfaceClass.WATER: SurfaceTraction(0.0, 0.0, blocked=True),
    SurfaceClass.VEGETATION: SurfaceTraction(friction=0.45, rolling_resistance=0.08),
    SurfaceClass.OBSTACLE: SurfaceTraction(0.0, 0.0, blocked=True),
    SurfaceClass.NO_DATA: SurfaceTraction(0.0, 0.0, blocked=True),
}
"""Traction per surface class used unless a simulation is given another."""


def traction_table(
    traction: Mapping[SurfaceClass, SurfaceTraction] | None = None,
) -> np.ndarray:
    """Pack a traction mapping into the kernels' table.

    Args:
        traction: Traction per class; classes left out use
            ``DEFAULT_TRACTION``. None for the defaults.

    Returns:
        Shape (256, 3), float64: friction, rolling resistance and 1.0 where
        blocked, indexed by the ``uint8`` class value. Values without a
        ``SurfaceClass`` are blocked.
    """
    merged = dict(DEFAULT_TRACTION)
    if traction is not None:
        merged.update(traction)
    table = np.zeros((256, 3))
    table[:, gk.T_BLOCKED] = 1.0
    for surface, entry in merged.items():
        if not isinstance(entry, SurfaceTraction):
            raise InputError(
                f"traction[{surface!r}] must be a SurfaceTraction, got "
                f"{type(entry).__name__}"
            )
        if not entry.blocked and not (
            entry.friction > 0.0 and entry.rolling_resistance >= 0.0
        ):
            raise InputError(
                f"traction[{SurfaceClass(surface).name}] needs friction > 0 and "
                f"rolling_resistance >= 0, got {entry}"
            )
        table[int(surface)] = (
            entry.friction,
            entry.rolling_resistance,
            1.0 if entry.blocked else 0.0,
        )
    return table


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(
            f"GroundVehicleParams.{name} must be a finite number > 0, got {value!r}"
        )


@dataclass(frozen=True)
class GroundVehicleParams:
    """Physical parameters of a four-wheeled vehicle as a single-track model.

    Attributes:
        mass: Mass in kg.
        yaw_inertia: Moment of inertia about the vertical axis through the
            centre of mass, kg m^2.
        wheelbase: Distance in m between the front and rear axles.
        cg_to_front: Distance in m from the centre of mass to the front
            axle, in (0, wheelbase).
        track_width: Distance in m between the left and right wheels.
        cg_height: Height in m of the centre of mass above the ground.
        max_steer_angle: Largest front-wheel angle in rad, either side.
        max_steer_rate: Largest steering rate in rad/s.
        max_drive_force: Largest total drive force at the wheels in N.
        max_drive_power: Largest drive power at the wheels in W. Above
            ``max_drive_power / max_drive_force`` m/s the force falls as
            ``power / speed``.
        max_brake_force: Largest total brake force in N.
        drag_area: Drag coefficient times frontal area, m^2 (air density
            1.225 kg/m^3).
        driven_axles: ``"front"``, ``"rear"`` or ``"all"``: whose normal load
            limits the drive force to ``mu F_z``.
        tyre_shape_b: Magic formula stiffness factor B, 1/rad.
        tyre_shape_c: Magic formula shape factor C.
        tyre_shape_e: Magic formula curvature factor E.
        kinematic_speed: Speed in m/s below which the model is kinematic.
        dynamic_speed: Speed in m/s above which the model is dynamic.
    """

    mass: float
    yaw_inertia: float
    wheelbase: float
    cg_to_front: float
    track_width: float
    cg_height: float
    max_steer_angle: float
    max_steer_rate: float
    max_drive_force: float
    max_drive_power: float
    max_brake_force: float
    drag_area: float
    driven_axles: Literal["front", "rear", "all"]
    tyre_shape_b: float = 10.0
    tyre_shape_c: float = 1.9
    tyre_shape_e: float = 0.97
    kinematic_speed: float = 1.0
    dynamic_speed: float = 3.0

    def __post_init__(self) -> None:
        for name in (
            "mass",
            "yaw_inertia",
            "wheelbase",
            "cg_to_front",
            "track_width",
            "cg_height",
            "max_steer_angle",
            "max_steer_rate",
            "max_drive_force",
            "max_drive_power",
            "max_brake_force",
            "tyre_shape_b",
            "tyre_shape_c",
            "dynamic_speed",
        ):
            _check_positive(name, getattr(self, name))
        if not (math.isfinite(self.drag_area) and self.drag_area >= 0.0):
            raise InputError(
                f"GroundVehicleParams.drag_area must be >= 0, got {self.drag_area!r}"
            )
        if not 0.0 < self.cg_to_front < self.wheelbase:
            raise InputError(
                "GroundVehicleParams.cg_to_front must lie in (0, wheelbase) = "
                f"(0, {self.wheelbase}), got {self.cg_to_front!r}"
            )
        if not self.max_steer_angle < 0.5 * math.pi:
            raise InputError(
                "GroundVehicleParams.max_steer_angle must be below pi/2 rad, got "
                f"{self.max_steer_angle!r}"
            )
        if self.driven_axles not in ("front", "rear", "all"):
            raise InputError(
                "GroundVehicleParams.driven_axles must be 'front', 'rear' or "
                f"'all', got {self.driven_axles!r}"
            )
        if not self.tyre_shape_e <= 1.0:
            raise InputError(
                "GroundVehicleParams.tyre_shape_e must be <= 1 so that the lateral "
                f"force keeps its sign, got {self.tyre_shape_e!r}"
            )
        if not 0.0 <= self.kinematic_speed < self.dynamic_speed:
            raise InputError(
                "GroundVehicleParams needs 0 <= kinematic_speed < dynamic_speed, "
                f"got {self.kinematic_speed!r} and {self.dynamic_speed!r}"
            )

    @property
    def static_stability_factor(self) -> float:
        """Static stability factor ``track_width / (2 cg_height)``.

        It is the lateral acceleration in g at which a rigid vehicle tips, and
        the tangent of its tipping angle at rest.
        """
        return self.track_width / (2.0 * self.cg_height)

    def driven_load_fraction(self, pitch: float = 0.0) -> float:
        """Return the share of the normal load on the driven wheels on a slope.

        Args:
            pitch: Nose-up slope angle in rad; climbing moves load rearward.
        """
        return gk.driven_load_fraction(self.to_array(), pitch)

    def max_climbable_slope(self, friction: float, rolling_resistance: float) -> float:
        """Return the steepest slope in rad the vehicle can climb from rest.

        Climbing at constant speed needs ``F = m g (sin t + C_rr cos t)``,
        which the motor (``max_drive_force``) and the driven wheels' grip
        (``mu`` times their share of ``m g cos t``) must both supply. The
        root is found by bisection.
        """
        row = self.to_array()
        low, high = 0.0, 0.5 * math.pi
        for _ in range(60):
            mid = 0.5 * (low + high)
            if gk.can_climb(row, mid, friction, rolling_resistance):
                low = mid
            else:
                high = mid
        return low

    def to_array(self) -> np.ndarray:
        """Pack the parameters into the row layout the kernels read.

        Returns:
            Shape (NUM_PARAMS,), float64, columns ``_ground_kernels.V_*``.
        """
        row = np.zeros(gk.NUM_PARAMS)
        row[gk.V_MASS] = self.mass
        row[gk.V_YAW_INERTIA] = self.yaw_inertia
        row[gk.V_WHEELBASE] = self.wheelbase
        row[gk.V_CG_TO_FRONT] = self.cg_to_front
        row[gk.V_TRACK_WIDTH] = self.track_width
        row[gk.V_CG_HEIGHT] = self.cg_height
        row[gk.V_MAX_STEER_ANGLE] = self.max_steer_angle
        row[gk.V_MAX_STEER_RATE] = self.max_steer_rate
        row[gk.V_MAX_DRIVE_FORCE] = self.max_drive_force
        row[gk.V_MAX_DRIVE_POWER] = self.max_drive_power
        row[gk.V_MAX_BRAKE_FORCE] = self.max_brake_force
        row[gk.V_DRAG_AREA] = self.drag_area
        row[gk.V_DRIVEN_AXLES] = {"front": 0.0, "rear": 1.0, "all": 2.0}[
            self.driven_axles
        ]
        row[gk.V_TYRE_B] = self.tyre_shape_b
        row[gk.V_TYRE_C] = self.tyre_shape_c
        row[gk.V_TYRE_E] = self.tyre_shape_e
        row[gk.V_KINEMATIC_SPEED] = self.kinematic_speed
        row[gk.V_DYNAMIC_SPEED] = self.dynamic_speed
        return row


# NOTE: representative estimates for a 50 kg four-wheel-drive field rover of
# the 1 m class (the size of common research and agricultural platforms),
# not the datasheet of one product. Its drive power caps the speed on flat
# ground near 5 m/s. Its static stability factor is 1.2 and it
# climbs about 29 degrees on the default GROUND traction (grip-limited).
FIELD_ROVER = GroundVehicleParams(
    mass=50.0,
    yaw_inertia=4.0,
    wheelbase=0.6,
    cg_to_front=0.3,
    track_width=0.6,
    cg_height=0.25,
    max_steer_angle=math.radians(35.0),
    max_steer_rate=math.radians(90.0),
    max_drive_force=300.0,
    max_drive_power=150.0,
    max_brake_force=500.0,
    drag_area=0.4,
    driven_axles="all",
    kinematic_speed=0.5,
    dynamic_speed=1.5,
)
"""Small four-wheel-drive field rover, 50 kg (representative estimates)."""

# NOTE: representative values for a 1,500 kg front-wheel-drive compact car
# (wheelbase 2.7 m, track 1.55 m, centre of mass 0.55 m high, 100 kW, about
# 0.65 m^2 drag area), typical of the class rather than one model's data.
# Magic formula B, C, E = 10, 1.9, 0.97 are the values commonly quoted for a
# dry tarmac tyre with the peak normalised to mu F_z.
PASSENGER_CAR = GroundVehicleParams(
    mass=1500.0,
    yaw_inertia=2500.0,
    wheelbase=2.7,
    cg_to_front=1.1,
    track_width=1.55,
    cg_height=0.55,
    max_steer_angle=math.radians(35.0),
    max_steer_rate=math.radians(60.0),
    max_drive_force=6000.0,
    max_drive_power=100_000.0,
    max_brake_force=15_000.0,
    drag_area=0.65,
    driven_axles="front",
    kinematic_speed=2.0,
    dynamic_speed=5.0,
)
"""Front-wheel-drive compact passenger car, 1,500 kg (representative)."""

PRESETS: Mapping[str, GroundVehicleParams] = {
    "field_rover": FIELD_ROVER,
    "passenger_car": PASSENGER_CAR,
}
"""Ground-vehicle presets by name."""


def get_preset(name: str) -> GroundVehicleParams:
    """Return the ground-vehicle preset called ``name``.

    Raises:
        InputError: If no preset has that name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            f"ground-vehicle preset {name!r} not found, choose one of {sorted(PRESETS)}"
        ) from None
