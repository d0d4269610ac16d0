"""Cost distance: minutes from every cell to the nearest destination, with scikit-image.

``skimage.graph.MCP_Geometric`` is a multi-source Dijkstra on the 8-connected grid: the cost
of a step is the mean of the two cells' costs times the step length (1 or √2 cells), so with
costs in minutes per cell the accumulated cost is the travel time in minutes. Cells with an
infinite cost are barriers; cells no path reaches stay ``inf``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from skimage.graph import MCP_Geometric

from analysis.accessibility.friction import WALKING_SPEED_KMH

FloatGrid = npt.NDArray[np.float64]


def travel_minutes(
    cost_minutes: FloatGrid,
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    resolution: float,
) -> FloatGrid:
    """Minutes from every cell to the nearest of the destination cells.

    Parameters
    ----------
    cost_minutes : ndarray
        Minutes to cross each cell (``inf`` for barriers), see
        :func:`analysis.accessibility.friction.minutes_per_cell`.
    rows, cols : array-like of int
        Destination cells. A destination on a barrier cell is reachable on foot from its
        neighbours (its cost becomes the walking time), as people do reach a facility drawn a
        few metres into a lake or an ice field.
    resolution : float
        Cell size, metres (for the walking cost of such cells).

    Returns
    -------
    ndarray of float64
        Minutes; ``inf`` where no destination is reachable (or there is none).
    """
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    if r.size == 0:
        return np.full(cost_minutes.shape, np.inf)
    costs = cost_minutes
    blocked = ~np.isfinite(costs[r, c])
    if blocked.any():
        costs = costs.copy()
        costs[r[blocked], c[blocked]] = (resolution / 1000.0) / WALKING_SPEED_KMH * 60.0
    starts = np.unique(np.column_stack((r, c)), axis=0)
    graph = MCP_Geometric(costs, fully_connected=True)
    minutes, _ = graph.find_costs(starts.tolist())
    # MCP counts half of the starting cell; a destination's own cell is 0 minutes away.
    return np.asarray(minutes, dtype=np.float64)
