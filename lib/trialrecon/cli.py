"""Command-line interface: ``trialrecon check | reconstruct | compare | simulate | report``.

Errors a user can cause are printed in one line and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import pandas as pd

from .errors import InputError


def _emit(frame: pd.DataFrame, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", indent=1) + "\n")
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.max_colwidth", 60):
            sys.stdout.write(frame.to_string(index=False) + "\n")


def _cmd_check(args: argparse.Namespace) -> int:
    from . import registry, summary

    if args.trials:
        chosen = []
        for name in args.trials:
            if name in registry.trials():
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"check": _cmd_check}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialrecon",
        description="Check, reconstruct and re-analyse the statistics of published trials.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="consistency checks of reported figures (all derived)")
    p.add_argument("trials", nargs="*", metavar="TRIAL",
                   help="trial ids (e.g. cabinet) or analysis ids; default: all")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"trialrecon: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
