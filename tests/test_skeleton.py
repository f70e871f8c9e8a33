"""The COCO-17 skeleton contract and the graph constructions built on it (models/graph.py)."""

from __future__ import annotations

import numpy as np
import pytest

from musclemap_lib import skeleton as sk
from musclemap_lib.models import graph

V = sk.NUM_JOINTS
NEIGHBOURS = {frozenset(e) for e in sk.EDGES}


# ----------------------------------------------------------------------------------------------
# skeleton.py
# ----------------------------------------------------------------------------------------------
def test_edges_are_valid_distinct_bones_of_a_tree():
    assert V == 17 == len(sk.JOINTS)
    for a, b in sk.EDGES:
        assert 0 <= a < V and 0 <= b < V and a != b
    assert len(NEIGHBOURS) == len(sk.EDGES)  # no duplicate, in either orientation
    assert len(sk.EDGES) == V - 1  # with connectivity (below): a tree
    assert np.isfinite(graph.hop_distance(max_hop=None)).all()


def test_left_right_pairs_are_symmetric():
    lefts = [a for a, _ in sk.LEFT_RIGHT_PAIRS]
    rights = [b for _, b in sk.LEFT_RIGHT_PAIRS]
    assert len(set(lefts + rights)) == 2 * len(sk.LEFT_RIGHT_PAIRS)
    for a, b in sk.LEFT_RIGHT_PAIRS:
        assert sk.JOINTS[a].startswith("left_") and sk.JOINTS[b].startswith("right_")
        assert sk.JOINTS[a].removeprefix("left_") == sk.JOINTS[b].removeprefix("right_")
    # every joint without a side is unpaired (only the nose in COCO-17)
    unpaired = set(range(V)) - set(lefts) - set(rights)
    assert {sk.JOINTS[v] for v in unpaired} == {"nose"}
    # the bone set is mirror-symmetric: flipping every bone gives a bone
    perm = sk.flip_permutation()
    assert {frozenset((perm[a], perm[b])) for a, b in sk.EDGES} == NEIGHBOURS


def test_flip_permutation_is_an_involution_that_swaps_sides():
    perm = sk.flip_permutation()
    assert sorted(perm) == list(range(V))
    assert [perm[p] for p in perm] == list(range(V))
    assert perm[sk.CENTER] == sk.CENTER
    for a, b in sk.LEFT_RIGHT_PAIRS:
        assert perm[a] == b and perm[b] == a


def test_bone_parents_form_a_tree_rooted_at_center():
    parent = sk.bone_parents()
    assert parent[sk.CENTER] == sk.CENTER
    for v in range(V):
        if v != sk.CENTER:
            assert frozenset((v, parent[v])) in NEIGHBOURS  # every parent link is a bone
        seen, u = set(), v  # walking up reaches the root without a cycle
        while u != sk.CENTER:
            assert u not in seen
            seen.add(u)
            u = parent[u]
    # each bone is used exactly once as a child -> parent link
    assert {frozenset((v, parent[v])) for v in range(V) if v != sk.CENTER} == NEIGHBOURS


# ----------------------------------------------------------------------------------------------
# graph.py
# ----------------------------------------------------------------------------------------------
def test_hop_distance():
    full = graph.hop_distance(max_hop=None)
    assert (full == full.T).all() and (np.diag(full) == 0).all()
    assert full[0, 15] == 4  # nose -> l-shoulder -> l-hip -> l-knee -> l-ankle
    assert full[15, 16] == 8  # ankle to ankle through the nose
    one = graph.hop_distance(max_hop=1)
    pairs = {frozenset((i, j)) for i, j in zip(*np.nonzero(one == 1), strict=True)}
    assert pairs == NEIGHBOURS
    assert np.isinf(one[0, 15])


def test_directed_adjacency_and_column_normalisation():
    a = graph.directed_adjacency(3, [(0, 1), (0, 2)])  # 0 sends to 1 and 2
    assert a[1, 0] == 1 and a[2, 0] == 1 and a.sum() == 2
    n = graph.normalize_columns(a)
    np.testing.assert_allclose(n.sum(axis=0), [1.0, 0.0, 0.0])


@pytest.mark.parametrize(("strategy", "k"), [("uniform", 1), ("distance", 2), ("spatial", 3)])
def test_stgcn_partitions_split_the_column_normalised_neighbourhood(strategy, k):
    parts = graph.stgcn_partitions(strategy)
    assert parts.shape == (k, V, V)
    total = parts.sum(axis=0)
    np.testing.assert_allclose(total.sum(axis=0), np.ones(V))  # every target averages
    hop = graph.hop_distance(max_hop=1)
    assert ((total > 0) == (hop <= 1)).all()  # support: self + bone neighbours
    # the parts do not overlap
    assert ((parts > 0).sum(axis=0) <= 1).all()


def test_stgcn_spatial_partition_follows_the_distance_to_the_centre():
    root, far, near = graph.stgcn_partitions("spatial")
    assert (root == np.diag(np.diag(root))).all() and (np.diag(root) > 0).all()
    ls, le = sk.JOINT_INDEX["left_shoulder"], sk.JOINT_INDEX["left_elbow"]
    # [source, target]: the elbow receives from the shoulder, which is nearer the nose
    assert near[ls, le] > 0 and far[ls, le] == 0
    assert far[le, ls] > 0 and near[le, ls] == 0
    # the centre has no nearer neighbour
    assert near[:, sk.CENTER].sum() == 0


def test_ctrgcn_spatial_subsets():
    ident, inward, outward = graph.ctrgcn_spatial()
    np.testing.assert_array_equal(ident, np.eye(V))
    for child, par in sk.EDGES:  # [target, source]
        assert inward[par, child] > 0 and outward[child, par] > 0
    assert ((inward > 0) == (outward > 0).T).all()
    for m in (inward, outward):  # column-normalised over the sources that send anything
        col = m.sum(axis=0)
        np.testing.assert_allclose(col[col > 0], 1.0)
    # in a tree rooted at the nose every joint but the root has exactly one parent
    assert (inward > 0).sum(axis=0).tolist() == [0 if v == sk.CENTER else 1 for v in range(V)]


@pytest.mark.parametrize("name", sorted(graph.COCO_HIERARCHIES))
def test_hierarchy_groups_partition_the_joints(name):
    groups = graph.COCO_HIERARCHIES[name]
    assert graph.check_groups(groups) == groups
    assert sorted(v for g in groups for v in g) == list(range(V))


def test_default_hierarchy_is_the_hop_rings_around_the_centre():
    assert graph.hop_rings() == graph.COCO_HIERARCHY_L4
    assert len(graph.COCO_HIERARCHY_L4) - 1 == 4
    assert graph.COCO_HIERARCHY_L4[0] == (sk.CENTER,)


@pytest.mark.parametrize(
    "bad",
    [((0,),), ((0,), ()), ((0, 1), tuple(range(1, V))), ((0,), tuple(range(1, V - 1)))],
    ids=["one-group", "empty", "overlap", "missing"],
)
def test_check_groups_rejects_non_partitions(bad):
    with pytest.raises(ValueError, match="group"):
        graph.check_groups(bad)


@pytest.mark.parametrize("name", sorted(graph.COCO_HIERARCHIES))
def test_hierarchy_adjacency(name):
    groups = graph.COCO_HIERARCHIES[name]
    a = graph.hierarchy_adjacency(groups)
    assert a.shape == (len(groups) - 1, 3, V, V)
    for i, (lo, hi) in enumerate(zip(groups[:-1], groups[1:], strict=True)):
        ident, fwd, rev = a[i]
        members = np.zeros(V, bool)
        members[list(lo + hi)] = True
        np.testing.assert_array_equal(ident, np.diag(members.astype(float)))
        # forward: sources in G_i, targets in G_{i+1}; reverse the other way ([target, source])
        mask = np.zeros((V, V), bool)
        mask[np.ix_(hi, lo)] = True
        assert ((fwd > 0) == mask).all() and ((rev > 0) == mask.T).all()
        np.testing.assert_allclose(fwd.sum(axis=0)[list(lo)], 1.0)
        np.testing.assert_allclose(rev.sum(axis=0)[list(hi)], 1.0)


def test_unknown_partition_and_bad_edges_are_rejected():
    with pytest.raises(ValueError, match="partition strategy"):
        graph.stgcn_partitions("bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside"):
        graph.hop_distance(3, [(0, 5)])
