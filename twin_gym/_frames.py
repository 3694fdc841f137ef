"""Frame helpers for sensors and moving shapes: pose checks and rotations.

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


def check_finite_rows(name, array, item="agent"):
    """Raise ``InputError`` naming the first row of ``array`` that is not finite.

    ``item`` is what one row is (an agent, a shape), for the message.
    """
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name} must be finite, but {item} {index} has {array[index].tolist()}."
        )


def validate_positions(pos_w):
    """Return agent positions of shape (n_agents, 3) as float64, or raise.

    Raises:
        InputError: If the shape is wrong or a value is not finite.
    """
    pos = np.asarray(pos_w, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise InputError(f"pos_w must have shape (n_agents, 3), got {pos.shape}.")
    check_finite_rows("pos_w", pos)
    return pos


def validate_poses(pos_w, quat_wb, quat_name="quat_wb", item="agent"):
    """Validate poses and return them as float64 arrays.

    Args:
        pos_w: Body origins in the local world frame in metres, shape
            (n_agents, 3).
        quat_wb: Body-to-world unit quaternions, scalar-first ``(w, x, y, z)``,
            shape (n_agents, 4).
        quat_name: The caller's name for ``quat_wb``, used in error messages.
        item: What one row is (an agent, a shape), used in error messages.

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
        raise InputError(f"pos_w must have shape (n_{item}s, 3), got {pos.shape}.")
    if quat.shape != (pos.shape[0], 4):
        raise InputError(
            f"{quat_name} must have shape ({pos.shape[0]}, 4) to match pos_w, got "
            f"{quat.shape}."
        )
    check_finite_rows("pos_w", pos, item)
    check_finite_rows(quat_name, quat, item)
    norms = np.linalg.norm(quat, axis=1)
    off = np.abs(norms - 1.0) > QUAT_NORM_TOLERANCE
    if off.any():
        index = int(np.flatnonzero(off)[0])
        raise InputError(
            f"{quat_name} must contain unit quaternions (w, x, y, z), but {item} "
            f"{index} has norm {norms[index]:.6g}. Normalise it before the call."
        )
    return pos, quat / norms[:, None]


def validate_pose_history(pose_history, n_agents=None):
    """Validate timed pose histories and return them as a float64 array.

    Args:
        pose_history: Rows ``[t, pos_w (3), quat_wb (4)]`` per agent, shape
            (n_agents, k, 8) with k >= 1 and ``t`` in seconds, not
            decreasing along k.
        n_agents: The number of agents expected, or None for any.

    Returns:
        The histories as a new float64 array, with each quaternion
        renormalised to unit length.

    Raises:
        InputError: If the shape is wrong, a value is not finite, the times
            decrease or a quaternion norm differs from 1 by more than
            ``QUAT_NORM_TOLERANCE``.
    """
    history = np.array(pose_history, dtype=np.float64)
    agents = history.shape[0] if n_agents is None else n_agents
    if (
        history.ndim != 3
        or history.shape[0] != agents
        or history.shape[1] < 1
        or history.shape[2] != 8
    ):
        raise InputError(
            f"pose_history must have shape ({agents}, k, 8) with k >= 1 and rows "
            f"[t, pos_w, quat_wb], got {history.shape}."
        )
    bad = ~np.isfinite(history).all(axis=2)
    if bad.any():
        agent, row = (int(i[0]) for i in np.nonzero(bad))
        raise InputError(
            f"pose_history must be finite, but agent {agent} row {row} has "
            f"{history[agent, row].tolist()}."
        )
    decreasing = np.diff(history[:, :, 0], axis=1) < 0.0
    if decreasing.any():
        agent, row = (int(i[0]) for i in np.nonzero(decreasing))
        before, after = history[agent, row : row + 2, 0].tolist()
        raise InputError(
            f"pose_history times must not decrease, but agent {agent} goes from "
            f"t = {before!r} to {after!r} s. Sort its rows by time."
        )
    norms = np.linalg.norm(history[:, :, 4:8], axis=2)
    not_unit = np.abs(norms - 1.0) > QUAT_NORM_TOLERANCE
    if not_unit.any():
        agent, row = (int(i[0]) for i in np.nonzero(not_unit))
        raise InputError(
            f"pose_history must contain unit quaternions (w, x, y, z), but agent "
            f"{agent} row {row} has norm {norms[agent, row]:.6g}. Normalise it "
            "before the call."
        )
    history[:, :, 4:8] /= norms[:, :, None]
    return history


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


def quaternion_multiply(q1, q2):
    """Return the Hamilton products ``q1 * q2`` of scalar-first quaternions.

    Args:
        q1: Quaternions ``(w, x, y, z)``, shape (..., 4).
        q2: Quaternions ``(w, x, y, z)``, broadcastable with ``q1``.

    Returns:
        The products, float64, with the broadcast shape.
    """
    q1 = np.asarray(q1, np.float64)
    q2 = np.asarray(q2, np.float64)
    w1, x1, y1, z1 = np.moveaxis(q1, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(q2, -1, 0)
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def slerp(q0, q1, fraction):
    """Interpolate unit quaternions along the shorter great arc.

    Args:
        q0: Start quaternions ``(w, x, y, z)``, shape (n, 4).
        q1: End quaternions, shape (n, 4).
        fraction: Interpolation parameter in [0, 1], shape (n,).

    Returns:
        Unit quaternions, shape (n, 4), float64.
    """
    q0 = np.asarray(q0, np.float64)
    q1 = np.array(q1, np.float64)
    fraction = np.asarray(fraction, np.float64)[:, None]
    dot = np.sum(q0 * q1, axis=1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_angle = np.sin(angle)
    # Nearly equal quaternions fall back to normalised linear interpolation.
    close = sin_angle < 1e-9
    safe = np.where(close, 1.0, sin_angle)
    w0 = np.where(close, 1.0 - fraction, np.sin((1.0 - fraction) * angle) / safe)
    w1 = np.where(close, fraction, np.sin(fraction * angle) / safe)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def interpolate_poses(pose_history, times_s):
    """Interpolate one agent's pose history at given times.

    Positions are interpolated linearly and attitudes by slerp between the
    two stored poses around each time. Times outside the history take the
    nearest stored pose.

    Args:
        pose_history: Rows ``[t, pos_w (3), quat_wb (4)]`` with ascending
            ``t`` in seconds, shape (k, 8), as ``DroneSim.pose_history[i]``.
        times_s: Query times in seconds, shape (m,).

    Returns:
        ``(pos_w, quat_wb)`` with shapes (m, 3) and (m, 4), float64.
    """
    history = np.asarray(pose_history, np.float64)
    times = history[:, 0]
    query = np.clip(np.asarray(times_s, np.float64), times[0], times[-1])
    upper = np.clip(np.searchsorted(times, query, side="right"), 1, len(times) - 1)
    lower = upper - 1
    span = times[upper] - times[lower]
    fraction = np.where(
        span > 0.0, (query - times[lower]) / np.where(span > 0, span, 1), 0.0
    )
    pos = history[lower, 1:4] + fraction[:, None] * (
        history[upper, 1:4] - history[lower, 1:4]
    )
    quat = slerp(history[lower, 4:8], history[upper, 4:8], fraction)
    return pos, quat
