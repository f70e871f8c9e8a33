"""Skeleton graphs for the GCN baselines: hop distances, partitions and the HD-GCN hierarchy.

Everything here is plain NumPy, built from the COCO-17 topology of :mod:`musclemap_lib.skeleton`
(``EDGES`` as (child, parent) bones, ``CENTER`` = nose). The constructions follow the facts of
``reference/baselines.md`` sections 2.3 and 6.4; the code is our own.

Orientation. Each model reads its matrices the way its original code does, so each function here
states which index is the receiving joint:

* ST-GCN partitions (:func:`stgcn_partitions`) are ``A[k, source, target]``: a layer computes
  ``out[w] = sum_v x[v] * A[k, v, w]`` (yysijie/st-gcn ``einsum('nkctv,kvw->nctw')``).
* CTR-GCN subsets (:func:`ctrgcn_spatial`) and the HD-GCN hierarchy (:func:`hierarchy_adjacency`)
  are ``A[..., target, source]``: ``out[u] = sum_v A[u, v] * x[v]``, the orientation of
  :func:`directed_adjacency` (a link ``i -> j`` sets ``A[j, i] = 1``).

In both orientations the normalisation is "column-normalised" (``A @ D^-1`` with ``D`` the column
sums), as all three originals do; for ST-GCN that makes every receiving joint average over its
neighbourhood, for CTR-GCN/HD-GCN it divides by the fan-out of the sending joint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from musclemap_lib.skeleton import CENTER, EDGES, NUM_JOINTS

Edge = tuple[int, int]
Groups = tuple[tuple[int, ...], ...]
PartitionStrategy = Literal["uniform", "distance", "spatial"]
PARTITION_STRATEGIES: tuple[str, ...] = ("uniform", "distance", "spatial")


def _check_edges(num_nodes: int, edges: Sequence[Edge]) -> None:
    for i, j in edges:
        if not (0 <= i < num_nodes and 0 <= j < num_nodes):
            raise ValueError(f"edge {(i, j)} names a joint outside 0..{num_nodes - 1}")
        if i == j:
            raise ValueError(
                f"edge {(i, j)} is a self-loop; self-links are added by the graph code"
            )


def hop_distance(
    num_nodes: int = NUM_JOINTS, edges: Sequence[Edge] = EDGES, max_hop: int | None = 1
) -> np.ndarray:
    """Shortest-path hop counts on the undirected skeleton.

    Args:
        num_nodes: number of joints V.
        edges: undirected bones (either orientation).
        max_hop: distances above this are reported as ``inf`` (as in ST-GCN, where only
            ``hop <= max_hop`` pairs are neighbours); ``None`` keeps every finite distance.

    Returns:
        ``(V, V)`` float array, symmetric, 0 on the diagonal, ``inf`` for unreachable or too far.
    """
    _check_edges(num_nodes, edges)
    dist = np.full((num_nodes, num_nodes), np.inf)
    adj: list[list[int]] = [[] for _ in range(num_nodes)]
    for i, j in edges:
        adj[i].append(j)
        adj[j].append(i)
    for src in range(num_nodes):  # breadth-first search from every joint (V is tiny)
        dist[src, src] = 0
        frontier, d = [src], 0
        while frontier:
            d += 1
            nxt = []
            for u in frontier:
                for w in adj[u]:
                    if np.isinf(dist[src, w]):
                        dist[src, w] = d
                        nxt.append(w)
            frontier = nxt
    if max_hop is not None:
        dist[dist > max_hop] = np.inf
    return dist


def directed_adjacency(num_nodes: int, links: Sequence[Edge]) -> np.ndarray:
    """``(V, V)`` 0/1 matrix with ``A[j, i] = 1`` for every link ``(i, j)`` (i sends to j)."""
    a = np.zeros((num_nodes, num_nodes))
    for i, j in links:
        a[j, i] = 1.0
    return a


def normalize_columns(a: np.ndarray) -> np.ndarray:
    """Divide every column of ``a`` (last two axes ``(V, V)``) by its sum; empty columns stay 0."""
    col = a.sum(axis=-2, keepdims=True)
    return np.divide(a, col, out=np.zeros_like(a, dtype=float), where=col > 0)


def stgcn_partitions(
    strategy: PartitionStrategy = "uniform",
    num_nodes: int = NUM_JOINTS,
    edges: Sequence[Edge] = EDGES,
    center: int = CENTER,
    max_hop: int = 1,
) -> np.ndarray:
    """ST-GCN's partitioned adjacency (yysijie/st-gcn ``net/utils/graph.py``).

    The neighbourhood of a joint is every joint within ``max_hop`` hops, itself included; the
    0/1 neighbourhood matrix is column-normalised, and each partition takes its entries from it:

    * ``uniform``: K=1, the whole normalised matrix;
    * ``distance``: K=1+max_hop, one matrix per hop distance;
    * ``spatial``: for hop 0 the root (self); for each further hop two matrices: neighbours at
      least as far from ``center`` as the receiving joint, and neighbours closer to it.

    Args:
        strategy: ``uniform``, ``distance`` or ``spatial``.
        num_nodes: V.
        edges: undirected bones.
        center: the joint distances to the centre are measured from (spatial only).
        max_hop: neighbourhood radius.

    Returns:
        ``(K, V, V)`` array indexed ``[k, source, target]``; the K matrices sum to the normalised
        neighbourhood matrix, whose every column sums to 1.
    """
    if strategy not in PARTITION_STRATEGIES:
        raise ValueError(
            f"unknown ST-GCN partition strategy {strategy!r}; choose from {PARTITION_STRATEGIES}"
        )
    hop = hop_distance(num_nodes, edges, max_hop)
    norm = normalize_columns((hop <= max_hop).astype(float))  # [source, target]
    if strategy == "uniform":
        return norm[None]
    if strategy == "distance":
        return np.stack([np.where(hop == h, norm, 0.0) for h in range(max_hop + 1)])
    # spatial: compare the sender's and the receiver's distance to the centre.
    # DEVIATION: yysijie/st-gcn compares distances from its max_hop-limited hop matrix, so every
    # joint farther than max_hop from the centre reads as "inf == inf" (root subset). We use the
    # true distances, the ST-GCN paper's centripetal/centrifugal definition. Parameter counts are
    # unaffected; the default partition of our ST-GCN is "uniform" anyway.
    to_center = hop_distance(num_nodes, edges, max_hop=None)[:, center]
    sender_far = to_center[:, None] >= to_center[None, :]  # [source, target]
    parts = [np.where(hop == 0, norm, 0.0)]
    for h in range(1, max_hop + 1):
        at_h = hop == h
        parts.append(np.where(at_h & sender_far, norm, 0.0))
        parts.append(np.where(at_h & ~sender_far, norm, 0.0))
    return np.stack(parts)


def ctrgcn_spatial(num_nodes: int = NUM_JOINTS, edges: Sequence[Edge] = EDGES) -> np.ndarray:
    """CTR-GCN's (and pyskl mode 'spatial') three subsets ``[I, norm(In), norm(Out)]``.

    ``In`` holds the inward links child -> parent (``EDGES`` are (child, parent)), ``Out`` their
    reverses; each is column-normalised, the identity is not.

    Returns:
        ``(3, V, V)`` array indexed ``[k, target, source]``.
    """
    _check_edges(num_nodes, edges)
    inward = directed_adjacency(num_nodes, edges)
    outward = directed_adjacency(num_nodes, [(j, i) for i, j in edges])
    return np.stack([np.eye(num_nodes), normalize_columns(inward), normalize_columns(outward)])


def hop_rings(
    num_nodes: int = NUM_JOINTS, edges: Sequence[Edge] = EDGES, center: int = CENTER
) -> Groups:
    """Joints grouped by their hop distance from ``center``: ``((center,), ring 1, ring 2, ...)``.

    HD-GCN's NTU hierarchies (Jho-Yonsei/HD-GCN ``graph/tools.py`` get_groups) are such rings
    around a centre-of-mass joint.
    """
    dist = hop_distance(num_nodes, edges, max_hop=None)[center]
    if np.isinf(dist).any():
        raise ValueError(
            "the skeleton graph is not connected; hop rings need every joint reachable"
        )
    return tuple(
        tuple(int(v) for v in np.flatnonzero(dist == d)) for d in range(int(dist.max()) + 1)
    )


# ASSUMPTION: HD-GCN publishes hierarchies for NTU-25 and NW-UCLA only. For COCO-17 we take the hop
# rings around the nose, the centre joint of pyskl's 'coco' layout and of skeleton.CENTER (the
# second proposal of reference/baselines.md section 6.4; the hip-centred rings are the other one).
# 5 groups -> L = 4 levels -> 1,289,346 parameters at 20 classes.
COCO_HIERARCHY_L4: Groups = (
    (0,),  # nose: the "centre of mass" group G0
    (1, 2, 5, 6),  # eyes, shoulders
    (3, 4, 7, 8, 11, 12),  # ears, elbows, hips
    (9, 10, 13, 14),  # wrists, knees
    (15, 16),  # ankles
)
# The single-level alternative (2 groups, L = 1): the nose and everything else. Any 2-group split
# gives the same parameter count (839,832); it is the only hierarchy that lands near the paper's
# 0.8M for HD-GCN (reference/baselines.md section 6.4), and it needs AHA's k reduced to min(3, L).
COCO_HIERARCHY_L1: Groups = ((0,), tuple(range(1, NUM_JOINTS)))

COCO_HIERARCHIES: dict[str, Groups] = {"coco_l4": COCO_HIERARCHY_L4, "coco_l1": COCO_HIERARCHY_L1}


def check_groups(groups: Sequence[Sequence[int]], num_nodes: int = NUM_JOINTS) -> Groups:
    """Validate an ordered joint-group list for HD-GCN and return it as a tuple of tuples.

    Raises:
        ValueError: if there are fewer than 2 groups, a group is empty, or the groups do not
            partition ``0..num_nodes-1`` exactly.
    """
    out = tuple(tuple(int(v) for v in g) for g in groups)
    if len(out) < 2:
        raise ValueError(f"an HD-GCN hierarchy needs at least 2 groups (1 level), got {len(out)}")
    if any(len(g) == 0 for g in out):
        raise ValueError(f"HD-GCN hierarchy groups must be non-empty, got {out}")
    flat = sorted(v for g in out for v in g)
    if flat != list(range(num_nodes)):
        raise ValueError(
            f"HD-GCN hierarchy groups must partition the joints 0..{num_nodes - 1} (each exactly "
            f"once), got {out}"
        )
    return out


def hierarchy_adjacency(groups: Sequence[Sequence[int]], num_nodes: int = NUM_JOINTS) -> np.ndarray:
    """HD-GCN's hierarchically decomposed adjacency (Jho-Yonsei/HD-GCN ``graph/tools.py``).

    For consecutive groups ``G_i, G_{i+1}`` (level ``i``, ``L = len(groups) - 1`` levels):

    * identity on ``G_i | G_{i+1}`` (not normalised);
    * forward: every link ``G_i -> G_{i+1}``, column-normalised;
    * reverse: every link ``G_{i+1} -> G_i``, column-normalised.

    Returns:
        ``(L, 3, V, V)`` array indexed ``[level, subset, target, source]``.
    """
    gs = check_groups(groups, num_nodes)
    levels = []
    for lo, hi in zip(gs[:-1], gs[1:], strict=True):
        ident = directed_adjacency(num_nodes, [(v, v) for v in lo + hi])
        fwd = normalize_columns(directed_adjacency(num_nodes, [(a, b) for a in lo for b in hi]))
        rev = normalize_columns(directed_adjacency(num_nodes, [(b, a) for a in lo for b in hi]))
        levels.append(np.stack([ident, fwd, rev]))
    return np.stack(levels)
