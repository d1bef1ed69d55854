"""A maximum-weight spanning-forest preconditioner for weighted graph Laplacians plus a diagonal.

The Bradley–Terry Hessian is H = D_prior + sum_c h_c (e_lo - e_hi)(e_lo - e_hi)^T: a weighted graph
Laplacian over the comparison graph. On sparse boards (tennis: long chains of rarely-meeting
players) Jacobi-preconditioned CG needs hundreds of iterations, since the condition number grows
with the length of the chains. The preconditioner here keeps, of the graph, a spanning forest of
heavy edges (Vaidya's support-graph idea): P = diag(H) - A_tree, i.e. H's own diagonal (so the
off-tree edges and the prior still count there, which keeps P diagonally dominant) and only the
tree edges off it. A tree's matrix factors without fill by eliminating leaves towards the root,
so factoring and solving are O(M). Chains, the hard part for Jacobi, are trees: there P is exact.

The forest's shape (parent, edge, elimination order) is computed once from one set of weights
(the full fit's) and reused with other weights (each bootstrap round's): any spanning forest gives
a valid preconditioner, a heavy one a better one.
"""

from __future__ import annotations

import numpy as np

from engine._jit import kernel

NO_PARENT = -1
# A pivot this small against its diagonal means P is (nearly) singular there: a component without a
# prior whose graph is a tree (P singular along the constant vector, as H is), or a subtree cut off by
# tree edges without votes this round. The pivot is then replaced by the diagonal, which pins that
# node: P stays positive definite, and at a root the solve stays exact up to a constant shift on the
# component, which the Hessian ignores and the fit's centring removes.
SINGULAR_PIVOT = 1e-10


@kernel
def _find(union: np.ndarray, i: int) -> int:
    while union[i] != i:
        union[i] = union[union[i]]  # path halving
        i = union[i]
    return i


@kernel
def spanning_forest_kernel(
    cell_lo: np.ndarray, cell_hi: np.ndarray, by_weight: np.ndarray, adj_start: np.ndarray, adj_cell: np.ndarray,
    parent: np.ndarray, parent_cell: np.ndarray, order: np.ndarray, in_tree: np.ndarray,
) -> None:  # fmt: skip
    """A maximum-weight spanning forest (Kruskal over ``by_weight``: cells, heaviest first) rooted for elimination.

    parent, parent_cell: int64[M], each competitor's tree parent and the cell joining them
    (NO_PARENT for a root); order: int64[M], each tree breadth-first from its root, so that a
    parent comes before its children (eliminate in reverse, substitute forward); in_tree: bool[C]
    scratch. adj_start, adj_cell: the competitors' cells (engine.bt._Graph).
    """
    m = parent.shape[0]
    union = np.arange(m)
    for c in range(in_tree.shape[0]):
        in_tree[c] = False
    for t in range(by_weight.shape[0]):
        c = by_weight[t]
        ri = _find(union, cell_lo[c])
        rj = _find(union, cell_hi[c])
        if ri != rj:
            union[ri] = rj
            in_tree[c] = True
    for i in range(m):
        parent[i] = m  # unvisited
    top = 0
    for s in range(m):
        if parent[s] != m:
            continue
        parent[s] = NO_PARENT
        parent_cell[s] = NO_PARENT
        order[top] = s
        head = top
        top += 1
        while head < top:
            i = order[head]
            head += 1
            for e in range(adj_start[i], adj_start[i + 1]):
                c = adj_cell[e]
                if not in_tree[c]:
                    continue
                j = cell_hi[c] if cell_lo[c] == i else cell_lo[c]
                if parent[j] == m:
                    parent[j] = i
                    parent_cell[j] = c
                    order[top] = j
                    top += 1


@kernel
def tree_factor(
    parent: np.ndarray, parent_cell: np.ndarray, order: np.ndarray, weight: np.ndarray, diag: np.ndarray,
    pivot: np.ndarray,
) -> None:  # fmt: skip
    """pivot: float64[M], the pivots of P = diag(diag) - A_tree (tree edge weights ``weight[cell]``), leaves first."""
    for i in range(diag.shape[0]):
        pivot[i] = diag[i]
    for t in range(order.shape[0] - 1, -1, -1):
        i = order[t]
        if not pivot[i] > SINGULAR_PIVOT * diag[i]:
            pivot[i] = diag[i] if diag[i] > 0.0 else 1.0
        p = parent[i]
        if p == NO_PARENT:
            continue
        w = weight[parent_cell[i]]
        pivot[p] -= w * w / pivot[i]


@kernel
def tree_solve(
    parent: np.ndarray, parent_cell: np.ndarray, order: np.ndarray, weight: np.ndarray, pivot: np.ndarray,
    rhs: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """out = P^-1 rhs with tree_factor's pivots; out may not alias rhs."""
    for i in range(rhs.shape[0]):
        out[i] = rhs[i]
    for t in range(order.shape[0] - 1, -1, -1):  # eliminate leaves into their parents
        i = order[t]
        p = parent[i]
        if p != NO_PARENT:
            out[p] += weight[parent_cell[i]] * out[i] / pivot[i]
    for t in range(order.shape[0]):  # substitute from the roots down
        i = order[t]
        p = parent[i]
        if p == NO_PARENT:
            out[i] = out[i] / pivot[i]
        else:
            out[i] = (out[i] + weight[parent_cell[i]] * out[p]) / pivot[i]
