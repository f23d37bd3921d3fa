"""trialrecon: reconstruct and check the statistics of published clinical trials.

Two roads lead into one analysis layer: the figures a trial printed (:mod:`registry`,
:mod:`summary`, :mod:`simulate`) and the Kaplan-Meier curves it drew (:mod:`curves`,
:mod:`reconstruct`); :mod:`analysis` re-analyses either with lifelines.
"""

from .errors import InputError

__all__ = ["InputError"]
__version__ = "0.1.0"
