"""Command-line interface: ``trialrecon check | reconstruct | compare | simulate | report``.

Errors a user can cause are printed in one line and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import InputError

if TYPE_CHECKING:
    from .registry import Analysis


def _emit(frame: pd.DataFrame, fmt: str, stream=None) -> None:
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(frame.to_json(orient="records", indent=1) + "\n")
    elif fmt == "csv":
        frame.to_csv(stream, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.max_colwidth", 60):
            stream.write(frame.to_string(index=False) + "\n")


#: Suffixes that make a positional argument a trial file rather than a registry id.
YAML_SUFFIXES = (".yaml", ".yml")


def _is_trial_file(name: str) -> bool:
    """A trial file (``.yaml``/``.yml``, or any existing file) rather than a registry id."""
    path = Path(name)
    return path.suffix.lower() in YAML_SUFFIXES or path.is_file()


def _from_file(name: str, wanted: str | None) -> list[Analysis]:
    """The analyses of a user's trial file: all of them, or the one ``wanted`` names.

    ``wanted`` is an analysis id (``mytrial/os/v1``) or a version shared by no other analysis
    of the file.
    """
    from . import registry

    trial = registry.load_trial(name)
    if wanted is None:
        return list(trial.analyses)
    by_id = [a for a in trial.analyses if a.id == wanted]
    by_version = [a for a in trial.analyses if a.version == wanted]
    if by_id or len(by_version) == 1:
        return (by_id or by_version)[:1]
    ids = ", ".join(a.id for a in (by_version or trial.analyses))
    problem = (f"--analysis {wanted!r}: several analyses have this version" if by_version
               else f"--analysis {wanted!r}: no analysis with this id or version")
    raise InputError(problem, file=name, advice=f"choose one of: {ids}")


def _cmd_check(args: argparse.Namespace) -> int:
    from . import registry, summary

    if args.analysis and not any(_is_trial_file(n) for n in args.trials):
        raise InputError("--analysis picks an analysis from a trial file; none was given",
                         advice="give registry analysis ids directly")
    if args.trials:
        chosen = []
        for name in args.trials:
            if _is_trial_file(name):
                chosen += _from_file(name, args.analysis)
            elif name in registry.trials():
                chosen += registry.analyses(name)
            else:
                chosen.append(registry.get(name))
    else:
        chosen = registry.analyses()
    table = summary.check_table(chosen)
    if args.format == "table":
        table = table.drop(columns=["derived_value"])
    _emit(table, args.format)
    return 0


#: The output name that means standard output.
STDOUT = "-"


def _same_file(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _write_csv(frame: pd.DataFrame, path: str, inputs: Sequence[str | None] = ()) -> None:
    """Write a table as CSV: to standard output for ``-``, else atomically (a temporary file
    renamed into place, never a half-written file, never a temporary file left behind).

    Raises
    ------
    InputError
        If ``path`` is one of the ``inputs`` (it would be overwritten), exists and is not a
        regular file (a folder, a device such as /dev/full, a link), or cannot be written.
    """
    if path == STDOUT:
        frame.to_csv(sys.stdout, index=False)
        return
    target = Path(path)
    if any(source and _same_file(source, target) for source in inputs):
        raise InputError("is also an input: writing there would overwrite it", file=path,
                         advice="write the output to another file")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InputError("exists and is not a regular file: it is not replaced", file=path,
                         advice="write to a new or a regular file (or - for standard output)")
    # A name of its own per writer: two runs writing beside each other never share it.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise InputError(f"cannot be written ({exc.strerror or exc})", file=path,
                         advice="check that its folder exists and is writable") from None


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from .curves import read_at_risk, read_censor_marks, read_curve
    from .reconstruct import reconstruct

    curve = read_curve(args.curve, scale=args.scale)
    table = read_at_risk(args.at_risk) if args.at_risk else None
    marks = read_censor_marks(args.censor_marks) if args.censor_marks else None
    result = reconstruct(curve, table, method=args.method, n_patients=args.n_patients,
                         total_events=args.total_events, censor_marks=marks)
    for fix in result.fixes:
        print(f"note: {fix}", file=sys.stderr)
    _write_csv(result.ipd, args.output, inputs=(args.curve, args.at_risk, args.censor_marks))
    ipd = result.ipd
    info = sys.stderr if args.output == STDOUT else sys.stdout  # keep the CSV on stdout clean
    print(f"{len(ipd)} patients, {int(ipd.event.sum())} events -> {args.output} "
          f"(method {result.method}{', exact steps' if result.exact_steps else ''})", file=info)
    print(f"largest |digitised - reconstructed KM| = {result.max_abs_error:.4f}", file=info)
    _emit(result.intervals, "table", info)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .analysis import compare_arms
    from .curves import read_ipd_arms

    files = [args.experimental] + ([args.control] if args.control else [])
    parts = [read_ipd_arms(f) for f in files]
    if sum(len(part) for part in parts) != 2:
        f, part = max(zip(files, parts, strict=True), key=lambda fp: len(fp[1]))
        raise InputError(f"holds {len(part)} arm{'s' * (len(part) != 1)} ({', '.join(part)}); "
                         "compare takes two arms in all", file=f, column="arm",
                         advice="give one file with an arm column of two arms (experimental "
                         "first), or two files of one arm each")
    arms = [frame for part in parts for frame in part.values()]
    names = tuple(name for part in parts for name in part)
    if names[0] == names[1]:
        names = ("experimental", "control")
    result = compare_arms(*arms, landmarks=args.landmarks, tau=args.tau, names=names)
    for note in result.notes:
        print(f"WARNING: {note}", file=sys.stderr)
    if args.format == "table":
        print(f"derived from patient data; RMST up to tau = {result.tau:g}")
        for frame in (result.arms, result.landmarks, result.effects):
            shown = frame.copy()
            for col in shown.select_dtypes("number"):
                shown[col] = ["not estimable" if x != x else "NR" if x == float("inf")
                              else f"{x:.3g}" if col == "p" else round(x, 4)
                              for x in shown[col]]
            _emit(shown, "table")
            print()
    else:
        frames = {"arms": result.arms, "landmarks": result.landmarks, "effects": result.effects}
        tidy = pd.concat([f.assign(table=k) for k, f in frames.items()], ignore_index=True)
        _emit(tidy, args.format)
    return 0


def _simulated(name: str, wanted: str | None) -> Analysis | str:
    """What ``simulate`` rebuilds: a registry analysis id, or one analysis of a trial file.

    From a file: the analysis ``wanted`` names; without it, the file's only analysis or its
    only two-arm time-to-event analysis. Several candidates are refused, listing their ids.
    """
    from .registry import TIME_TO_EVENT

    if not _is_trial_file(name):
        if wanted is not None:
            raise InputError("--analysis picks an analysis from a trial file",
                             advice=f"{name!r} is a registry id: give the analysis id itself")
        return name
    found = _from_file(name, wanted)
    if len(found) == 1:
        return found[0]
    candidates = [a for a in found if a.endpoint in TIME_TO_EVENT and len(a.arms) == 2]
    if len(candidates) == 1:
        return candidates[0]
    ids = ", ".join(a.id for a in candidates or found)
    raise InputError(
        f"{len(candidates)} two-arm time-to-event analyses in this file; --analysis picks one"
        if candidates else "no two-arm time-to-event analysis in this file to rebuild",
        file=name, advice=("ids: " if candidates else "its analyses: ") + ids)


def _cmd_simulate(args: argparse.Namespace) -> int:
    target = _simulated(args.analysis, args.pick)
    from .simulate import fit_summary

    if args.band and (args.band == args.output or _same_file(args.band, Path(args.output))):
        raise InputError("--band and -o name the same output", file=args.band,
                         advice="give the band its own file")
    info = sys.stderr if STDOUT in (args.output, args.band) else sys.stdout
    fit = fit_summary(target, seed=args.seed)
    _write_csv(fit.ipd, args.output, inputs=(args.analysis,))
    print(f"{fit.analysis_id}: {len(fit.ipd)} pseudo patients -> {args.output}", file=info)
    if args.band:
        import numpy as np

        grid = np.arange(0.0, fit.follow_up_end + 1e-9, 0.5)
        _write_csv(fit.survival_band(grid, level=0.90), args.band, inputs=(args.analysis,))
        print(f"90% band of the curves the print allows (derived) -> {args.band}", file=info)
    print(f"model (derived): {fit.describe()}", file=info)
    shown = fit.table.drop(columns=["difference", "tolerance"])
    shown["reconstructed"] = [f"{x:.4g}" for x in shown.reconstructed]
    shown["within"] = shown.within.map({True: "yes", False: "no"}).fillna("")
    _emit(shown, "table", info)
    for miss in fit.misses:
        print(f"finding: {miss}", file=info)
    for warning in fit.warnings:
        print(f"WARNING: {warning}", file=info)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    return build_report(trials=args.trial, all_pages=args.all, jobs=args.jobs)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _cmd_check, "reconstruct": _cmd_reconstruct, "compare": _cmd_compare,
    "simulate": _cmd_simulate, "report": _cmd_report}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialrecon",
        description="Check, reconstruct and re-analyse the statistics of published trials.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="consistency checks of reported figures (all derived)")
    p.add_argument("trials", nargs="*", metavar="TRIAL",
                   help="trial ids (e.g. cabinet), analysis ids or trial files (.yaml, "
                   "anywhere on disk; see docs/trial-yaml.md); default: the whole registry")
    p.add_argument("--analysis", metavar="ID", help="in a trial file: only this analysis "
                   "(its id, e.g. mytrial/os/v1, or its version if unique)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    p = sub.add_parser("reconstruct", help="patient data from a digitised KM curve")
    p.add_argument("curve", metavar="CURVE.csv", help="digitised curve: columns time,survival")
    p.add_argument("--at-risk", metavar="RISK.csv", help="numbers at risk: time,n_at_risk")
    p.add_argument("--n-patients", type=int, help="needed without --at-risk")
    p.add_argument("--total-events", type=int, help="total events in the arm, if published")
    p.add_argument("--censor-marks", metavar="MARKS.csv",
                   help="times of the censoring marks (+) digitised on the curve: column time")
    p.add_argument("--method", choices=("integer", "guyot"), default="integer",
                   help="integer (default: the at-risk table met exactly, exact steps read "
                   "exactly) or guyot (Guyot et al. 2012)")
    p.add_argument("--scale", choices=("proportion", "percent"), default="proportion",
                   help="survival column unit (never guessed)")
    p.add_argument("-o", "--output", required=True, metavar="IPD.csv",
                   help="where to write the patient data (- for standard output)")

    p = sub.add_parser("compare", help="re-analyse two arms of patient data")
    p.add_argument("experimental", metavar="IPD_A.csv",
                   help="the experimental arm, or both arms in one file with an arm column "
                   "(experimental first, as simulate writes them)")
    p.add_argument("control", metavar="IPD_B.csv", nargs="?", help="the control arm")
    p.add_argument("--landmarks", type=float, nargs="+", default=[6.0, 12.0, 24.0])
    p.add_argument("--tau", type=float, help="RMST horizon (default: shorter follow-up)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    p = sub.add_parser("simulate", help="pseudo patient data calibrated to a printed summary")
    p.add_argument("analysis", metavar="ANALYSIS_ID|TRIAL.yaml",
                   help="a registry analysis id (e.g. cabinet/pnet/pfs/nejm-2025) or a trial "
                   "file anywhere on disk (see docs/trial-yaml.md)")
    p.add_argument("--analysis", dest="pick", metavar="ID",
                   help="in a trial file with several analyses: which one (its id, e.g. "
                   "mytrial/os/v1, or its version if unique)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the band's draws; the central pseudo data are deterministic")
    p.add_argument("--band", metavar="BAND.csv",
                   help="also write the 90%% band of curves the print allows (arm, time, "
                   "lower, estimate, upper)")
    p.add_argument("-o", "--output", required=True, metavar="IPD.csv")

    p = sub.add_parser("report", help="build the HTML report into reports/")
    p.add_argument("--trial", action="append", metavar="TRIAL",
                   help="only this trial's page(s) (repeatable)")
    p.add_argument("--all", action="store_true", help="every page and the index")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel notebooks, 1 or more (default: cores); Ctrl-C stops the run "
                   "(exit 130, SIGTERM 143), a second run on the same folder waits")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    from .registry import UnquotedFigureWarning

    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        # The registry's warnings about the input reach the user as one line each.
        warnings.simplefilter("always", UnquotedFigureWarning)
        try:
            return COMMANDS[args.command](args)
        except InputError as exc:
            print(f"trialrecon: error: {exc}", file=sys.stderr)
            return 2
        finally:
            for w in caught:
                if issubclass(w.category, UnquotedFigureWarning):
                    print(f"trialrecon: warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


if __name__ == "__main__":
    raise SystemExit(main())
