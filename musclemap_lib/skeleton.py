"""The COCO-17 skeleton: joint names, bones and left/right pairs.

Shared by the synthetic data generator (which projects its 3-D humanoid onto these joints), the
data pipeline (flip augmentation, bone streams) and the skeleton models (graph adjacency).
"""

from __future__ import annotations

# COCO keypoint order, as 2-D pose estimators (and pyskl's layout 'coco') emit it.
JOINTS: tuple[str, ...] = (
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
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_JOINTS: int = len(JOINTS)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}

# Undirected bones (child, parent); the same 16 edges as pyskl's layout 'coco'
# (reference/baselines.md section 2.1). The centre joint for spatial partitioning is 0 (nose).
EDGES: tuple[tuple[int, int], ...] = (
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 5),
    (12, 6),
    (9, 7),
    (7, 5),
    (10, 8),
    (8, 6),
    (5, 0),
    (6, 0),
    (1, 0),
    (3, 1),
    (2, 0),
    (4, 2),
)
CENTER: int = 0

# Each (left, right) pair is swapped by a horizontal flip.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (3, 4),
    (5, 6),
    (7, 8),
    (9, 10),
    (11, 12),
    (13, 14),
    (15, 16),
)


def flip_permutation() -> list[int]:
    """Return ``perm`` such that ``joints[perm]`` swaps every left joint with its right twin."""
    perm = list(range(NUM_JOINTS))
    for left, right in LEFT_RIGHT_PAIRS:
        perm[left], perm[right] = right, left
    return perm


def bone_parents() -> list[int]:
    """Return each joint's parent in the tree rooted at :data:`CENTER` (the root is its own parent).

    Used for the bone stream: ``bone[v] = joint[v] - joint[parent[v]]``.
    """
    parent = [-1] * NUM_JOINTS
    parent[CENTER] = CENTER
    frontier = [CENTER]
    while frontier:
        nxt = []
        for u in frontier:
            for a, b in EDGES:
                for child, par in ((a, b), (b, a)):
                    if par == u and parent[child] == -1:
                        parent[child] = u
                        nxt.append(child)
        frontier = nxt
    return parent
