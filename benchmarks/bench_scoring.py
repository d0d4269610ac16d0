"""Time the national gap scoring with 1,000 Monte Carlo draws and the national Sobol' run.

Targets on 2 cores: scoring under 5 s; Sobol' sensitivity (N = 512 base samples) under 60 s.

The inputs are loaded once, through the project's own loaders, from ``../shared/data/chile``
into a throwaway embedded store; loading is not timed. Each timed run is the full
``score_communes`` call: raw indicators (spatial sampling and distances), normalisation,
Monte Carlo, Local Moran's I, regionalisation, portfolio and explanations. Every commune's
breakdown (as stored with a run) is timed on the last result: ``explain_communes`` once
(target under 1.5 s) vs one ``explain_commune`` call per commune. The Sobol' run
is timed separately on the same indicators: stages 1-4 of the pipeline once, then
``N * (D + 2)`` evaluations of the index (SALib sampling and analysis included).

Usage::

    python benchmarks/bench_scoring.py [--data-dir DIR] [--draws 1000] [--repeat 3] [--samples 512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from analysis import (  # noqa: E402
    AnalysisInputs,
    ScoringParameters,
    ScoringResult,
    compute_indicators,
    explain_commune,
    explain_communes,
    load_catalogue,
    score_communes,
)
from analysis.scoring import scored_model  # noqa: E402
from analysis.sensitivity import rank_sensitivity  # noqa: E402
from geo_service.services.inputs import read_analysis_inputs  # noqa: E402
from layers.loading import load_directory  # noqa: E402
from layers.stores import EmbeddedStore  # noqa: E402

DEFAULT_DATA_DIR = (PROJECT_ROOT / ".." / "shared" / "data" / "chile").resolve()


def time_scoring(
    inputs: AnalysisInputs, draws: int, repeat: int, seed: int = 2025
) -> tuple[list[float], set[str], ScoringResult]:
    """Seconds of ``repeat`` national scorings with ``draws`` draws, their digests, the last."""
    params = ScoringParameters(draws=draws, seed=seed)
    timings = []
    digests = set()
    for _ in range(repeat):
        start = time.perf_counter()
        result = score_communes(inputs, params)
        timings.append(time.perf_counter() - start)
        digests.add(result.digest())
    return timings, digests, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--samples", type=int, default=512, help="Sobol' base samples N")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="geogaps-bench-") as folder:
        store = EmbeddedStore(Path(folder))
        loaded = load_directory(store, args.data_dir)
        if loaded.failures:
            print(f"load failures: {loaded.failures}", file=sys.stderr)
            return 1
        inputs = read_analysis_inputs(store)

    params = ScoringParameters(draws=args.draws, seed=args.seed)
    timings, digests, result = time_scoring(inputs, args.draws, args.repeat, args.seed)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"national scoring: {result.communes_in_scope} communes, {args.draws} draws, "
        f"{cores} cores available"
    )
    print(
        f"time per run: best {min(timings):.2f} s, median {statistics.median(timings):.2f} s "
        f"over {args.repeat} runs (target < 5 s)"
    )
    reproducible = len(digests) == 1
    print(f"result digest: {next(iter(digests)) if reproducible else 'NOT REPRODUCIBLE'}")

    # Every commune's breakdown, as stored with a run: one batch call vs one call per commune.
    cuts = list(result.scores["cut"].drop_duplicates())
    start = time.perf_counter()
    texts = explain_communes(result)
    batch = time.perf_counter() - start
    start = time.perf_counter()
    singles = {cut: explain_commune(result, cut) for cut in cuts}
    one_by_one = time.perf_counter() - start
    same = texts == singles
    print(
        f"explanations of {len(texts)} communes: explain_communes {batch:.2f} s (target < 1.5 s), "
        f"{len(cuts)} explain_commune calls {one_by_one:.2f} s; "
        f"{'identical' if same else 'TEXTS DIFFER'}"
    )

    raw = compute_indicators(inputs)
    catalogue = load_catalogue()
    for score_id in (catalogue.composite_id, catalogue.challenge_ids[-1]):
        start = time.perf_counter()
        scored = scored_model(raw, params, catalogue)
        sensitivity = rank_sensitivity(scored, params, score_id, base_samples=args.samples)
        seconds = time.perf_counter() - start
        factors = sensitivity.table["input"].nunique()
        print(
            f"Sobol' {score_id}: N = {args.samples}, {factors} factors, "
            f"{sensitivity.evaluations} evaluations in {seconds:.2f} s (target < 60 s)"
        )
    return 0 if reproducible and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
