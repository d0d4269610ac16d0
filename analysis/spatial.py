"""Spatial structure of the scores: Local Moran's I clusters and contiguous priority groups.

Both use queen-style contiguity (:func:`analysis.geometry.contiguity`). Communes without a
neighbour among the scored communes (Isla de Pascua, Juan Fernández, Puqueldón, Guaitecas,
or any commune without polygon) are reported as ``Sin vecinos`` and left out of the
statistics instead of breaking them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

FloatArray = npt.NDArray[np.float64]
Neighbours = dict[int, list[int]]

#: Local Moran quadrant codes of esda (``q``) and their Spanish labels.
QUADRANT_LABELS = {1: "Alto-Alto", 2: "Bajo-Alto", 3: "Bajo-Bajo", 4: "Alto-Bajo"}
NOT_SIGNIFICANT = "No significativo"
NO_NEIGHBOURS = "Sin vecinos"
#: Below this many connected communes a local statistic is not meaningful.
MIN_CONNECTED = 5


def subgraph(neighbours: Neighbours, members: npt.NDArray[np.int64]) -> Neighbours:
    """Restrict a neighbour map to ``members``, re-numbered ``0..len(members)-1``."""
    position = {int(member): index for index, member in enumerate(members)}
    return {
        position[int(member)]: [position[j] for j in neighbours[int(member)] if j in position]
        for member in members
    }


def local_moran(
    values: FloatArray,
    neighbours: Neighbours,
    permutations: int,
    seed: int,
    significance: float,
) -> pd.DataFrame:
    """Local Moran's I of one score over the communes of the scope.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Score of each commune (positions match ``neighbours``); ``NaN`` is left out.
    neighbours : dict
        Contiguity of the ``n`` communes.
    permutations : int
        Conditional permutations for the pseudo p-values.
    seed : int
        Seed handed to esda (which seeds numpy's legacy global generator with it).
    significance : float
        Pseudo p-value at or below which a quadrant is reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``moran_i``, ``p_value``, ``quadrant`` for the ``n`` positions, in order.
    """
    n = len(values)
    result = pd.DataFrame(
        {"moran_i": np.full(n, np.nan), "p_value": np.full(n, np.nan), "quadrant": NO_NEIGHBOURS}
    )
    scored = np.flatnonzero(np.isfinite(values))
    links = subgraph(neighbours, scored)
    connected = np.array([i for i in range(len(scored)) if links[i]], dtype=np.int64)
    if connected.size < MIN_CONNECTED or np.ptp(values[scored[connected]]) == 0:
        return result
    members = scored[connected]
    # Imported here: slow to import, and most commands never need it.
    import esda
    from libpysal.weights import W

    weights = W(subgraph(links, connected), silence_warnings=True)
    weights.transform = "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moran = esda.Moran_Local(
            values[members],
            weights,
            transformation="r",
            permutations=permutations,
            seed=seed,
            n_jobs=1,
            keep_simulations=False,
        )
    quadrant = np.array([QUADRANT_LABELS[int(q)] for q in moran.q], dtype=object)
    significant = np.asarray(moran.p_sim) <= significance
    result.loc[members, "moran_i"] = np.asarray(moran.Is, dtype=float)
    result.loc[members, "p_value"] = np.asarray(moran.p_sim, dtype=float)
    result.loc[members, "quadrant"] = np.where(significant, quadrant, NOT_SIGNIFICANT)
    return result


def _separable_dissimilarity(first: FloatArray, second: FloatArray | None = None) -> FloatArray:
    """Manhattan dissimilarity plus a tiny constant.

    Skater multiplies the contiguity matrix by the dissimilarity and drops zeros, so two
    neighbours with identical profiles would silently lose their link; the constant keeps it.
    """
    other = first if second is None else second
    distance: FloatArray = np.abs(first[:, None, :] - other[None, :, :]).sum(axis=2)
    return distance + 1e-9


def contiguous_groups(
    priority: npt.NDArray[np.bool_],
    attributes: FloatArray,
    neighbours: Neighbours,
    max_group_size: int,
) -> npt.NDArray[np.int64]:
    """Split the priority communes into contiguous groups of similar profile.

    Priority communes that touch form connected components. A component of at most
    ``max_group_size`` communes is one group; a larger one is split by SKATER (spopt) into
    ``ceil(size / max_group_size)`` contiguous groups of at least two communes, minimising
    the within-group dissimilarity of ``attributes``, and any part still too large is split
    again the same way. SKATER is deterministic (minimum
    spanning tree pruning), which keeps runs byte-identical.

    Parameters
    ----------
    priority : ndarray of bool, shape (n,)
        Communes eligible for a group.
    attributes : ndarray of shape (n, p)
        Profile used to split large components (no ``NaN`` in priority rows).
    neighbours : dict
        Contiguity of the ``n`` communes.
    max_group_size : int
        Target largest group size.

    Returns
    -------
    ndarray of int, shape (n,)
        Group label per commune; ``-1`` for communes in no group of two or more.
    """
    labels = np.full(len(priority), -1, dtype=np.int64)
    members = np.flatnonzero(priority)
    if members.size < 2:
        return labels
    links = subgraph(neighbours, members)
    rows = [i for i, linked in links.items() for _ in linked]
    cols = [j for linked in links.values() for j in linked]
    adjacency = coo_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(members.size, members.size)
    ).tocsr()
    _, component = connected_components(adjacency, directed=False)
    next_label = 0
    for label in np.unique(component):
        inside = np.flatnonzero(component == label)
        if inside.size < 2:
            continue
        if inside.size <= max_group_size:
            labels[members[inside]] = next_label
            next_label += 1
            continue
        pieces = _split_until_small(
            attributes[members[inside]], subgraph(links, inside), max_group_size
        )
        for piece in pieces:
            if piece.size >= 2:
                labels[members[inside[piece]]] = next_label
                next_label += 1
    return labels


def _split_until_small(
    attributes: FloatArray, links: Neighbours, max_group_size: int
) -> list[npt.NDArray[np.int64]]:
    """Split a connected set with SKATER, again and again, until no part exceeds the size.

    Returns the parts as arrays of positions. A part SKATER cannot split (every cut would
    leave a single commune) is kept whole.
    """
    pending = [np.arange(attributes.shape[0])]
    parts: list[npt.NDArray[np.int64]] = []
    while pending:
        part = pending.pop()
        if part.size <= max_group_size:
            parts.append(part)
            continue
        labels = _skater_split(
            attributes[part], subgraph(links, part), math.ceil(part.size / max_group_size)
        )
        pieces = [part[labels == label] for label in np.unique(labels)]
        if len(pieces) == 1:
            parts.append(part)
            continue
        pending.extend(pieces)
    return sorted(parts, key=lambda piece: int(piece.min()))


def _skater_split(
    attributes: FloatArray, links: Neighbours, clusters: int
) -> npt.NDArray[np.int64]:
    spread = attributes.std(axis=0)
    standardised = (attributes - attributes.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    columns = [f"a{i}" for i in range(standardised.shape[1])]
    frame = pd.DataFrame(standardised, columns=columns)
    # Imported here: slow to import, and most commands never need it.
    from libpysal.weights import W
    from spopt.region import Skater

    weights = W(links, silence_warnings=True)
    model = Skater(
        frame,
        weights,
        columns,
        n_clusters=clusters,
        floor=2,
        islands="ignore",
        spanning_forest_kwds={"dissimilarity": _separable_dissimilarity},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    return np.asarray(model.labels_, dtype=np.int64)
