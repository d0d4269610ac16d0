"""Where new facilities reach the most people: maximal covering and p-median with spopt.

Both models choose ``p`` new sites among candidate locations given a travel-time matrix from
demand points (populated cells or settlements, with their population) to the candidates, and
the travel time from each demand point to the nearest *existing* facility:

* **MCLP** (maximal covering location problem, Church & ReVelle 1974): maximise the population
  within ``T`` minutes of a new site. Demand already within ``T`` minutes of an existing facility
  gets weight 0 (it is credited as covered and cannot be covered twice), so the model places
  sites where people are not served today.
* **p-median** (Hakimi 1964): minimise the population-weighted travel time to the nearest open
  facility, existing or new. The existing facilities enter as one predefined column whose cost
  is each point's time to its nearest existing facility (which facility it is does not matter
  for the objective), so ``p + 1`` columns are open in the solution.

Both are solved exactly as integer programmes with spopt's ``from_cost_matrix`` and the CBC
solver shipped with PuLP. Population newly covered is attributed to the nearest chosen site,
so the per-site figures add up to the total gain.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pulp  # type: ignore[import-untyped]  # PuLP ships no type information
from spopt.locate import MCLP, PMedian

from domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
Model = Literal["mclp", "pmedian"]
#: Cost standing for "unreachable" in the p-median matrix (minutes; larger than any trip).
UNREACHABLE_MINUTES = 1e6


@dataclass(frozen=True)
class SitingResult:
    """Chosen sites, coverage before and after, and which communes gain.

    Attributes
    ----------
    sites : pandas.DataFrame
        The chosen candidates (their columns plus ``order``, ``newly_covered`` — population
        newly within ``T`` minutes attributed to this site — and ``reachable_uncovered`` —
        uncovered population within ``T`` minutes of the site whatever the other sites).
    communes : pandas.DataFrame
        Per commune: ``cut, population, covered_before, covered_after, gain,
        share_before, share_after``.
    summary : dict
        ``model, minutes, new_sites, population, covered_before, covered_after, gain,
        share_before, share_after, mean_minutes_before, mean_minutes_after, candidates,
        demand_points``.
    """

    sites: pd.DataFrame
    communes: pd.DataFrame
    summary: dict[str, Any]


def site_facilities(
    demand: pd.DataFrame,
    candidates: pd.DataFrame,
    cost_minutes: npt.ArrayLike,
    existing_minutes: npt.ArrayLike,
    new_sites: int,
    minutes: float,
    model: Model = "mclp",
    time_limit_s: float | None = 120.0,
) -> SitingResult:
    """Choose ``new_sites`` candidates that best serve the demand.

    Parameters
    ----------
    demand : pandas.DataFrame
        One row per demand point with ``population`` and ``cut`` (commune).
    candidates : pandas.DataFrame
        One row per candidate site (any columns, e.g. ``candidate_id, name, cut, x, y``).
    cost_minutes : array of shape (n_demand, n_candidates)
        Travel minutes from each demand point to each candidate (``inf`` unreachable).
    existing_minutes : array of shape (n_demand,)
        Minutes from each demand point to its nearest existing facility (``inf`` if none).
    new_sites : int
        Number of sites to open (``p``); at most the number of candidates.
    minutes : float
        Coverage standard ``T``: a point is covered within ``T`` minutes.
    model : {"mclp", "pmedian"}
        Maximal covering (default) or p-median.
    time_limit_s : float or None
        CBC time limit; the best solution found is used if it is reached.

    Returns
    -------
    SitingResult

    Raises
    ------
    InvalidInputError
        On ``new_sites`` out of range or an unknown model (also a ``ValueError``).
    ValueError
        On inconsistent shapes (a caller's bug).
    """
    cost = np.asarray(cost_minutes, dtype=float)
    existing = np.asarray(existing_minutes, dtype=float)
    population = pd.to_numeric(demand["population"], errors="coerce").fillna(0.0).to_numpy()
    if cost.shape != (len(demand), len(candidates)) or existing.shape != (len(demand),):
        raise ValueError(
            f"matriz de costos {cost.shape} no calza con {len(demand)} puntos de demanda y "
            f"{len(candidates)} candidatos"
        )
    if not 1 <= new_sites <= len(candidates):
        raise InvalidInputError(f"new_sites debe estar entre 1 y {len(candidates)} (candidatos)")
    if model not in ("mclp", "pmedian"):
        raise InvalidInputError(f"modelo desconocido {model!r}: use mclp o pmedian")
    covered_before = existing <= minutes
    with warnings.catch_warnings():
        # PuLP 3 announces API changes for 4.0 on every variable; spopt owns those calls.
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
        if model == "mclp":
            chosen = _solve_mclp(cost, population, covered_before, new_sites, minutes, solver)
        else:
            chosen = _solve_pmedian(cost, population, existing, new_sites, solver)

    chosen_cost = cost[:, chosen]
    nearest_new = chosen_cost.min(axis=1) if chosen.size else np.full(len(demand), np.inf)
    covered_after = covered_before | (nearest_new <= minutes)
    sites = _site_table(
        candidates, chosen_cost, chosen, population, covered_before, covered_after, minutes
    )
    communes = _commune_coverage(demand, population, covered_before, covered_after)

    total = float(population.sum())
    before = float(population[covered_before].sum())
    after = float(population[covered_after].sum())
    best_after = np.minimum(existing, nearest_new)
    summary: dict[str, Any] = {
        "model": model,
        "minutes": float(minutes),
        "new_sites": int(chosen.size),
        "population": total,
        "covered_before": before,
        "covered_after": after,
        "gain": after - before,
        "share_before": before / total if total > 0 else float("nan"),
        "share_after": after / total if total > 0 else float("nan"),
        "mean_minutes_before": _weighted_finite_mean(existing, population),
        "mean_minutes_after": _weighted_finite_mean(best_after, population),
        "candidates": len(candidates),
        "demand_points": len(demand),
    }
    return SitingResult(sites=sites, communes=communes, summary=summary)


def _site_table(
    candidates: pd.DataFrame,
    chosen_cost: FloatArray,
    chosen: npt.NDArray[np.int64],
    population: FloatArray,
    covered_before: npt.NDArray[np.bool_],
    covered_after: npt.NDArray[np.bool_],
    minutes: float,
) -> pd.DataFrame:
    """The chosen candidates, most newly covered inhabitants first.

    ``newly_covered`` counts the people a site covers for the first time (each counted at its
    nearest new site); ``reachable_uncovered`` the uncovered people within reach of the site.
    """
    newly = covered_after & ~covered_before
    owner = np.argmin(chosen_cost, axis=1) if chosen.size else np.zeros(len(population), int)
    sites = candidates.iloc[chosen].copy().reset_index(drop=True)
    sites.insert(0, "order", np.arange(1, chosen.size + 1))
    sites["newly_covered"] = [
        float(population[newly & (owner == k)].sum()) for k in range(chosen.size)
    ]
    sites["reachable_uncovered"] = [
        float(population[~covered_before & (chosen_cost[:, k] <= minutes)].sum())
        for k in range(chosen.size)
    ]
    sites = sites.sort_values(["newly_covered", "order"], ascending=[False, True], kind="stable")
    sites["order"] = np.arange(1, len(sites) + 1)
    return sites.reset_index(drop=True)


def _commune_coverage(
    demand: pd.DataFrame,
    population: FloatArray,
    covered_before: npt.NDArray[np.bool_],
    covered_after: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """Per commune: inhabitants covered before and after, the gain and the shares.

    Largest gain first, then by CUT.
    """
    frame = pd.DataFrame(
        {
            "cut": demand["cut"].astype(str).to_numpy(),
            "population": population,
            "covered_before": np.where(covered_before, population, 0.0),
            "covered_after": np.where(covered_after, population, 0.0),
        }
    )
    communes = frame.groupby("cut", sort=True).sum().reset_index()
    communes["gain"] = communes["covered_after"] - communes["covered_before"]
    with np.errstate(invalid="ignore", divide="ignore"):
        communes["share_before"] = communes["covered_before"] / communes["population"]
        communes["share_after"] = communes["covered_after"] / communes["population"]
    return communes.sort_values(["gain", "cut"], ascending=[False, True]).reset_index(drop=True)


def _solve_mclp(
    cost: FloatArray,
    population: FloatArray,
    covered_before: npt.NDArray[np.bool_],
    new_sites: int,
    minutes: float,
    solver: pulp.LpSolver,
) -> npt.NDArray[np.int64]:
    # Only uncovered demand some candidate can reach matters; the rest is dropped from the
    # integer programme (it cannot change the objective) to keep it small.
    reachable = (cost <= minutes).any(axis=1)
    rows = np.flatnonzero(~covered_before & reachable & (population > 0))
    if rows.size == 0:
        return np.arange(new_sites, dtype=np.int64)
    problem = MCLP.from_cost_matrix(
        np.where(np.isfinite(cost[rows]), cost[rows], UNREACHABLE_MINUTES),
        population[rows],
        service_radius=float(minutes),
        p_facilities=new_sites,
    )
    problem = problem.solve(solver)
    return _open_facilities(problem.fac_vars, new_sites)


def _solve_pmedian(
    cost: FloatArray,
    population: FloatArray,
    existing: FloatArray,
    new_sites: int,
    solver: pulp.LpSolver,
) -> npt.NDArray[np.int64]:
    rows = np.flatnonzero(population > 0)
    matrix = np.column_stack((cost[rows], existing[rows]))
    matrix = np.where(np.isfinite(matrix), matrix, UNREACHABLE_MINUTES)
    predefined = np.zeros(matrix.shape[1], dtype=int)
    predefined[-1] = 1
    problem = PMedian.from_cost_matrix(
        matrix,
        population[rows],
        p_facilities=new_sites + 1,
        predefined_facilities_arr=predefined,
    )
    problem = problem.solve(solver)
    opened = _open_facilities(problem.fac_vars[:-1], new_sites)
    return opened


def _open_facilities(variables: list[pulp.LpVariable], wanted: int) -> npt.NDArray[np.int64]:
    values = np.array([v.value() or 0.0 for v in variables], dtype=float)
    opened = np.flatnonzero(values > 0.5)
    if opened.size < wanted:
        # The solver may leave a useless site closed when fewer sites already cover all it
        # can; fill with the lowest-numbered closed candidates so exactly p are reported.
        closed = np.setdiff1d(np.arange(values.size), opened)
        opened = np.sort(np.concatenate((opened, closed[: wanted - opened.size])))
    return opened.astype(np.int64)


def _weighted_finite_mean(values: FloatArray, weights: FloatArray) -> float:
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return float("nan")
    return float(np.average(values[keep], weights=weights[keep]))


# ------------------------------------------------------------------ from the raster surfaces


@dataclass(frozen=True)
class SitingInstance:
    """A siting problem built from the population and travel-time surfaces.

    Attributes
    ----------
    demand : pandas.DataFrame
        Populated rural cells of the communes in scope: ``row, col, cut, population``.
    candidates : pandas.DataFrame
        Candidate sites kept: their input columns plus ``row, col`` and
        ``existing_minutes`` (travel time from the site to the nearest existing facility).
    cost : ndarray of shape (n_demand, n_candidates)
        Minutes from each demand cell to each candidate (``inf`` beyond the bound).
    existing : ndarray of shape (n_demand,)
        Minutes from each demand cell to the nearest existing facility.
    """

    demand: pd.DataFrame
    candidates: pd.DataFrame
    cost: FloatArray
    existing: FloatArray


def candidate_cells(
    candidates: pd.DataFrame,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    existing_minutes: FloatArray,
    cost_per_cell: FloatArray,
    minimum_minutes: float,
    limit: int,
) -> pd.DataFrame:
    """Keep a bounded set of candidate sites worth testing.

    One candidate per cell (the first in input order), on a passable cell, at least
    ``minimum_minutes`` from an existing facility (a site next to an existing one adds almost
    nothing); if more remain than ``limit``, the ``limit`` farthest from existing facilities.
    """
    frame = candidates.copy()
    frame["row"] = rows
    frame["col"] = cols
    frame["existing_minutes"] = existing_minutes[rows, cols]
    passable = np.isfinite(cost_per_cell[rows, cols])
    keep = passable & (frame["existing_minutes"].to_numpy() >= minimum_minutes)
    frame = frame[keep].drop_duplicates(["row", "col"])
    frame = frame.sort_values("existing_minutes", ascending=False, kind="stable").head(limit)
    return frame.reset_index(drop=True)


def bounded_minutes(
    cost_per_cell: FloatArray, row: int, col: int, limit: float | None
) -> FloatArray:
    """Minutes from one cell to every cell, computed only where ``limit`` can reach.

    The same ``MCP_Geometric`` cost distance as the accessibility surfaces (8-connected,
    mean of the two cells' costs times the step length). With a ``limit`` it runs on a window
    around the cell: no path of at most ``limit`` minutes can leave a square of
    ``limit / (cheapest cell cost)`` cells around its start, so the result is exact within the
    limit and one candidate costs a neighbourhood, not the whole grid. Cells beyond the limit
    (or outside the window) are ``inf``.
    """
    from skimage.graph import MCP_Geometric

    out = np.full(cost_per_cell.shape, np.inf)
    if limit is None:
        top, left = 0, 0
        window = cost_per_cell
    else:
        finite = cost_per_cell[np.isfinite(cost_per_cell)]
        cheapest = float(finite.min()) if finite.size else np.inf
        reach = int(np.ceil(limit / cheapest)) + 1 if np.isfinite(cheapest) else 1
        top, left = max(row - reach, 0), max(col - reach, 0)
        bottom = min(row + reach + 1, cost_per_cell.shape[0])
        right = min(col + reach + 1, cost_per_cell.shape[1])
        window = cost_per_cell[top:bottom, left:right]
    graph = MCP_Geometric(window, fully_connected=True)
    minutes, _ = graph.find_costs([[row - top, col - left]])
    minutes = np.asarray(minutes, dtype=np.float64)
    if limit is not None:
        minutes = np.where(minutes <= limit, minutes, np.inf)
    out[top : top + window.shape[0], left : left + window.shape[1]] = minutes
    return out


def aggregate_demand(demand: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Merge demand cells into ``k × k`` blocks per commune until at most ``max_points`` remain.

    A block keeps the row and column of its most populated cell and the sum of the
    population, so totals are preserved; ``block`` records ``k``.
    """
    block = 1
    merged = demand.assign(block=1)
    while len(merged) > max_points:
        block += 1
        keys = [demand["row"] // block, demand["col"] // block, demand["cut"]]
        ordered = demand.assign(_r=keys[0], _c=keys[1]).sort_values(
            "population", ascending=False, kind="stable"
        )
        grouped = ordered.groupby(["_r", "_c", "cut"], sort=True)
        merged = grouped.agg(
            row=("row", "first"), col=("col", "first"), population=("population", "sum")
        ).reset_index()
        merged = merged.drop(columns=["_r", "_c"]).assign(block=block)
    return merged[["row", "col", "cut", "population", "block"]].reset_index(drop=True)


def raster_instance(
    rural_population: FloatArray,
    cost_per_cell: FloatArray,
    existing_minutes: FloatArray,
    commune_of_cell: npt.NDArray[np.object_],
    candidates: pd.DataFrame,
    candidate_rows: npt.NDArray[np.int64],
    candidate_cols: npt.NDArray[np.int64],
    minutes: float,
    max_candidates: int = 60,
    bounded: bool = True,
    max_demand_points: int | None = None,
) -> SitingInstance:
    """Build demand, candidates and the cost matrix from the accessibility rasters.

    Parameters
    ----------
    rural_population : ndarray (rows, cols)
        Rural inhabitants per cell (the dasymetric surface).
    cost_per_cell : ndarray (rows, cols)
        Minutes to cross each cell (``inf`` impassable).
    existing_minutes : ndarray (rows, cols)
        Minutes from each cell to the nearest existing facility of the kind.
    commune_of_cell : ndarray (rows, cols) of str or None
        CUT owning each cell; cells outside the scope are ``None`` and carry no demand.
    candidates : pandas.DataFrame
        Candidate sites (e.g. rural schools and APR systems) with their cells given by
        ``candidate_rows`` / ``candidate_cols``.
    minutes : float
        Coverage standard ``T``.
    max_candidates : int
        Largest candidate set (see :func:`candidate_cells`; the minimum distance from an
        existing facility is ``T / 4``).
    bounded : bool
        Explore each candidate's cost distance only up to ``T`` (exact for MCLP); p-median
        needs unbounded times.
    max_demand_points : int, optional
        Aggregate demand cells into square blocks (per commune) until at most this many
        points remain; each block stands at its most populated cell. p-median has one
        assignment variable per point and candidate, so it needs this bound; MCLP does not.
    """
    in_scope = np.array([c is not None for c in commune_of_cell.ravel()]).reshape(
        commune_of_cell.shape
    )
    populated = in_scope & (rural_population > 0)
    rows, cols = np.nonzero(populated)
    demand = pd.DataFrame(
        {
            "row": rows,
            "col": cols,
            "cut": commune_of_cell[rows, cols].astype(str),
            "population": rural_population[rows, cols].astype(float),
        }
    )
    if max_demand_points is not None:
        demand = aggregate_demand(demand, max_demand_points)
        rows = demand["row"].to_numpy()
        cols = demand["col"].to_numpy()
    kept = candidate_cells(
        candidates,
        candidate_rows,
        candidate_cols,
        existing_minutes,
        cost_per_cell,
        minutes / 4.0,
        max_candidates,
    )
    cost = np.full((len(demand), len(kept)), np.inf)
    limit = float(minutes) if bounded else None
    for k, (row, col) in enumerate(zip(kept["row"], kept["col"], strict=True)):
        cost[:, k] = bounded_minutes(cost_per_cell, int(row), int(col), limit)[rows, cols]
    existing = existing_minutes[rows, cols].astype(float)
    return SitingInstance(demand=demand, candidates=kept, cost=cost, existing=existing)
