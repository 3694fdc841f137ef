"""Frame helpers for sensors: pose validation and body-to-world rotation.

Quaternions are scalar-first ``(w, x, y, z)`` and ``quat_wb`` rotates vectors
from the body frame (FLU: x forward, y left, z up) into the local world frame
(x east, y north, z up).
"""

import numpy as np

from twin_gym.errors import InputError

QUAT_NORM_TOLERANCE = 1e-3
"""Maximum allowed ``abs(norm - 1)`` of an input quaternion before it is rejected.

Quaternions within the tolerance are renormalised, which absorbs the drift of
float32 integration without hiding a quaternion that is not a rotation.
"""


def validate_poses(pos_w, quat_wb):
    """Validate agent poses and return them as float64 arrays.

    Args:
        pos_w: Body origins in the local world frame in metres, shape
            (n_agents, 3).
        quat_wb: Body-to-world unit quaternions, scalar-first ``(w, x, y, z)``,
            shape (n_agents, 4).

    Returns:
        ``(pos_w, quat_wb)`` as contiguous float64 arrays, with each quaternion
        renormalised to unit length.

    Raises:
        InputError: If a shape is wrong, a value is not finite or a quaternion
            norm differs from 1 by more than ``QUAT_NORM_TOLERANCE``.
    """
    pos = np.ascontiguousarray(pos_w, dtype=np.float64)
    quat = np.ascontiguousarray(quat_wb, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise InputError(f"pos_w must have shape (n_agents, 3), got {pos.shape}.")
    if quat.shape != (pos.shape[0], 4):
        raise InputError(
            f"quat_wb must have shape ({pos.shape[0]}, 4) to match pos_w, got "
            f"{quat.shape}."
        )
    for name, array in (("pos_w", pos), ("quat_wb", quat)):
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be finite, but agent {index} has {array[index].tolist()}."
            )
    norms = np.linalg.norm(quat, axis=1)
    off = np.abs(norms - 1.0) > QUAT_NORM_TOLERANCE
    if off.any():
        index = int(np.flatnonzero(off)[0])
        raise InputError(
            f"quat_wb must contain unit quaternions (w, x, y, z), but agent {index} "
            f"has norm {norms[index]:.6g}. Normalise it before the call."
        )
    return pos, quat / norms[:, None]


def rotation_matrices(quat_wb):
    """Return the rotation matrices of scalar-first unit quaternions.

    Args:
        quat_wb: Unit quaternions ``(w, x, y, z)``, shape (n, 4), float64.

    Returns:
        Matrices ``R_wb`` with ``v_w = R_wb @ v_b``, shape (n, 3, 3), float64.
    """
    w, x, y, z = (quat_wb[:, k] for k in range(4))
    matrices = np.empty((quat_wb.shape[0], 3, 3), dtype=np.float64)
    matrices[:, 0, 0] = 1.0 - 2.0 * (y * y + z * z)
    matrices[:, 0, 1] = 2.0 * (x * y - w * z)
    matrices[:, 0, 2] = 2.0 * (x * z + w * y)
    matrices[:, 1, 0] = 2.0 * (x * y + w * z)
    matrices[:, 1, 1] = 1.0 - 2.0 * (x * x + z * z)
    matrices[:, 1, 2] = 2.0 * (y * z - w * x)
    matrices[:, 2, 0] = 2.0 * (x * z - w * y)
    matrices[:, 2, 1] = 2.0 * (y * z + w * x)
    matrices[:, 2, 2] = 1.0 - 2.0 * (x * x + y * y)
    return matrices


def rotate_body_to_world(quat_wb, vectors_b):
    """Rotate the same body-frame vectors by each agent's attitude.

    Args:
        quat_wb: Unit quaternions ``(w, x, y, z)``, shape (n_agents, 4),
            float64.
        vectors_b: Vectors in the body frame, shape (m, 3).

    Returns:
        The vectors in the world frame, shape (n_agents, m, 3), float64.
    """
    matrices = rotation_matrices(quat_wb)
    return np.einsum("aij,mj->ami", matrices, np.asarray(vectors_b, np.float64))
