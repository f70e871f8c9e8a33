"""The pinhole camera of the renderer and the 3-D drawing primitives on it (NumPy + OpenCV).

:class:`Camera` projects world points; :func:`clip_near` clips a world polygon to the near plane
before it is projected, :func:`fill_polygon` fills it into an image and :func:`draw_box` draws a
shaded box from such polygons. :mod:`musclemap_lib.synth.render` draws scenes, props and the
person with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking at a target point."""

    pos: np.ndarray  # (3,) camera centre in the world
    rot: np.ndarray  # (3, 3) world -> camera rows: right, down, forward
    f: float  # focal length in pixels
    cx: float  # principal point x (pixels)
    cy: float  # principal point y (pixels)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> pixel coordinates (..., 2) and depth (...)."""
        pc = (pts - self.pos) @ self.rot.T
        z = np.maximum(pc[..., 2], 1e-3)
        uv = np.stack([self.f * pc[..., 0] / z + self.cx, self.f * pc[..., 1] / z + self.cy], -1)
        return uv, pc[..., 2]


def look_at(pos: np.ndarray, target: np.ndarray, f: float, w: int, h: int) -> Camera:
    """A camera at ``pos`` looking at ``target`` with the world ``y`` axis up."""
    fwd = target - pos
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return Camera(pos, np.stack([right, down, fwd]), f, w / 2, h / 2)


def clip_near(poly: np.ndarray, cam: Camera, near: float = 0.05) -> np.ndarray | None:
    """Clip a world polygon (N, 3) to the camera's near plane; None if nothing is left."""
    pc = (poly - cam.pos) @ cam.rot.T
    out = []
    n = len(pc)
    for i in range(n):
        a, b = pc[i], pc[(i + 1) % n]
        ina, inb = a[2] > near, b[2] > near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    if len(out) < 3:
        return None
    pts = np.array(out)
    return np.stack(
        [cam.f * pts[:, 0] / pts[:, 2] + cam.cx, cam.f * pts[:, 1] / pts[:, 2] + cam.cy], 1
    )


def fill_polygon(img: np.ndarray, cam: Camera, poly: np.ndarray, color, shift: int = 4) -> None:
    """Fill a world polygon (N, 3) seen by ``cam`` into ``img`` (anti-aliased, sub-pixel)."""
    uv = clip_near(poly, cam)
    if uv is not None:
        s = float(1 << shift)
        cv2.fillPoly(img, [np.round(uv * s).astype(np.int32)], color, cv2.LINE_AA, shift)


def draw_box(img: np.ndarray, cam: Camera, lo, hi, color, light: np.ndarray) -> None:
    """A shaded 3-D box, faces drawn back to front."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    c = np.array(
        [
            [lo[0], lo[1], lo[2]],
            [hi[0], lo[1], lo[2]],
            [hi[0], hi[1], lo[2]],
            [lo[0], hi[1], lo[2]],
            [lo[0], lo[1], hi[2]],
            [hi[0], lo[1], hi[2]],
            [hi[0], hi[1], hi[2]],
            [lo[0], hi[1], hi[2]],
        ]
    )
    faces = [
        ((0, 1, 2, 3), (0, 0, -1)),
        ((4, 5, 6, 7), (0, 0, 1)),
        ((0, 1, 5, 4), (0, -1, 0)),
        ((3, 2, 6, 7), (0, 1, 0)),
        ((0, 3, 7, 4), (-1, 0, 0)),
        ((1, 2, 6, 5), (1, 0, 0)),
    ]
    order = []
    for idx, nrm in faces:
        ctr = c[list(idx)].mean(0)
        if np.dot(np.array(nrm), cam.pos - ctr) <= 0:
            continue  # back face
        order.append((np.linalg.norm(ctr - cam.pos), idx, nrm))
    for _, idx, nrm in sorted(order, reverse=True):
        shade = 0.55 + 0.45 * max(0.0, float(np.dot(nrm, light)))
        fill_polygon(img, cam, c[list(idx)], tuple(int(v * shade) for v in color))
