"""A 3-D kinematic humanoid: body shapes, forward kinematics, two-bone IK, COCO-17 projection.

World frame: ``x`` to the side, ``y`` up (the floor is ``y = 0``), ``z`` forward; metres. Body
frame (pelvis, chest, limbs): ``x`` = the person's left, ``y`` = up, ``z`` = forward, so a person
with no rotation faces ``+z``. Angles are in degrees.

Joint angles (all per frame):

- root: ``yaw`` (about world ``y``), ``pitch`` (forward lean; +90 lies face down, -90 face up),
  ``roll`` (+ leans to the person's right; -90 lies on the left side);
- trunk: ``spine_flex`` (+ curls forward), ``spine_side`` (+ bends to the left), ``spine_twist``
  (+ turns the chest to the left), ``neck_flex``;
- per side ``l_``/``r_``: ``sh_flex`` (arm forward; 180 = overhead), ``sh_abd`` (arm out to the
  side), ``elbow`` (flexion), ``hip_flex`` (leg forward; negative = extension), ``hip_abd``,
  ``knee`` (flexion), ``ankle`` (plantarflexion; + points the toes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musclemap_lib.skeleton import JOINTS

# Internal joints of the humanoid (COCO-17 plus spine, pelvis, neck, hands, heels and toes).
JOINTS3D: tuple[str, ...] = (
    "pelvis",
    "spine",
    "neck",
    "head",
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_toe",
    "right_toe",
)
J3: dict[str, int] = {n: i for i, n in enumerate(JOINTS3D)}
NUM_JOINTS3D = len(JOINTS3D)

# COCO-17 joint k is internal joint COCO_FROM_3D[k] (musclemap_lib.skeleton.JOINTS order).
COCO_FROM_3D: tuple[int, ...] = tuple(J3[n] for n in JOINTS)

SIDES = ("l", "r")
ANGLE_NAMES: tuple[str, ...] = (
    "yaw",
    "pitch",
    "roll",
    "spine_flex",
    "spine_side",
    "spine_twist",
    "neck_flex",
) + tuple(
    f"{s}_{a}"
    for s in SIDES
    for a in ("sh_flex", "sh_abd", "elbow", "hip_flex", "hip_abd", "knee", "ankle")
)


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths and girths of one person (metres)."""

    height: float  # standing height
    torso: float  # pelvis centre to neck base
    neck: float  # neck base to head centre
    head_r: float  # head radius
    shoulder_w: float  # half distance between the shoulders
    hip_w: float  # half distance between the hip joints
    upper_arm: float  # shoulder to elbow
    forearm: float  # elbow to wrist
    hand: float  # wrist to fingertips
    thigh: float  # hip to knee
    shin: float  # knee to ankle
    ankle_h: float  # ankle joint above the sole
    foot: float  # heel to toe
    girth: float  # limb-thickness factor (1 = average)
    torso_depth: float  # chest/belly half depth, for shading and contact with the floor

    @property
    def arm(self) -> float:
        """Shoulder to wrist when straight."""
        return self.upper_arm + self.forearm

    @property
    def leg(self) -> float:
        """Hip to ankle when straight."""
        return self.thigh + self.shin


def sample_body(rng: np.random.Generator) -> BodyShape:
    """Draw a body: height, limb proportions, girth and a sex-typical build."""
    female = rng.random() < 0.5
    # ASSUMPTION: adult anthropometry (Drillis & Contini segment ratios, height 1.52-1.95 m).
    height = float(rng.normal(1.64 if female else 1.77, 0.07))
    height = float(np.clip(height, 1.52, 1.95))
    g = float(np.clip(rng.normal(1.0, 0.15), 0.75, 1.45))

    def p(ratio: float, sd: float = 0.04) -> float:
        return height * ratio * float(np.clip(rng.normal(1.0, sd), 0.9, 1.1))

    return BodyShape(
        height=height,
        torso=p(0.29),
        neck=p(0.105, 0.03),
        head_r=p(0.062, 0.03),
        shoulder_w=p(0.105 if female else 0.118, 0.05),
        hip_w=p(0.062 if female else 0.055, 0.05),
        upper_arm=p(0.172),
        forearm=p(0.150),
        hand=p(0.055, 0.03),
        thigh=p(0.245),
        shin=p(0.246),
        ankle_h=p(0.039, 0.02),
        foot=p(0.150, 0.03),
        girth=g * (0.92 if female else 1.0),
        torso_depth=p(0.06, 0.1) * g,
    )


def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    """Batched rotation matrices (T, 3, 3) about a coordinate axis."""
    a = np.deg2rad(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., j, j] = c
    out[..., i, j] = -s
    out[..., j, i] = s
    return out


def rx(deg: np.ndarray) -> np.ndarray:
    """Rotation about x (batched)."""
    return _rot(0, deg)


def ry(deg: np.ndarray) -> np.ndarray:
    """Rotation about y (batched)."""
    return _rot(1, deg)


def rz(deg: np.ndarray) -> np.ndarray:
    """Rotation about z (batched)."""
    return _rot(2, deg)


def _mv(r: np.ndarray, v: np.ndarray | tuple[float, float, float]) -> np.ndarray:
    """Apply (T,3,3) rotations to a vector (3,) or vectors (T,3)."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        return r @ v
    return np.einsum("tij,tj->ti", r, v)


DOWN = (0.0, -1.0, 0.0)


def two_bone_ik(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Place the middle joint of a two-bone limb so its end reaches ``target``.

    Args:
        root: (T, 3) shoulder or hip.
        target: (T, 3) wrist or ankle target; an unreachable target gets a straight limb
            pointing at it.
        l1: upper segment length. l2: lower segment length.
        pole: (T, 3) or (3,) direction the middle joint bends towards.

    Returns:
        (middle, end), each (T, 3).
    """
    d_vec = target - root
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    u = d_vec / np.maximum(d, 1e-9)
    d = np.clip(d, abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4)
    pole = np.broadcast_to(np.asarray(pole, dtype=np.float64), root.shape)
    v = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    cos_a = np.clip((l1**2 + d**2 - l2**2) / (2 * l1 * d), -1.0, 1.0)
    mid = root + l1 * (cos_a * u + np.sqrt(1 - cos_a**2) * v)
    return mid, root + u * d


@dataclass(frozen=True)
class Pin:
    """A limb end held at fixed world positions (hands on the floor or a bar, feet on the floor)."""

    side: str  # "l" or "r"
    limb: str  # "arm" (wrist pinned) or "leg" (ankle pinned)
    target: np.ndarray  # (3,) world position of the wrist or ankle
    pole: tuple[float, float, float]  # world direction the elbow/knee bends towards


def forward_kinematics(
    body: BodyShape,
    root_pos: np.ndarray,
    ang: dict[str, np.ndarray],
    pins: tuple[Pin, ...] = (),
) -> np.ndarray:
    """Joint positions of the humanoid.

    Args:
        body: the person's segment lengths.
        root_pos: (T, 3) pelvis position in the world.
        ang: every name of :data:`ANGLE_NAMES` -> (T,) degrees.
        pins: limbs solved by two-bone IK instead of their angles.

    Returns:
        (T, NUM_JOINTS3D, 3) world positions, in :data:`JOINTS3D` order.
    """
    t = root_pos.shape[0]
    out = np.zeros((t, NUM_JOINTS3D, 3))
    r_p = ry(ang["yaw"]) @ rx(ang["pitch"]) @ rz(ang["roll"])
    out[:, J3["pelvis"]] = root_pos
    spine = root_pos + _mv(r_p @ rx(ang["spine_flex"] * 0.5), (0.0, body.torso * 0.5, 0.0))
    r_c = r_p @ rx(ang["spine_flex"]) @ rz(-ang["spine_side"]) @ ry(ang["spine_twist"])
    neck = spine + _mv(r_c, (0.0, body.torso * 0.5, 0.0))
    r_h = r_c @ rx(ang["neck_flex"])
    head = neck + _mv(r_h, (0.0, body.neck, 0.015 * body.height))
    hr = body.head_r
    out[:, J3["spine"]] = spine
    out[:, J3["neck"]] = neck
    out[:, J3["head"]] = head
    out[:, J3["nose"]] = head + _mv(r_h, (0.0, -0.1 * hr, 1.05 * hr))
    out[:, J3["left_eye"]] = head + _mv(r_h, (0.38 * hr, 0.25 * hr, 0.88 * hr))
    out[:, J3["right_eye"]] = head + _mv(r_h, (-0.38 * hr, 0.25 * hr, 0.88 * hr))
    out[:, J3["left_ear"]] = head + _mv(r_h, (0.98 * hr, 0.0, 0.05 * hr))
    out[:, J3["right_ear"]] = head + _mv(r_h, (-0.98 * hr, 0.0, 0.05 * hr))
    pin_of = {(p.side, p.limb): p for p in pins}
    for s, name, sign in (("l", "left", 1.0), ("r", "right", -1.0)):
        # Arms hang from the shoulders (a little below the neck base).
        sh = neck + _mv(r_c, (sign * body.shoulder_w, -0.03 * body.height, 0.0))
        pin = pin_of.get((s, "arm"))
        if pin is None:
            r_u = r_c @ rx(-ang[f"{s}_sh_flex"]) @ rz(sign * ang[f"{s}_sh_abd"])
            elbow = sh + _mv(r_u, DOWN) * body.upper_arm
            r_f = r_u @ rx(-ang[f"{s}_elbow"])
            wrist = elbow + _mv(r_f, DOWN) * body.forearm
            hand = wrist + _mv(r_f, DOWN) * body.hand
        else:
            target = np.broadcast_to(pin.target, sh.shape)
            elbow, wrist = two_bone_ik(sh, target, body.upper_arm, body.forearm, np.array(pin.pole))
            fdir = wrist - elbow
            fdir = fdir / np.maximum(np.linalg.norm(fdir, axis=-1, keepdims=True), 1e-9)
            # A hand flat on a support points away from the body, not along the forearm.
            flat = np.array([fdir[0, 0], 0.0, fdir[0, 2]])
            flat = flat / max(np.linalg.norm(flat), 1e-6)
            hand = wrist + (0.5 * fdir + 0.5 * flat) * body.hand
        out[:, J3[f"{name}_shoulder"]] = sh
        out[:, J3[f"{name}_elbow"]] = elbow
        out[:, J3[f"{name}_wrist"]] = wrist
        out[:, J3[f"{name}_hand"]] = hand
        hip = root_pos + _mv(r_p, (sign * body.hip_w, -0.03 * body.height, 0.0))
        r_t = r_p @ rx(-ang[f"{s}_hip_flex"]) @ rz(sign * ang[f"{s}_hip_abd"])
        pin = pin_of.get((s, "leg"))
        if pin is None:
            knee = hip + _mv(r_t, DOWN) * body.thigh
            r_s = r_t @ rx(ang[f"{s}_knee"])
            ankle = knee + _mv(r_s, DOWN) * body.shin
        else:
            target = np.broadcast_to(pin.target, hip.shape)
            knee, ankle = two_bone_ik(hip, target, body.thigh, body.shin, np.array(pin.pole))
            sdir = ankle - knee
            sdir = sdir / np.maximum(np.linalg.norm(sdir, axis=-1, keepdims=True), 1e-9)
            # Rebuild a shin frame whose "down" is the IK shin, keeping the body's forward.
            fwd = _mv(r_p, (0.0, 0.0, 1.0))
            x_ax = np.cross(-sdir, fwd)
            x_ax /= np.maximum(np.linalg.norm(x_ax, axis=-1, keepdims=True), 1e-9)
            z_ax = np.cross(x_ax, -sdir)
            r_s = np.stack([x_ax, -sdir, z_ax], axis=-1)
        r_ft = r_s @ rx(ang[f"{s}_ankle"])
        heel = ankle + _mv(r_ft, (0.0, -body.ankle_h, -0.25 * body.foot))
        toe = ankle + _mv(r_ft, (0.0, -body.ankle_h, 0.75 * body.foot))
        out[:, J3[f"{name}_hip"]] = hip
        out[:, J3[f"{name}_knee"]] = knee
        out[:, J3[f"{name}_ankle"]] = ankle
        out[:, J3[f"{name}_heel"]] = heel
        out[:, J3[f"{name}_toe"]] = toe
    return out


# Radius (as a fraction of height) of the body surface around joints that can touch the floor.
CONTACT_RADIUS: dict[str, float] = {
    "pelvis": 0.055,
    "spine": 0.055,
    "neck": 0.045,
    "head": 0.062,
    "left_elbow": 0.022,
    "right_elbow": 0.022,
    "left_wrist": 0.018,
    "right_wrist": 0.018,
    "left_hand": 0.008,
    "right_hand": 0.008,
    "left_knee": 0.03,
    "right_knee": 0.03,
    "left_heel": 0.004,
    "right_heel": 0.004,
    "left_toe": 0.004,
    "right_toe": 0.004,
}


def floor_offset(joints: np.ndarray, body: BodyShape) -> np.ndarray:
    """(T,) height of the lowest body surface above the floor (shift by minus this to ground)."""
    idx = [J3[n] for n in CONTACT_RADIUS]
    rad = np.array([CONTACT_RADIUS[n] for n in CONTACT_RADIUS]) * body.height
    return (joints[:, idx, 1] - rad[None, :]).min(axis=1)


def to_coco(joints: np.ndarray) -> np.ndarray:
    """Select the COCO-17 joints: (T, NUM_JOINTS3D, C) -> (T, 17, C)."""
    return joints[:, list(COCO_FROM_3D)]
