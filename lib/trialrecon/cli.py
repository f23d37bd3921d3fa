"""Command-line interface: ``trialrecon trials | check | reconstruct | compare | simulate |
report``.

Errors a user can cause are printed in one line and exit with status 2; no traceback. Registry
ids are read in any case and always printed in the registry's (lower) case. Tables fit the
terminal (long text wraps inside its cell or moves to lines of its own; nothing is cut).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import secrets
import shutil
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from .errors import InputError
from .formatting import printable
from .paths import is_trial_file

if TYPE_CHECKING:
    from .extrapolation import Extrapolation
    from .registry import Analysis


#: Width of a table when the output is no terminal (a pipe, a file, a test).
DEFAULT_WIDTH = 100
#: Narrowest a wrapped column gets before the widest columns move to lines of their own.
MIN_COLUMN = 20
#: Indent of a row's lines for the columns that did not fit beside the others.
BELOW_INDENT = "    "
#: Longest error or warning printed whole (it may quote a value megabytes long).
MESSAGE_LENGTH = 1000


def _width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _json_value(value):
    """``value`` as JSON has it: no NaN or infinity (null, as pandas wrote them), native types."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _json_default(value):
    # What json cannot write by itself: numpy scalars and arrays, dates and timestamps.
    if hasattr(value, "tolist"):
        return _json_value(value.tolist())
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _to_json(records: list[dict]) -> str:
    """Records as clean JSON: ``/`` and non-ASCII letters as they are, NaN as null."""
    return json.dumps(_json_value(records), indent=1, ensure_ascii=False, default=_json_default)


def _cells(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Each column's cells as text, numbers formatted by pandas (as its own tables show them)."""
    cells = {}
    with pd.option_context("display.max_colwidth", None):
        for col in frame.columns:
            if pd.api.types.is_numeric_dtype(frame[col]) and len(frame):
                text = frame[[col]].to_string(index=False, header=False).splitlines()
                cells[col] = [t.strip() for t in text]
            else:
                cells[col] = ["" if v is None else str(v) for v in frame[col]]
    return cells


def _wrap(text: str, width: int) -> list[str]:
    # A word longer than the column is broken, never cut: every character is printed.
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def _longest_word(texts: list[str]) -> int:
    return max((len(w) for t in texts for w in t.split()), default=0)


def _fit(columns: list[str], natural: dict[str, int], least: dict[str, int],
         width: int) -> dict[str, int] | None:
    """Column widths that fit ``width`` (the widest shrunk first), or None if none do."""
    widths = {c: natural[c] for c in columns}
    room = width - 2 * (len(columns) - 1)
    while sum(widths.values()) > room:
        shrinkable = [c for c in columns if widths[c] > least[c]]
        if not shrinkable:
            return None
        widest = max(shrinkable, key=lambda c: widths[c])
        widths[widest] -= 1
    return widths


def _table_lines(frame: pd.DataFrame, width: int) -> list[str]:
    """A table in lines of at most ``width`` characters, no cell cut short.

    Long text wraps inside its cell. When the columns would get narrower than
    :data:`MIN_COLUMN` (or narrower than their longest word), the widest columns move, one by
    one, to indented ``name: text`` lines under each row.
    """
    columns = [str(c) for c in frame.columns]
    cells = dict(zip(columns, _cells(frame).values(), strict=True))
    numeric = {c for c, col in zip(columns, frame.columns, strict=True)
               if pd.api.types.is_numeric_dtype(frame[col])}
    natural = {c: max([len(c)] + [len(t) for t in cells[c]]) for c in columns}
    least = {c: min(natural[c], max(len(c), _longest_word(cells[c]))) for c in columns}
    inline, below = list(columns), []
    while True:
        widths = _fit(inline, natural, least, width)
        cramped = widths is not None and any(
            widths[c] < min(natural[c], MIN_COLUMN) for c in inline)
        if len(inline) == 1 or (widths is not None and not cramped):
            break
        moved = max(inline[1:], key=lambda c: natural[c])
        inline.remove(moved)
        below.insert(0, moved)
        below.sort(key=columns.index)
    if widths is None:  # one column wider than the terminal: its long words are broken
        widths = {inline[0]: max(1, width)}

    def line(parts: list[str]) -> str:
        return "  ".join(t.rjust(widths[c]) if c in numeric else t.ljust(widths[c])
                         for c, t in zip(inline, parts, strict=True)).rstrip()

    out = [line(list(parts)) for parts in zip_longest(
        *(_wrap(c, widths[c]) for c in inline), fillvalue="")]
    for i in range(len(frame)):
        wrapped = [_wrap(cells[c][i], widths[c]) for c in inline]
        out += [line(list(parts)) for parts in zip_longest(*wrapped, fillvalue="")]
        for c in below:
            out += textwrap.wrap(f"{c}: {cells[c][i]}", max(1, width), break_on_hyphens=False,
                                 initial_indent=BELOW_INDENT,
                                 subsequent_indent=BELOW_INDENT * 2) or [BELOW_INDENT + c + ":"]
    return out


def _emit(frame: pd.DataFrame, fmt: str, stream=None) -> None:
    """Write a table as JSON records, CSV, or text that fits the terminal.

    The text table is pandas' own when it fits and no cell is cut; otherwise long cells wrap
    (see :func:`_table_lines`).
    """
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(_to_json(frame.to_dict(orient="records")) + "\n")
    elif fmt == "csv":
        frame.to_csv(stream, index=False)
    else:
        width = _width()
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", None, "display.max_colwidth", None):
            text = frame.to_string(index=False) if len(frame) else ""
        lines = text.splitlines()
        if not lines or max(map(len, lines)) > width:
            lines = _table_lines(frame, width)
        stream.write("\n".join(lines) + "\n")


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


def _from_registry(name: str) -> list[Analysis]:
    """The analyses a registry id names: a trial's (all of them) or one analysis; any case.

    Raises
    ------
    InputError
        If ``name`` is neither, with the nearest ids or the command that lists them.
    """
    from . import registry

    if name.strip().lower() in registry.trials():
        return registry.analyses(name)
    try:
        return [registry.get(name)]
    except InputError as exc:
        # On the command line a trial id is as good as an analysis id: say both are unknown.
        raise InputError(f"unknown trial or analysis id {name!r}", advice=exc.advice) from None


def _verdicts(given: list[str] | None) -> set[str] | None:
    """The verdicts ``--verdict`` keeps (repeated or comma-separated), or None for all.

    ``not-testable`` and ``not_testable`` are read as ``not testable``, which a shell would
    otherwise need quoted.
    """
    from .summary import CONSISTENT, INCONSISTENT, QUESTIONABLE, UNTESTABLE

    if not given:
        return None
    known = (CONSISTENT, QUESTIONABLE, INCONSISTENT, UNTESTABLE)
    wanted = {" ".join(v.replace("-", " ").replace("_", " ").lower().split())
              for item in given for v in item.split(",") if v.strip()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InputError(f"--verdict {', '.join(map(repr, unknown))}: no such verdict",
                         advice="choose from: " + ", ".join(known))
    return wanted


def _cmd_check(args: argparse.Namespace) -> int:
    from . import registry, summary

    if args.analysis and not any(is_trial_file(n) for n in args.trials):
        raise InputError("--analysis picks an analysis from a trial file; none was given",
                         advice="give registry analysis ids directly")
    keep = _verdicts(args.verdict)  # refused before any work, like every other bad option
    if args.trials:
        chosen = []
        for name in args.trials:
            chosen += (_from_file(name, args.analysis) if is_trial_file(name)
                       else _from_registry(name))
    else:
        chosen = registry.analyses()
    table = summary.check_table(chosen)
    if keep is not None:
        table = table[table.verdict.isin(keep)].reset_index(drop=True)
    from .formatting import derived

    shown = table.assign(derived=[derived(r) for r in table.itertuples()])
    if args.format == "table":  # for people: the derived figure as text
        shown = shown[["analysis_id", "check", "reported", "derived", "verdict", "reason"]]
    _emit(shown, args.format)
    return 0


def _cmd_trials(args: argparse.Namespace) -> int:
    from . import registry

    rows = [{"trial": t.trial, "name": t.name, "analyses": registry.analysis_ids(t.trial)}
            for t in registry.trials().values()]
    if args.format == "json":
        sys.stdout.write(_to_json(rows) + "\n")
        return 0
    width = _width()
    lines = []
    for row in rows:
        lines += textwrap.wrap(f"{row['trial']}  {row['name']}", max(1, width),
                               subsequent_indent=BELOW_INDENT * 2)
        lines += [f"  {analysis_id}" for analysis_id in row["analyses"]]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


#: The output name that means standard output.
STDOUT = "-"


def _same_file(a: str | Path, b: Path) -> bool:
    """Whether two names are one file: the same path once resolved (whether or not it exists
    yet: ``o.csv`` and ``./o.csv``), or one existing file under two names (a link)."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return Path(a).exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):
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
    _write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False), inputs)


def _write_atomic(path: str, write: Callable[[Path], object],
                  inputs: Sequence[str | None] = ()) -> None:
    """Run ``write`` on a temporary file beside ``path`` and rename it into place (see
    :func:`_write_csv`)."""
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
        write(tmp)
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
    from .reconstruct import reconstruct, reconstruct_arms

    if Path(args.curve).is_dir():
        return _reconstruct_folder(args)
    curve = read_curve(args.curve, scale=args.scale)
    table = read_at_risk(args.at_risk) if args.at_risk else None
    marks = None
    if args.censor_marks:
        marks = pd.DataFrame({"time": read_censor_marks(args.censor_marks)})
        marks.attrs["source"] = args.censor_marks
    if args.other_arm:
        if table is None or args.n_patients is not None:
            raise InputError("--other-arm needs this arm's numbers at risk", column="--at-risk",
                             advice="give --at-risk RISK.csv (not --n-patients) with --other-arm")
        names = [args.curve] + [c for c, _ in args.other_arm]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise InputError("given as the curve of two arms", file=twice, column="--other-arm",
                             advice="give each arm's curve once")
        # The figure's arms together: one calendar and one reading (reconstruct_arms).
        arms = {args.curve: (curve, table)}
        for other_curve, other_risk in args.other_arm:
            arms[other_curve] = (read_curve(other_curve, scale=args.scale),
                                 read_at_risk(other_risk))
        result = reconstruct_arms({k: c for k, (c, _) in arms.items()},
                                  {k: t for k, (_, t) in arms.items()}, method=args.method,
                                  censor_marks={args.curve: marks}, scale=args.scale,
                                  total_events={args.curve: args.total_events},
                                  convention=args.convention)[args.curve]
    else:
        result = reconstruct(curve, table, method=args.method, n_patients=args.n_patients,
                             total_events=args.total_events, censor_marks=marks,
                             convention=args.convention)
    for fix in result.fixes:
        print(f"note: {fix}", file=sys.stderr)
    others = tuple(f for pair in args.other_arm or () for f in pair)
    _write_csv(result.ipd, args.output,
               inputs=(args.curve, args.at_risk, args.censor_marks, *others))
    ipd = result.ipd
    info = sys.stderr if args.output == STDOUT else sys.stdout  # keep the CSV on stdout clean
    print(f"{len(ipd)} patients, {int(ipd.event.sum())} events -> {args.output} "
          f"(method {result.method}{', exact steps' if result.exact_steps else ''}"
          f"{f', read as {result.reading}' if result.reading and not result.exact_steps else ''})",
          file=info)
    print(f"largest |digitised - reconstructed KM| = {result.max_abs_error:.4f}", file=info)
    _emit(result.intervals, "table", info)
    return 0


def _reconstruct_folder(args: argparse.Namespace) -> int:
    """``trialrecon reconstruct DIR``: every arm of a folder that ``trialrecon digitise``
    wrote, together (one calendar, one reading), into one CSV with an ``arm`` column."""
    from .digitise import file_stems, load
    from .reconstruct import reconstruct_arms

    given = [flag for flag, value in (("--at-risk", args.at_risk),
                                      ("--n-patients", args.n_patients),
                                      ("--censor-marks", args.censor_marks),
                                      ("--other-arm", args.other_arm),
                                      ("--total-events", args.total_events))
             if value is not None]
    if given or args.scale != "proportion":
        raise InputError(f"{', '.join(given) or '--scale'} does not go with a digitised "
                         "folder: the folder holds every arm's curve, table and marks",
                         file=args.curve, column=(given or ["--scale"])[0],
                         advice="leave it out, or edit the folder's CSVs")
    read = load(args.curve)
    for warning in read.warnings:
        print(f"note: the figure was read with a warning: {warning}", file=sys.stderr)
    parts = {arm: read.arm(arm) for arm in read.arms}  # curve, numbers at risk, marks
    missing = [arm for arm, (_, table, _) in parts.items() if table.empty]
    if missing:
        raise InputError(f"no numbers at risk were read for {', '.join(missing)}",
                         file=Path(args.curve) / f"{file_stems(read)[missing[0]]}_at_risk.csv",
                         column="n_at_risk",
                         advice="type the figure's at-risk table into the arm's "
                         "_at_risk.csv (time,n_at_risk)")
    results = reconstruct_arms({arm: p[0] for arm, p in parts.items()},
                               {arm: p[1] for arm, p in parts.items()}, method=args.method,
                               censor_marks={arm: p[2] for arm, p in parts.items()},
                               convention=args.convention)
    ipd = pd.concat([r.ipd.assign(arm=arm) for arm, r in results.items()], ignore_index=True)
    ipd = ipd[["arm"] + [c for c in ipd.columns if c != "arm"]]
    _write_csv(ipd, args.output, inputs=(args.curve,))
    info = sys.stderr if args.output == STDOUT else sys.stdout
    for arm, r in results.items():
        for fix in r.fixes:
            print(f"note: {arm}: {fix}", file=sys.stderr)
        print(f"{arm}: {len(r.ipd)} patients, {int(r.ipd.event.sum())} events (method "
              f"{r.method}); largest |digitised - reconstructed KM| = {r.max_abs_error:.4f}",
              file=info)
    print(f"-> {args.output} (column arm: {', '.join(read.arms)})", file=info)
    return 0


def _cmd_digitise(args: argparse.Namespace) -> int:
    from .digitise import ABOUT, about, digitise, file_stems

    read = digitise(args.figure, page=args.page)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=out,
                         advice="give a folder for the digitised files (-o DIR)")
    names = file_stems(read)
    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot be made ({exc.strerror or exc})", file=out,
                         advice="check that its parent folder exists and is writable") from None
    for arm, stem in names.items():
        curve, at_risk, marks = read.arm(arm)
        _write_csv(curve, str(out / f"{stem}_curve.csv"), inputs=(args.figure,))
        _write_csv(at_risk, str(out / f"{stem}_at_risk.csv"), inputs=(args.figure,))
        _write_csv(marks, str(out / f"{stem}_censor_marks.csv"), inputs=(args.figure,))
    _write_atomic(str(out / ABOUT),
                  lambda tmp: tmp.write_text(json.dumps(about(read), indent=1,
                                                        ensure_ascii=False) + "\n",
                                             encoding="utf-8"), (args.figure,))
    from .digitise.overlay import write_overlay

    _write_atomic(str(out / "overlay.png"),
                  lambda tmp: write_overlay(read, Path(args.figure), args.page, tmp),
                  (args.figure,))
    for warning in read.warnings:
        print(f"note: {warning}", file=sys.stderr)
    for arm in read.arms:
        curve, at_risk, marks = read.arm(arm)
        print(f"{arm}: {len(curve)} curve points, {len(at_risk)} numbers at risk, "
              f"{len(marks)} censoring marks -> {out / names[arm]}_*.csv")
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
    try:
        result = compare_arms(*arms, landmarks=args.landmarks, tau=args.tau, names=names)
    except InputError as exc:
        # An arm's problem belongs to the file that holds the arm.
        owner = [f for f, part in zip(files, parts, strict=True)
                 if any(exc.row == f"arm {name}" for name in part)]
        if exc.file is not None or not owner:
            raise
        raise exc.located(owner[0]) from None
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
    from . import registry
    from .registry import TIME_TO_EVENT

    if not is_trial_file(name):
        if wanted is not None:
            raise InputError("--analysis picks an analysis from a trial file",
                             advice=f"{name!r} is a registry id: give the analysis id itself")
        # Checked (and spelt as the registry does) before any work is done.
        return registry.get(name).id
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

    if args.seed is not None and not args.band:
        raise InputError("--seed seeds the draws of the band; without --band it would change "
                         "nothing", advice="add --band BAND.csv, or leave --seed out")
    if args.band and (args.band == args.output or _same_file(args.band, Path(args.output))):
        raise InputError("--band and -o name the same output", file=args.band,
                         advice="give the band its own file")
    info = sys.stderr if STDOUT in (args.output, args.band) else sys.stdout
    try:
        fit = fit_summary(target, seed=args.seed or 0)
    except InputError as exc:
        if exc.file is not None or not is_trial_file(args.analysis):
            raise
        raise exc.located(args.analysis) from None
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
    for col in ("within", "calibrated"):
        shown[col] = shown[col].map({True: "yes", False: "no"}).fillna("")
    _emit(shown, "table", info)
    for miss in fit.misses:
        print(f"finding: {miss}", file=info)
    for warning in fit.warnings:
        print(f"WARNING: {warning}", file=info)
    return 0


def _models(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise InputError(f"--models {text!r} names no model",
                         advice="give model names separated by commas, e.g. weibull,lognormal, "
                         "or leave --models out for all")
    return names


def _seed(text: str) -> int:
    """A seed for numpy's generator: a whole number from 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0")
    return value


def _cmd_extrapolate(args: argparse.Namespace) -> int:
    from .curves import read_ipd_arms
    from .extrapolation import extrapolate

    arms = read_ipd_arms(args.ipd)
    ipd = pd.concat([frame.assign(arm=name) for name, frame in arms.items()],
                    ignore_index=True)
    try:
        result = extrapolate(ipd, horizon=args.horizon, models=_models(args.models),
                             time_unit=args.time_unit)
    except InputError as exc:
        if exc.file is not None or exc.column not in ("time", "event", "arm"):
            raise
        raise exc.located(args.ipd) from None
    table = result.table.merge(
        result.landmarks.pivot_table(index=["arm", "model"], columns="time",
                                     values="survival", sort=False)
        .rename(columns=lambda t: f"survival_{t:g}").reset_index(),
        on=["arm", "model"], how="left")
    if args.output:
        _write_csv(table, args.output, inputs=(args.ipd,))
    info = sys.stderr if args.output == STDOUT or args.format != "table" else sys.stdout
    if args.format == "table":
        print(f"derived from patient data ({args.ipd}); restricted mean to "
              f"{result.horizon:g} {result.time_unit}, 95% CI by the delta method (log scale)",
              file=info)
        shown = pd.DataFrame({
            "arm": table.arm, "model": table.model, "k": table.n_params,
            "loglik": [f"{x:.2f}" if x == x else "failed" for x in table.loglik],
            "AIC": [f"{x:.2f}" if x == x else "" for x in table.aic],
            "rank": ["" if pd.isna(x) else str(int(x)) for x in table.aic_rank],
            "BIC rank": ["" if pd.isna(x) else str(int(x)) for x in table.bic_rank],
            "RMST (95% CI)": [
                "not estimable" if m != m else f"{m:.2f}" if lo != lo
                else f"{m:.2f} ({lo:.2f} to {hi:.2f})"
                for m, lo, hi in zip(table.rmst, table.rmst_lower, table.rmst_upper,
                                     strict=True)]})
        _emit(shown, "table", info)
    elif args.output != STDOUT:
        _emit(table, args.format)
    print(f"\n{result.statement()}", file=info)
    for warning in result.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    if args.xlsx:
        _write_model_workbook(args, result, info)
    return 0


def _write_model_workbook(args: argparse.Namespace, result: Extrapolation, info: TextIO
                          ) -> None:
    from .extrapolation.background import Population, life_table, read_life_table
    from .extrapolation.workbook import arm_fits, write_workbook

    population = None
    if args.age is not None:
        table = (read_life_table(args.life_table) if args.life_table
                 else life_table())
        population = Population(table, args.age, args.male_share, args.time_unit)
    path = write_workbook(args.xlsx, arm_fits(result), cycle=args.cycle,
                          horizon=args.horizon,
                          time_unit=args.time_unit, population=population,
                          joint=result.joint,
                          source=f"patient data in {args.ipd}")
    print(f"workbook for a cost-effectiveness model (flexsurv parameterisation): {path}",
          file=info)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    return build_report(trials=args.trial, jobs=args.jobs)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "trials": _cmd_trials, "check": _cmd_check, "reconstruct": _cmd_reconstruct,
    "digitise": _cmd_digitise,
    "compare": _cmd_compare, "simulate": _cmd_simulate, "extrapolate": _cmd_extrapolate,
    "report": _cmd_report}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialrecon",
        description="Check, reconstruct and re-analyse the statistics of published trials.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("trials", help="the registry's trials and their analysis ids")
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = sub.add_parser("check", help="consistency checks of reported figures (all derived)")
    p.add_argument("trials", nargs="*", metavar="TRIAL",
                   help="trial ids (e.g. cabinet), analysis ids (any case; list them with "
                   "trialrecon trials) or trial files (.yaml, anywhere on disk; see "
                   "docs/trial-yaml.md); default: the whole registry")
    p.add_argument("--verdict", action="append", metavar="VERDICT",
                   help="only rows with this verdict: consistent, questionable, inconsistent, "
                   "not-testable (repeatable, or comma-separated)")
    p.add_argument("--analysis", metavar="ID", help="in a trial file: only this analysis "
                   "(its id, e.g. mytrial/os/v1, or its version if unique)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    p = sub.add_parser("reconstruct", help="patient data from a digitised KM curve, or from "
                       "every arm of a folder that trialrecon digitise wrote")
    p.add_argument("curve", metavar="CURVE.csv|DIR", help="digitised curve: columns "
                   "time,survival; or a folder from trialrecon digitise -o DIR (every arm, "
                   "with its numbers at risk and marks, written to one file with an arm "
                   "column)")
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
    p.add_argument("--convention", choices=("path", "feet", "tops"),
                   help="how the curve was digitised, if known: along its path, or one click "
                   "at the foot or the top of each drop (default: told from the clicks; "
                   "integer method)")
    p.add_argument("--other-arm", nargs=2, action="append", metavar=("CURVE.csv", "RISK.csv"),
                   help="another arm of the same figure, its curve and numbers at risk "
                   "(repeatable): the arms share one calendar and were digitised the same "
                   "way, so its follow-up and its clicks inform this arm's unclicked tail and "
                   "reading (integer method); only this arm is written")
    p.add_argument("-o", "--output", required=True, metavar="IPD.csv",
                   help="where to write the patient data (- for standard output)")

    p = sub.add_parser("digitise", help="read a Kaplan-Meier figure: curves, marks and "
                       "numbers at risk (vector PDF, SVG, PNG or JPEG)")
    p.add_argument("figure", metavar="FIGURE", help="the figure: a vector PDF or an SVG (read "
                   "exactly), or an image: PNG, JPEG or a scanned PDF page (its words read by "
                   "Tesseract)")
    p.add_argument("--page", type=int, help="the page that holds it (default: the first)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for <arm>_curve.csv, <arm>_at_risk.csv, "
                   "<arm>_censor_marks.csv (as trialrecon reconstruct reads them), "
                   "digitised.json and overlay.png (what was read, drawn over the figure)")

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
    p.add_argument("--seed", type=_seed, default=None,
                   help="with --band: seeds the band's draws (default 0); the pseudo data "
                   "themselves are deterministic")
    p.add_argument("--band", metavar="BAND.csv",
                   help="also write the 90%% band of curves the print allows (arm, time, "
                   "lower, estimate, upper)")
    p.add_argument("-o", "--output", required=True, metavar="IPD.csv")

    p = sub.add_parser("extrapolate", help="fit the NICE TSD 14 survival models to patient "
                       "data and extrapolate (all derived)")
    p.add_argument("ipd", metavar="IPD.csv", help="patient data: time, event and optionally arm "
                   "(as simulate and reconstruct write them)")
    p.add_argument("--horizon", type=float, required=True,
                   help="end of the restricted mean, in the data's time unit")
    p.add_argument("--models", metavar="A,B,...", help="models to fit (default all: "
                   "exponential, weibull, gompertz, loglogistic, lognormal, gengamma, gamma, "
                   "spline-hazard-1..3, spline-odds-1..3)")
    p.add_argument("--time-unit", choices=("days", "weeks", "months", "years"),
                   default="months", help="the data's time unit (sets the 1, 2, 5, 10-year "
                   "landmarks; default months)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("-o", "--output", metavar="TABLE.csv",
                   help="also write the whole table (with landmark survival) as CSV")
    p.add_argument("--xlsx", metavar="MODEL.xlsx", help="also write a workbook for an Excel "
                   "cost-effectiveness model: survival per cycle of every model per arm, "
                   "parameters with covariance and Cholesky factor (R flexsurv's "
                   "parameterisation), fit statistics, joint models of two arms; one row "
                   "per cycle to --horizon")
    p.add_argument("--cycle", type=float, default=1.0, help="with --xlsx: the model's cycle "
                   "length in the data's time unit (default 1)")
    p.add_argument("--age", type=float, help="with --xlsx: the patients' mean age at the "
                   "start in years; survival per cycle is then capped at general-population "
                   "mortality")
    p.add_argument("--male-share", type=float, default=0.5, metavar="P",
                   help="with --age: the share of men, 0-1 (default 0.5)")
    p.add_argument("--life-table", metavar="TABLE.csv", help="with --age: a life table "
                   "(age, sex, hazard_per_year or qx; default the shipped US 2014 table)")

    p = sub.add_parser("report", help="build the HTML report into reports/")
    p.add_argument("--trial", action="append", metavar="TRIAL",
                   help="only this trial's page(s): a registry id, or the path of your own "
                        "trial file (.yaml), which gets a page file-<id>.html (repeatable; "
                        "default: every registry page)")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel notebooks, 1 or more (default: cores); Ctrl-C stops the run "
                   "(exit 130, SIGTERM 143), a second run on the same folder waits")
    return parser


def _show_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    """Each distinct warning once, one line on standard error, after the command's output."""
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        key = (w.category, text)
        if key in seen:
            continue
        seen.add(key)
        kind = "" if issubclass(w.category, UserWarning) else f"{w.category.__name__}: "
        print(f"trialrecon: warning: {kind}{printable(_clipped(text))}", file=sys.stderr)


def _clipped(text: str) -> str:
    """A message cut to :data:`MESSAGE_LENGTH` characters (it may quote a huge value)."""
    if len(text) <= MESSAGE_LENGTH:
        return text
    return f"{text[:MESSAGE_LENGTH]}... ({len(text):,} characters)"


class _Printable(io.TextIOBase):
    """A text stream that writes what it is given through :func:`formatting.printable`:
    a trial's names and labels can hold escape sequences a terminal would act on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"


def _writes_data(args: argparse.Namespace) -> bool:
    """Whether standard output carries data (CSV or JSON), kept byte for byte."""
    return (getattr(args, "format", "table") != "table"
            or STDOUT in (getattr(args, "output", None), getattr(args, "band", None)))


def main(argv: Sequence[str] | None = None) -> int:
    from .registry import UnquotedFigureWarning

    parser = build_parser()
    args = parser.parse_args(argv)
    caught: list[warnings.WarningMessage] = []
    streams = sys.stdout, sys.stderr
    # The report's progress bar redraws itself with carriage returns, and the report cleans
    # its own lines; everything else shows data through the filter.
    if args.command != "report":
        sys.stderr = _Printable(sys.stderr)
        if not _writes_data(args):
            sys.stdout = _Printable(sys.stdout)
    try:
        # Recorded, not shown, while the command runs; shown after it, outside the recording
        # (showing inside it would record them again, for ever).
        with warnings.catch_warnings(record=True) as caught:
            # The registry's warnings about the input reach the user every time.
            warnings.simplefilter("always", UnquotedFigureWarning)
            try:
                return COMMANDS[args.command](args)
            except InputError as exc:
                print(f"trialrecon: error: {printable(_clipped(str(exc)))}", file=sys.stderr)
                return 2
            except BrokenPipeError:
                # The reader left (``trialrecon check | head``): no traceback, and none at
                # exit when Python flushes the closed pipe again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), streams[0].fileno())
                return 141
            except OSError as exc:
                # Output that cannot be written (a full disk, /dev/full): one line, and
                # nothing more written to the stream that failed.
                where = exc.filename or "standard output"
                os.dup2(os.open(os.devnull, os.O_WRONLY), streams[0].fileno())
                print(f"trialrecon: error: {where}: cannot be written "
                      f"({exc.strerror or exc})", file=sys.stderr)
                return 1
    finally:
        _show_warnings(caught)
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    raise SystemExit(main())
