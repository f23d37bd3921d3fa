"""Plumbing shared by the corpus benchmarks: options, dataset selection, the parallel run.

Each benchmark supplies its own ``run_one(entry, directory, *args)`` (one dataset, every
exception recorded, none raised) and its own summary; this module only chooses the datasets,
runs them over worker processes and puts the results back in corpus order.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from trialrecon import corpus, paths
from trialrecon.report import BLAS_THREADS

CORPUS = paths.ROOT.parent / "shared" / "corpus" / "kmdata"


#: The environment variables that set BLAS threads (one home: the report runner's).
BLAS_VARS = BLAS_THREADS


def pin_blas(threads: int) -> None:
    """Re-execute with ``threads`` BLAS threads per process (unless 0 or already so)."""
    if threads <= 0:
        return
    want = str(threads)
    if all(os.environ.get(v) == want for v in BLAS_VARS):
        return
    sys.stdout.flush()
    env = {**os.environ, **dict.fromkeys(BLAS_VARS, want)}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

def corpus_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every corpus benchmark takes."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help=f"corpus folder (default: {CORPUS})")
    parser.add_argument("--datasets", help="comma-separated dataset names (default: all)")
    parser.add_argument("--limit", type=int, help="only the first N datasets")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", help="write PREFIX_datasets.csv and PREFIX_arms.csv")
    return parser


def select_entries(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The index rows chosen by ``--datasets`` and ``--limit``; None (after saying why on
    stderr) when a name is unknown or nothing is left."""
    index = corpus.corpus_index(args.corpus)
    if args.datasets:
        wanted = [d.strip() for d in args.datasets.split(",") if d.strip()]
        unknown = sorted(set(wanted) - set(index.dataset))
        if unknown:
            print(f"unknown dataset(s): {', '.join(unknown)}", file=sys.stderr)
            return None
        index = index[index.dataset.isin(wanted)]
    if args.limit is not None:
        index = index.head(args.limit)
    if index.empty:
        print("no datasets selected", file=sys.stderr)
        return None
    return index.to_dict("records")


def run_all(run_one: Callable[..., dict[str, Any]], entries: list[dict[str, Any]],
            directory: Path, jobs: int, *args: Any) -> tuple[list[dict[str, Any]], float]:
    """``run_one(entry, str(directory), *args)`` for every entry over ``jobs`` processes.

    Returns the results in the entries' order and the wall time (seconds).
    """
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, e, str(directory), *args): k
                   for k, e in enumerate(entries)}
        done = as_completed(futures)
        if sys.stderr.isatty():
            from tqdm import tqdm
            done = tqdm(done, total=len(futures), file=sys.stderr, leave=False)
        results = {futures[f]: f.result() for f in done}
    return [results[k] for k in range(len(entries))], time.perf_counter() - start


def write_tables(prefix: str | None, datasets, arms) -> None:
    """``PREFIX_datasets.csv`` and ``PREFIX_arms.csv`` when ``--out`` was given."""
    if prefix:
        datasets.to_csv(f"{prefix}_datasets.csv", index=False)
        arms.to_csv(f"{prefix}_arms.csv", index=False)
        print(f"wrote {prefix}_datasets.csv and {prefix}_arms.csv")
