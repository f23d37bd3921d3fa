"""trialrecon: reconstruct and check the statistics of published clinical trials.

Two roads lead into one analysis layer: the figures a trial printed (:mod:`registry`,
:mod:`summary`, :mod:`simulate`) and the Kaplan-Meier curves it drew (:mod:`curves`,
:mod:`reconstruct`); :mod:`analysis` re-analyses either with lifelines, and
:mod:`extrapolation` fits and extrapolates the parametric survival models of HTA.
"""

from .errors import InputError

__version__ = "0.1.0"


def __getattr__(name: str):
    # The public functions are imported on first use, so that `import trialrecon` (and the
    # CLI's error path) stays light.
    if name == "reconstruct_ipd":
        from .reconstruct import reconstruct_ipd
        return reconstruct_ipd
    if name == "compare_arms":
        from .analysis import compare_arms
        return compare_arms
    if name == "analysis_from_print":
        from .registry import analysis_from_print
        return analysis_from_print
    if name == "extrapolate":
        from .extrapolation import extrapolate
        return extrapolate
    if name == "ipd_from_summary":
        from .simulate import ipd_from_summary
        return ipd_from_summary
    raise AttributeError(name)


__all__ = ["InputError", "analysis_from_print", "compare_arms", "extrapolate",
           "ipd_from_summary", "reconstruct_ipd"]
