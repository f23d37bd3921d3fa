import numpy as np
import pandas as pd
import pytest
from trialrecon import validation
from trialrecon.analysis import cox_hr, fit_km


def _arm(seed: int, scale: float, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t, c = rng.weibull(1.2, n) * scale, rng.uniform(2, 30, n)
    return pd.DataFrame({"time": np.round(np.minimum(t, c), 1), "event": (t <= c).astype(int)})


def test_km_gap_and_hr_match_lifelines():
    # The accuracy study uses the fast kernels; they must give lifelines' figures (ties
    # included: times are rounded to 0.1).
    a, b = _arm(1, 10.0), _arm(2, 14.0)
    grid = np.linspace(0, min(a.time.max(), b.time.max()), 2000)
    expected = np.max(np.abs(fit_km(a).survival_function_at_times(grid).to_numpy()
                             - fit_km(b).survival_function_at_times(grid).to_numpy()))
    assert validation.km_gap(a, b) == pytest.approx(expected, abs=1e-12)
    assert validation._hr(a, b) == pytest.approx(cox_hr(a, b).hr, rel=1e-6)
    assert validation.km_gap(a, a) == 0.0
