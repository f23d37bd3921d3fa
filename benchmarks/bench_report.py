"""Wall time of the whole report (every notebook, in parallel on the available cores), as
`make report` runs it without the install step. Target: under 60 s on a 2-core machine.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (builds into a temporary folder).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from trialrecon.report import build_report


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        status = build_report(out_dir=Path(tmp))
        seconds = time.perf_counter() - start
    print(f"report: {seconds:.1f} s on {os.cpu_count()} cores (target < 60 s), exit {status}")
    return 0 if status == 0 and seconds < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
