"""Project paths, resolved from the package location, never from the working directory.

Notebooks run from JupyterLab, papermill and nbval with different working directories;
resolving from here keeps them all reading the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the repository (``lib/trialrecon/paths.py`` is two levels below it).
ROOT: Path = Path(os.environ.get("TRIALRECON_ROOT", Path(__file__).resolve().parents[2]))
DATA: Path = ROOT / "data"
#: The registry's trial files; ``TRIALRECON_TRIALS`` points it at another folder of YAML files
#: (tests build pages from planted trials there without touching ``data/trials``). Read from the
#: environment so that the notebook kernels papermill starts see the same folder.
TRIALS: Path = Path(os.environ.get("TRIALRECON_TRIALS") or DATA / "trials").expanduser()
NOTEBOOKS: Path = ROOT / "notebooks"
REPORTS: Path = ROOT / "reports"

#: Digitised reference curves kept outside the repository (see its README); may be absent.
VALIDATION: Path = ROOT.parent / "shared" / "validation"

#: Suffixes that make a name a trial file rather than a registry id.
YAML_SUFFIXES = (".yaml", ".yml")


def is_trial_file(name: str | Path) -> bool:
    """A trial file (``.yaml``/``.yml``, or any existing file) rather than a registry id."""
    path = Path(name)
    return path.suffix.lower() in YAML_SUFFIXES or path.is_file()
