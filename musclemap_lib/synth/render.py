"""An in-the-wild renderer for the humanoid (NumPy + OpenCV, no GPU).

A pinhole camera orbits the person (yaw over a wide arc, pitch, distance, framing). The scene (a
room with walls, floor in perspective, windows, furniture and a mat, or an outdoor space) is
drawn once per source video, because the camera of a source video does not move except for
shake. Each frame then draws the person as depth-ordered, shaded capsules and a torso polygon,
props (bar, bench, wall panel), and applies lighting, camera shake, motion blur and sensor
noise. Scene, clothing and camera are drawn independently of the activity.
``SCENE_RANGES`` names how widely they vary: ``wild`` (the above) or ``studio`` (a plain backdrop
and front-ish viewpoints, for the cpu study's few-epoch from-scratch RGB models). The camera and
the polygon and box primitives live in :mod:`musclemap_lib.synth.camera`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from musclemap_lib.synth.camera import Camera, draw_box, fill_polygon, look_at
from musclemap_lib.synth.kinematics import J3, BodyShape, to_coco


@dataclass(frozen=True)
class Appearance:
    """Clothing, skin and shoe colours of one person (BGR, 0-255)."""

    skin: tuple[int, int, int]  # skin colour
    hair: tuple[int, int, int]  # hair colour
    top: tuple[int, int, int]  # shirt colour
    bottom: tuple[int, int, int]  # trousers/shorts colour
    shoes: tuple[int, int, int]  # shoe colour
    long_sleeves: bool  # sleeves cover the forearms
    long_legs: bool  # trousers cover the shins


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Random clothing/skin colours, independent of the activity."""
    tones = [(190, 210, 240), (150, 180, 225), (110, 145, 195), (75, 105, 150), (50, 70, 105)]
    skin = np.array(tones[rng.integers(len(tones))]) + rng.integers(-12, 13, 3)
    hair = np.array(
        [(20, 20, 25), (30, 45, 70), (60, 90, 130), (150, 190, 220), (90, 90, 95)][rng.integers(5)]
    )

    def cloth() -> tuple[int, int, int]:
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(0, 255), rng.integers(40, 240)]]])
        return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])

    return Appearance(
        skin=tuple(int(c) for c in np.clip(skin, 0, 255)),
        hair=tuple(int(c) for c in hair),
        top=cloth(),
        bottom=cloth(),
        shoes=cloth(),
        long_sleeves=bool(rng.random() < 0.35),
        long_legs=bool(rng.random() < 0.5),
    )


@dataclass(frozen=True)
class Scene:
    """Per-source scene, camera and effects."""

    kind: str  # "room", "gym", "outdoor" or "studio"
    seed: int  # seed of the procedural layout
    yaw: float  # camera azimuth around the person (degrees; 0 = in front)
    elev: float  # camera elevation (degrees)
    dist: float  # camera distance factor (relative to the framing distance)
    fill: float  # fraction of the frame the motion's extent fills
    offset: tuple[float, float]  # framing offset of the person (fraction of the frame)
    gains: tuple[float, float, float]  # colour temperature (BGR gains)
    brightness: float  # global brightness factor
    light: tuple[float, float, float]  # direction of the key light (world)
    shake: float  # camera shake amplitude (pixels at 96 px)
    blur: float  # motion-blur mix with the previous frame
    noise: float  # sensor noise std (0-255 scale)
    mat: tuple[int, int, int]  # mat colour
    has_mat: bool  # a mat lies under the person


@dataclass(frozen=True)
class SceneRanges:
    """How widely scenes, cameras and effects vary (uniform ranges)."""

    kinds: tuple[str, ...]  # scene kinds drawn from (repeats weight a kind)
    yaw: tuple[float, float]  # camera azimuth (degrees)
    elev: tuple[float, float]  # camera elevation (degrees)
    dist: tuple[float, float]  # camera distance factor
    fill: tuple[float, float]  # fraction of the frame the motion fills
    blur: tuple[float, float]  # motion-blur mix
    noise: tuple[float, float]  # sensor noise std


SCENE_RANGES: dict[str, SceneRanges] = {
    # In the wild: rooms, gyms and parks with clutter, any viewpoint from front to behind.
    "wild": SceneRanges(
        ("room", "room", "gym", "outdoor"),
        (-125, 125),
        (2, 32),
        (1.0, 1.6),
        (0.62, 0.9),
        (0.0, 0.45),
        (1.0, 7.0),
    ),
    # A plain backdrop (no walls, furniture or trees; exercise props stay), viewpoints within 60
    # degrees of the front and milder blur and noise. ASSUMPTION: the cpu study's from-scratch RGB
    # models learn from this within their few epochs (issue 6 measured c2d_r50 at 6 epochs, known
    # test mAP: 24.7 to 25.5 on "wild" scenes, 29.4 to 39.3 on "studio" ones; Random 20.7).
    "studio": SceneRanges(
        ("studio",), (-60, 60), (5, 20), (1.3, 1.6), (0.75, 0.9), (0.0, 0.2), (1.0, 3.0)
    ),
}


def sample_scene(rng: np.random.Generator, scenes: str = "wild") -> Scene:
    """Random scene, camera and effects, independent of the activity.

    ``scenes`` names the :data:`SCENE_RANGES` entry to draw from.
    """
    if scenes not in SCENE_RANGES:
        raise ValueError(f"unknown scene ranges {scenes!r}; choose from {', '.join(SCENE_RANGES)}")
    r = SCENE_RANGES[scenes]
    d = rng.normal(size=3)
    d[1] = abs(d[1]) + 1.0
    temp = rng.uniform(-1, 1)
    return Scene(
        kind=str(rng.choice(list(r.kinds))),
        seed=int(rng.integers(2**31)),
        yaw=float(rng.uniform(*r.yaw)),
        elev=float(rng.uniform(*r.elev)),
        dist=float(rng.uniform(*r.dist)),
        fill=float(rng.uniform(*r.fill)),
        offset=(float(rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.06, 0.06))),
        gains=(1.0 - 0.18 * temp, 1.0, 1.0 + 0.18 * temp),
        brightness=float(rng.uniform(0.7, 1.15)),
        light=tuple(float(x) for x in d / np.linalg.norm(d)),
        shake=float(rng.choice([0.0, rng.uniform(0.2, 1.2)])),
        blur=float(rng.uniform(*r.blur)),
        noise=float(rng.uniform(*r.noise)),
        mat=tuple(int(c) for c in rng.integers(30, 220, 3)),
        has_mat=bool(rng.random() < 0.7),
    )


def make_camera(scene: Scene, joints: np.ndarray, w: int, h: int) -> Camera:
    """Frame the whole source motion ``joints`` (N, J, 3) from the scene's viewpoint."""
    lo, hi = joints.reshape(-1, 3).min(0), joints.reshape(-1, 3).max(0)
    center = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.5)
    yaw, el = np.deg2rad(scene.yaw), np.deg2rad(scene.elev)
    dist = 3.2 * scene.dist + radius
    direction = np.array([np.sin(yaw) * np.cos(el), np.sin(el), np.cos(yaw) * np.cos(el)])
    pos = center + direction * dist
    pos[1] = max(pos[1], 0.3)
    cam = look_at(pos, center, 1.0, 0, 0)  # unit focal length, principal point at 0
    # Focal length so that the motion's projected extent fills `fill` of the frame.
    uv, _ = cam.project(joints.reshape(-1, 3))
    ext = max(np.ptp(uv[:, 0]) / w, np.ptp(uv[:, 1]) / h, 1e-3)
    # The view-independent size of the motion (its 3D bounding-box diagonal) caps the zoom, so a
    # foreshortened view (a push-up seen head-on) is not blown up into an extreme close-up.
    # ASSUMPTION: 1.4 x the diagonal's angular size; the diagonal overstates the visible extent.
    dist_c = float(np.linalg.norm(pos - center))
    f = min(scene.fill / ext, 1.4 * scene.fill * min(w, h) * dist_c / (2 * radius))
    cx = w / 2 - f * (uv[:, 0].mean()) + scene.offset[0] * w
    cy = h / 2 - f * (uv[:, 1].mean()) + scene.offset[1] * h
    return Camera(pos, cam.rot, f, cx, cy)


def render_background(
    scene: Scene, cam: Camera, w: int, h: int, center: np.ndarray, body_axis: np.ndarray
) -> np.ndarray:
    """The static scene of a source video: (H, W, 3) uint8 BGR."""
    rng = np.random.default_rng(scene.seed)
    img = np.zeros((h, w, 3), np.uint8)
    light = np.array(scene.light)
    # Sky/ceiling gradient behind everything.
    top = rng.integers(150, 255, 3) if scene.kind == "outdoor" else rng.integers(120, 240, 3)
    bot = top * rng.uniform(0.6, 0.95)
    grad = np.linspace(0, 1, h)[:, None, None]
    img[:] = (top * (1 - grad) + bot * grad).astype(np.uint8)
    if scene.kind == "studio":  # a plain backdrop: nothing else
        return img
    if scene.kind == "outdoor":
        img[:] = (np.array([235, 200, 150]) * (1 - grad) + np.array([250, 230, 210]) * grad).astype(
            np.uint8
        )
    s = 6.0 if scene.kind != "gym" else 9.0
    room_yaw = rng.uniform(0, 2 * np.pi)
    rot = np.array(
        [
            [np.cos(room_yaw), 0, np.sin(room_yaw)],
            [0, 1, 0],
            [-np.sin(room_yaw), 0, np.cos(room_yaw)],
        ]
    )
    cxz = center * np.array([1, 0, 1])

    def wp(x: float, y: float, z: float) -> np.ndarray:
        return rot @ np.array([x, y, z]) + cxz

    floor_col = {
        "room": rng.integers(60, 200, 3),
        "gym": rng.integers(30, 120, 3),
        "outdoor": np.array([60, 140, 70]) * rng.uniform(0.6, 1.2, 3),
    }[scene.kind]
    fill_polygon(
        img,
        cam,
        np.array([wp(-s, 0, -s), wp(s, 0, -s), wp(s, 0, s), wp(-s, 0, s)]),
        tuple(int(c) for c in np.clip(floor_col, 0, 255)),
    )
    # Floor texture: planks or tiles as lines in perspective.
    step = rng.uniform(0.3, 0.9)
    line_col = tuple(int(c) for c in np.clip(floor_col * 0.75, 0, 255))
    for v in np.arange(-s, s, step):
        for a, b in ((wp(v, 0, -s), wp(v, 0, s)), (wp(-s, 0, v), wp(s, 0, v))):
            if scene.kind == "outdoor" or (rng.random() < 0.5 and a[0] != b[0]):
                continue
            seg = np.linspace(a, b, 24)
            uv, z = cam.project(seg)
            ok = z > 0.1
            for i in range(len(seg) - 1):
                if ok[i] and ok[i + 1]:
                    cv2.line(
                        img,
                        tuple(np.round(uv[i]).astype(int)),
                        tuple(np.round(uv[i + 1]).astype(int)),
                        line_col,
                        1,
                        cv2.LINE_AA,
                    )
    if scene.kind != "outdoor":
        wall_col = rng.integers(90, 240, 3)
        wh = 3.0
        for k, (a, b) in enumerate(
            [((-s, -s), (s, -s)), ((s, -s), (s, s)), ((s, s), (-s, s)), ((-s, s), (-s, -s))]
        ):
            col = wall_col * (0.8 + 0.1 * k)
            fill_polygon(
                img,
                cam,
                np.array(
                    [wp(a[0], 0, a[1]), wp(b[0], 0, b[1]), wp(b[0], wh, b[1]), wp(a[0], wh, a[1])]
                ),
                tuple(int(c) for c in np.clip(col, 0, 255)),
            )
            # Windows, doors and pictures on the wall.
            for _ in range(rng.integers(0, 3)):
                u0 = rng.uniform(0.1, 0.8)
                du = rng.uniform(0.08, 0.2)
                y0, y1 = (
                    (rng.uniform(0.8, 1.2), rng.uniform(2.0, 2.6))
                    if rng.random() < 0.6
                    else (0.0, 2.1)
                )
                pa, pb = np.array(a), np.array(b)
                q0, q1 = pa + (pb - pa) * u0, pa + (pb - pa) * (u0 + du)
                inset = -0.01 * (pa + pb) / np.linalg.norm(pa + pb + 1e-6)
                q0, q1 = q0 + inset, q1 + inset
                col = rng.integers(180, 255, 3) if y0 > 0 else rng.integers(40, 160, 3)
                fill_polygon(
                    img,
                    cam,
                    np.array(
                        [
                            wp(q0[0], y0, q0[1]),
                            wp(q1[0], y0, q1[1]),
                            wp(q1[0], y1, q1[1]),
                            wp(q0[0], y1, q0[1]),
                        ]
                    ),
                    tuple(int(c) for c in col),
                )
        # Furniture along the walls.
        for _ in range(rng.integers(1, 5)):
            side = rng.integers(4)
            u = rng.uniform(-s + 1, s - 1)
            depth, width, height = (
                rng.uniform(0.4, 0.9),
                rng.uniform(0.6, 2.0),
                rng.uniform(0.4, 1.9),
            )
            x0, z0 = [(u, -s + 0.05), (s - 0.05 - depth, u), (u, s - 0.05 - depth), (-s + 0.05, u)][
                side
            ]
            lo, hi = (
                wp(x0, 0, z0),
                wp(
                    x0 + (width if side % 2 == 0 else depth),
                    height,
                    z0 + (depth if side % 2 == 0 else width),
                ),
            )
            draw_box(
                img,
                cam,
                np.minimum(lo, hi),
                np.maximum(lo, hi),
                tuple(int(c) for c in rng.integers(30, 220, 3)),
                light,
            )
    else:
        for _ in range(rng.integers(3, 9)):  # trees and bushes in the distance
            ang = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(5, 9)
            base = cxz + np.array([np.cos(ang) * r, 0, np.sin(ang) * r])
            uv, z = cam.project(np.stack([base, base + [0, rng.uniform(1.5, 4), 0]]))
            if (z > 0.5).all():
                rad = max(1, int(abs(uv[1, 1] - uv[0, 1]) * 0.4))
                cv2.line(
                    img,
                    tuple(uv[0].astype(int)),
                    tuple(uv[1].astype(int)),
                    (40, 60, 90),
                    max(1, rad // 4),
                )
                cv2.circle(
                    img,
                    tuple(uv[1].astype(int)),
                    rad,
                    tuple(int(c) for c in rng.integers(20, 120, 3) * [0.5, 1, 0.5]),
                    -1,
                    cv2.LINE_AA,
                )
    if scene.has_mat:
        a = body_axis * np.array([1, 0, 1])
        a = a / max(np.linalg.norm(a), 1e-6)
        p = np.array([-a[2], 0, a[0]])
        L, Wd = 0.95, 0.32
        fill_polygon(
            img,
            cam,
            np.array(
                [
                    cxz + a * L + p * Wd,
                    cxz + a * L - p * Wd,
                    cxz - a * L - p * Wd,
                    cxz - a * L + p * Wd,
                ]
            )
            + [0, 0.005, 0],
            scene.mat,
        )
    return img


# Segments of the body: (from, to, radius as a fraction of height, part).
SEGMENTS: tuple[tuple[str, str, float, str], ...] = (
    ("left_shoulder", "left_elbow", 0.026, "upper_arm"),
    ("right_shoulder", "right_elbow", 0.026, "upper_arm"),
    ("left_elbow", "left_wrist", 0.021, "forearm"),
    ("right_elbow", "right_wrist", 0.021, "forearm"),
    ("left_wrist", "left_hand", 0.016, "hand"),
    ("right_wrist", "right_hand", 0.016, "hand"),
    ("left_hip", "left_knee", 0.042, "thigh"),
    ("right_hip", "right_knee", 0.042, "thigh"),
    ("left_knee", "left_ankle", 0.03, "shin"),
    ("right_knee", "right_ankle", 0.03, "shin"),
    ("left_heel", "left_toe", 0.022, "foot"),
    ("right_heel", "right_toe", 0.022, "foot"),
    ("neck", "head", 0.03, "neck"),
    ("pelvis", "spine", 0.075, "torso"),
    ("spine", "neck", 0.08, "torso"),
    ("left_hip", "right_hip", 0.05, "hips"),
    ("left_shoulder", "right_shoulder", 0.045, "chest"),
)


def _part_color(app: Appearance, part: str) -> tuple[int, int, int]:
    if part in ("torso", "chest", "upper_arm"):
        return app.top
    if part == "forearm":
        return app.top if app.long_sleeves else app.skin
    if part in ("thigh", "hips"):
        return app.bottom
    if part == "shin":
        return app.bottom if app.long_legs else app.skin
    if part == "foot":
        return app.shoes
    return app.skin


_SEG_A = np.array([J3[a] for a, _, _, _ in SEGMENTS])
_SEG_B = np.array([J3[b] for _, b, _, _ in SEGMENTS])
_SEG_R = np.array([r for _, _, r, _ in SEGMENTS])
_SEG_TRUNK = np.array([p in ("torso", "chest", "hips") for _, _, _, p in SEGMENTS]) * 0.02


def draw_person(
    img: np.ndarray,
    cam: Camera,
    j: np.ndarray,
    body: BodyShape,
    app: Appearance,
    light: np.ndarray,
    props: tuple,
) -> None:
    """Draw one frame of the person (and props) onto ``img`` (in place). ``j``: (J, 3)."""
    uv, z = cam.project(j)
    sc = 16.0
    # All segments at once: direction, shading, depth, projected thickness.
    d = j[_SEG_B] - j[_SEG_A]
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    shade = (0.65 + 0.35 * (1 - np.abs(d @ light))).tolist()
    depth = (z[_SEG_A] + z[_SEG_B]) / 2 + _SEG_TRUNK
    thick = np.maximum(1.0, 2 * _SEG_R * body.height * body.girth * cam.f / np.maximum(depth, 0.1))
    pa = np.round(uv[_SEG_A] * sc).astype(int).tolist()
    pb = np.round(uv[_SEG_B] * sc).astype(int).tolist()
    items = []  # (depth, kind, payload)
    for k, (_, _, _, part) in enumerate(SEGMENTS):
        items.append(
            (
                float(depth[k]),
                "seg",
                (pa[k], pb[k], float(thick[k]), _part_color(app, part), shade[k]),
            )
        )
    hd = float(z[J3["head"]])
    items.append((hd, "head", (uv[J3["head"]], body.head_r * cam.f / max(hd, 0.1), uv[J3["nose"]])))
    for kind, g in props:
        if kind == "bar":
            puv, pz = cam.project(g)
            q = np.round(puv * sc).astype(int).tolist()
            items.append(
                (
                    float(pz.mean()) + 0.01,
                    "seg",
                    (q[0], q[1], max(1.0, 0.03 * cam.f / pz.mean()), (160, 160, 170), 1.0),
                )
            )
            for end in g:
                post = np.stack([end, end * [1, 0, 1]])
                puv2, pz2 = cam.project(post)
                q = np.round(puv2 * sc).astype(int).tolist()
                items.append(
                    (
                        float(pz2.mean()) + 0.3,
                        "seg",
                        (q[0], q[1], max(1.0, 0.05 * cam.f / pz2.mean()), (90, 90, 100), 1.0),
                    )
                )
    items.sort(key=lambda it: -it[0])
    for _, kind, p in items:
        if kind == "seg":
            a, b, thick_k, col, sh = p
            c = (int(col[0] * sh), int(col[1] * sh), int(col[2] * sh))
            t = int(round(thick_k))
            cv2.line(img, a, b, c, t, cv2.LINE_AA, 4)
            if thick_k >= 3:  # a highlight stripe makes limbs read as cylinders
                hl = (
                    min(255, int(c[0] * 1.25)),
                    min(255, int(c[1] * 1.25)),
                    min(255, int(c[2] * 1.25)),
                )
                o = int(-thick_k * 0.18 * sc)
                cv2.line(
                    img,
                    (a[0] + o, a[1] + o),
                    (b[0] + o, b[1] + o),
                    hl,
                    max(1, int(thick_k * 0.3)),
                    cv2.LINE_AA,
                    4,
                )
        else:
            ctr, rad, nose = p
            cv2.circle(
                img,
                tuple(np.round(ctr * sc).astype(int).tolist()),
                max(1, int(round(rad * sc))),
                app.skin,
                -1,
                cv2.LINE_AA,
                4,
            )
            # Hair on the back of the head: offset away from the nose.
            back = ctr - (nose - ctr) * 0.45
            cv2.circle(
                img,
                tuple(np.round(back * sc).astype(int).tolist()),
                max(1, int(round(rad * 0.9 * sc))),
                app.hair,
                -1,
                cv2.LINE_AA,
                4,
            )


def draw_static_props(
    img: np.ndarray,
    cam: Camera,
    props: tuple,
    light: np.ndarray,
    body_axis: np.ndarray,
    center: np.ndarray,
) -> None:
    """Props that do not move: bench under the hands, wall panel behind a wall sit."""
    for kind, g in props:
        if kind == "bench":
            lo = np.minimum(g[0], g[1]) - [0.15, 0, 0.35]
            hi = np.maximum(g[0], g[1]) + [0.15, 0, 0.02]
            lo[1], hi[1] = 0.0, g[:, 1].mean() - 0.03
            draw_box(img, cam, lo, hi, (60, 80, 110), light)
        if kind == "wall":
            z0 = center[2] - 0.32
            draw_box(
                img,
                cam,
                [center[0] - 1.0, 0, z0 - 0.1],
                [center[0] + 1.0, 2.2, z0],
                (200, 200, 190),
                light,
            )


def coco_pixels(cam: Camera, joints: np.ndarray) -> np.ndarray:
    """(T, J3, 3) world joints -> (T, 17, 2) pixels of the COCO-17 joints."""
    uv, _ = cam.project(to_coco(joints))
    return uv
