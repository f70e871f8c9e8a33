"""Generated image data sets for stage-0 pretraining: fractals and rendered people.

Both generators are pure functions of ``(spec, seed)``: every image is drawn from its own
``np.random.SeedSequence([seed, kind, class, index])``, so the same seed gives the same bytes on
every machine, in any order (a test checks it). Neither reads a file of the benchmark.

* :func:`fractal_images`: FractalDB-style formula-driven images (Kataoka et al., ACCV 2020): a class
  is a random 2-D iterated function system (IFS); its images are the attractor under small
  perturbations of one map, rendered by the chaos game in a random colour on a random background.
* :func:`people_images`: the MuscleMap-Synth humanoid (body shape, clothing, scene, camera of
  :mod:`musclemap_lib.synth.render`) in a frame of a motion of a *training* activity (never one
  of ``motions.NEW``), labelled by its camera view bin (8 azimuth sectors) x whether the wrists
  are above the shoulders (none / one / both): 24 classes of no benchmark meaning.

ASSUMPTION: sizes (classes, images per class, resolution) are ours, chosen to fit a pretraining of
a few minutes on 2 CPU cores; FractalDB-1k has 1,000 classes x 1,000 images at 362 px.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

ImageKind = Literal["fractal", "people"]
IMAGE_KINDS: tuple[str, ...] = ("fractal", "people")
GENERATOR_VERSION = 1  # bump when a generator's bytes change for an unchanged spec
_KIND_ID = {"fractal": 1, "people": 2}


@dataclass(frozen=True)
class ImageSetSpec:
    """What to generate: the kind, the class count, images per class and the image side."""

    kind: ImageKind  # fractal | people
    classes: int  # number of classes (people: fixed at 24 view x arms bins)
    per_class: int  # images per class (people: images in all, / classes, on average)
    size: int  # side of the square uint8 images (the crop is taken from it)

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_KINDS:
            raise ValueError(f"image kind {self.kind!r}; choose from {', '.join(IMAGE_KINDS)}")
        if self.classes < 2 or self.per_class < 1 or self.size < 8:
            raise ValueError(f"ImageSetSpec needs classes >= 2, per_class >= 1, size >= 8: {self}")
        if self.kind == "people" and self.classes != PEOPLE_CLASSES:
            raise ValueError(f"people images have {PEOPLE_CLASSES} classes, not {self.classes}")

    @property
    def fingerprint(self) -> str:
        """What the stale check compares instead of a data folder's fingerprint."""
        return f"generated:{self.kind}:c{self.classes}:n{self.per_class}:s{self.size}:v{GENERATOR_VERSION}"


@dataclass(frozen=True)
class ImageSet:
    """Generated images and their class labels."""

    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64 class index
    num_classes: int

    def digest(self) -> str:
        """SHA-256 (16 hex digits) of the images and labels: equal seeds give equal digests."""
        h = hashlib.sha256(self.images.tobytes())
        h.update(self.labels.tobytes())
        return h.hexdigest()[:16]


def generate(spec: ImageSetSpec, seed: int = 0) -> ImageSet:
    """The image set of ``spec`` for ``seed`` (deterministic)."""
    if spec.kind == "fractal":
        return fractal_images(spec, seed)
    return people_images(spec, seed)


# ---- fractals (FractalDB) -----------------------------------------------------------------------
_CHAINS = 384  # parallel chaos-game chains per image
_STEPS = 28  # steps per chain (the first _BURN are discarded)
_BURN = 8
_MIN_FILL = 0.12  # FractalDB's filling-rate check: a system must cover this share of its box


def _rng(seed: int, kind: str, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _KIND_ID[kind], *keys]))


def _chaos_game(maps: np.ndarray, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points ``(N, 2)`` of the attractor of ``maps`` ``(M, 6)`` (a, b, c, d, e, f)."""
    pts = rng.uniform(-1, 1, (_CHAINS, 2))
    out = []
    for step in range(_STEPS):
        m = maps[rng.choice(len(maps), _CHAINS, p=probs)]
        x = m[:, 0] * pts[:, 0] + m[:, 1] * pts[:, 1] + m[:, 4]
        y = m[:, 2] * pts[:, 0] + m[:, 3] * pts[:, 1] + m[:, 5]
        pts = np.stack([x, y], 1)
        if step >= _BURN:
            out.append(pts)
    return np.concatenate(out)


def _fill_rate(pts: np.ndarray, grid: int = 32) -> float:
    """Share of a ``grid`` x ``grid`` box around the points that they cover (0 if degenerate)."""
    if not np.all(np.isfinite(pts)):
        return 0.0
    lo, hi = pts.min(0), pts.max(0)
    span = hi - lo
    if np.any(span < 1e-6) or np.any(span > 1e6):
        return 0.0
    ij = np.clip(((pts - lo) / span * (grid - 1)).astype(int), 0, grid - 1)
    return len(np.unique(ij[:, 0] * grid + ij[:, 1])) / grid**2


def _probs(maps: np.ndarray) -> np.ndarray:
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2]) + 1e-3
    return det / det.sum()


def _fractal_system(seed: int, cls: int) -> np.ndarray:
    """The IFS ``(M, 6)`` of class ``cls``: the first random system that passes the fill check."""
    rng = _rng(seed, "fractal", cls, 0)
    while True:
        n = int(rng.integers(2, 5))  # FractalDB: 2 to 8 maps; few maps give distinct shapes
        maps = rng.uniform(-1, 1, (n, 6))
        pts = _chaos_game(maps, _probs(maps), rng)
        if _fill_rate(pts) >= _MIN_FILL:
            return maps


def _render_points(
    pts: np.ndarray, size: int, color: np.ndarray, bg: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Splat ``pts`` into a ``size`` x ``size`` uint8 image, fitted to a random box."""
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    span = np.maximum(hi - lo, 1e-6)
    box = size * rng.uniform(0.6, 0.95)
    off = rng.uniform(0, size - box, 2)
    ij = ((pts - lo) / span.max() * box + off).astype(int)
    ok = np.all((ij >= 0) & (ij < size), axis=1)
    count = np.zeros((size, size), np.float32)
    np.add.at(count, (ij[ok, 1], ij[ok, 0]), 1.0)
    alpha = np.clip(count / max(np.percentile(count[count > 0], 60), 1.0), 0, 1)[..., None]
    img = bg[None, None, :] * (1 - alpha) + color[None, None, :] * alpha
    return np.clip(img, 0, 255).astype(np.uint8)


def fractal_images(spec: ImageSetSpec, seed: int = 0) -> ImageSet:
    """FractalDB-style images: ``spec.classes`` IFS systems x ``spec.per_class`` images.

    Intra-class variation as FractalDB: one parameter of one map scaled by a factor in
    [0.8, 1.2], plus a random flip, colour, background and placement.
    """
    n = spec.classes * spec.per_class
    images = np.empty((n, spec.size, spec.size, 3), np.uint8)
    labels = np.repeat(np.arange(spec.classes), spec.per_class)
    for c in range(spec.classes):
        base = _fractal_system(seed, c)
        for i in range(spec.per_class):
            rng = _rng(seed, "fractal", c, i + 1)
            maps = base.copy()
            maps[rng.integers(len(maps)), rng.integers(4)] *= rng.uniform(0.8, 1.2)
            pts = _chaos_game(maps, _probs(maps), rng)
            if rng.random() < 0.5:
                pts[:, 0] = -pts[:, 0]
            color = rng.uniform(60, 255, 3)
            bg = rng.uniform(0, 120, 3)
            images[c * spec.per_class + i] = _render_points(pts, spec.size, color, bg, rng)
    return ImageSet(images, labels.astype(np.int64), spec.classes)


# ---- rendered people (MuscleMap-Synth humanoid) --------------------------------------------------
VIEW_BINS = 8  # camera azimuth sectors around the person
ARM_BINS = 3  # wrists above the shoulders: none, one, both
PEOPLE_CLASSES = VIEW_BINS * ARM_BINS


def training_activities() -> tuple[str, ...]:
    """Names of the activities whose motions the people images may show: ``motions.KNOWN`` only.

    The 20 new activities (``motions.NEW``, the paper's held-out set) are never rendered.
    """
    from musclemap_lib.synth import motions

    new = {a.name for a in motions.NEW}
    names = tuple(a.name for a in motions.KNOWN if a.name not in new)
    if set(names) & set(motions.PAPER_NEW_ACTIVITIES):
        raise AssertionError("a new activity is among the pretraining activities")
    return names


def people_images(spec: ImageSetSpec, seed: int = 0) -> ImageSet:
    """Rendered people in frames of training-activity motions, labelled view x arms.

    Each image has its own person, appearance, scene and camera (new draws, not those of any
    benchmark source), a random training activity and a random time in its motion.
    """
    import cv2

    from musclemap_lib.synth import kinematics, motions, render

    names = training_activities()
    n = spec.classes * spec.per_class
    big = max(spec.size * 5 // 4, 16)  # rendered larger, then downscaled (anti-aliasing)
    images = np.empty((n, spec.size, spec.size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    J3 = kinematics.J3
    for k in range(n):
        rng = _rng(seed, "people", k)
        act = motions.get_activity(names[int(rng.integers(len(names)))])
        body = kinematics.sample_body(rng)
        app = render.sample_appearance(rng)
        scene = render.sample_scene(rng, "wild")
        params = motions.ClipParams(
            tempo=float(rng.uniform(0.85, 1.2)),
            rom=float(rng.uniform(0.75, 1.1)),
            phase=float(rng.uniform(0, 1)),
            asym=float(rng.uniform(-0.12, 0.12)),
            swap=bool(rng.random() < 0.5),
            style={},
        )
        t = np.array([float(rng.uniform(0, 8))])
        mo = motions.synthesize(act, body, t, params)
        joints = mo.joints[0]
        cam = render.make_camera(scene, mo.joints, big, big)
        center = joints.mean(0)
        axis = joints[J3["head"]] - joints[J3["pelvis"]]
        img = render.render_background(scene, cam, big, big, center, axis)
        light = np.array(scene.light)
        render.draw_static_props(img, cam, mo.props, light, axis, center)
        render.draw_person(img, cam, joints, body, app, light, mo.props)
        f = img.astype(np.float32) * (np.array(scene.gains, np.float32) * scene.brightness)
        images[k] = cv2.resize(cv2.convertScaleAbs(f), (spec.size, spec.size), cv2.INTER_AREA)
        labels[k] = _people_label(joints, cam.pos, J3)
    return ImageSet(images, labels, PEOPLE_CLASSES)


def _people_label(joints: np.ndarray, cam_pos: np.ndarray, J3: dict[str, int]) -> int:
    """View bin (azimuth of the camera around the person's facing) x wrists-above-shoulders."""
    left, right = joints[J3["left_hip"]], joints[J3["right_hip"]]
    across = right - left
    facing = np.cross(across, np.array([0.0, 1.0, 0.0]))  # horizontal, perpendicular to the hips
    to_cam = cam_pos - joints[J3["pelvis"]]
    (fx, fz), (cx, cz) = facing[[0, 2]], to_cam[[0, 2]]
    az = float(np.arctan2(fx * cz - fz * cx, fx * cx + fz * cz))  # signed angle, facing -> camera
    view = int((az + np.pi) / (2 * np.pi) * VIEW_BINS) % VIEW_BINS
    arms = sum(
        int(joints[J3[f"{s}_wrist"], 1] > joints[J3[f"{s}_shoulder"], 1]) for s in ("left", "right")
    )
    return view * ARM_BINS + arms
