import math

import pandas as pd
import pytest
from trialrecon.analysis import compare_arms, rmst


def test_rmst_hand_calculation():
    ipd = pd.DataFrame({"time": [1, 2, 2, 3, 4, 5.0], "event": [1, 1, 0, 1, 0, 1]})
    mean, se = rmst(ipd, 4.5)
    # S = 1, 5/6, 4/6, 4/9 on [0,1), [1,2), [2,3), [3,4.5]: area 1 + 5/6 + 2/3 + 1.5*4/9.
    assert mean == pytest.approx(1 + 5 / 6 + 2 / 3 + 1.5 * 4 / 9)
    # A_j = 13/6, 4/3, 2/3; var = A1^2/(6*5) + A2^2/(5*4) + A3^2/(3*2).
    var = (13 / 6) ** 2 / 30 + (4 / 3) ** 2 / 20 + (2 / 3) ** 2 / 6
    assert se == pytest.approx(math.sqrt(var))


def test_compare_identical_arms_gives_null_effects():
    ipd = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6, 7, 8.0], "event": [1, 0, 1, 1, 0, 1, 1, 0]})
    c = compare_arms(ipd, ipd.copy(), landmarks=(3.0,))
    assert c.value("hazard ratio") == pytest.approx(1.0, abs=1e-6)
    assert c.value("RMST difference") == pytest.approx(0.0, abs=1e-12)
    assert c.value("log-rank", "p") == pytest.approx(1.0, abs=1e-6)
    assert list(c.arms.arm) == ["experimental", "control"]
    # KM at 3: (1 - 1/8)(1 - 1/6) = 0.72917
    assert c.landmarks.survival.iloc[0] == pytest.approx(7 / 8 * 5 / 6)
