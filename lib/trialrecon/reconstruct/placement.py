"""What a reconstruction method returns: when the events and the censorings of one arm fall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Placement:
    """Event and censoring times of one arm, before they become patient rows.

    Attributes
    ----------
    event_times, censor_times
        One time per patient (the figure's unit); their lengths add up to the arm's size.
    notes
        One sentence per input the method could not honour or per assumption it had to make.
    overfull
        The method placed more patients than randomised (a guard; a correct method never does).
    exact_steps
        The events were read from exact step heights (each drop identified as ``d`` events
        among ``n`` at risk), not estimated from the shape of the curve.
    reading
        How the curve was read, as the method took it (:mod:`trialrecon.reconstruct.reading`:
        ``"exact"`` for exact step corners, ``"path"``, ``"feet"``, ``"tops"``; empty for
        methods that assume one reading).
    tail_assumed
        The end of follow-up assumed because the curve's flat tail was not digitised (None
        when it was, or when nothing said follow-up went on).
    total_said
        A printed total of events that could not be met is already said in ``notes`` (with
        the range the method could reach), so the caller need not say it again.
    """

    event_times: np.ndarray
    censor_times: np.ndarray
    notes: tuple[str, ...] = ()
    overfull: bool = False
    exact_steps: bool = False
    total_said: bool = False
    reading: str = ""
    tail_assumed: float | None = None
