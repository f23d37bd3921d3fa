import math

import numpy as np
import pandas as pd
import pytest
from trialrecon import InputError
from trialrecon.extrapolation.background import (
    Population,
    capped,
    life_table,
    read_life_table,
)


def test_the_shipped_table_is_the_us_2014_life_table():
    table = life_table("us-2014")
    assert table.ages[0] == 0 and table.ages[-1] == 109
    # NCHS 2014: infant mortality about 6 per 1000 boys, 5 per 1000 girls; men die sooner
    # than women at every adult age; the hazard rises with age after childhood.
    assert table.male[0] == pytest.approx(0.0063, abs=5e-4)
    assert table.female[0] == pytest.approx(0.0053, abs=5e-4)
    assert np.all(table.male[20:100] > table.female[20:100])
    assert np.all(np.diff(table.male[30:105]) > 0)


def test_population_survival_is_the_life_table_integrated_by_hand():
    table = life_table()
    pop = Population(table, age=60.5, male_share=1.0, time_unit="years")
    # from 60.5 to 62: half a year at the age-60 rate, a year at 61's, then none
    by_hand = 0.5 * table.male[60] + table.male[61]
    assert pop.cumulative_hazard(np.array([1.5]))[0] == pytest.approx(by_hand, rel=1e-12)
    months = Population(table, age=60.5, male_share=1.0, time_unit="months")
    assert months.survival(np.array([18.0])) == pytest.approx(pop.survival(np.array([1.5])))


def test_a_mixed_cohort_is_its_two_parts_followed_apart():
    table = life_table()
    t = np.array([0.0, 5.0, 20.0])
    men = Population(table, 65, 1.0, "years").survival(t)
    women = Population(table, 65, 0.0, "years").survival(t)
    mixed = Population(table, 65, 0.3, "years").survival(t)
    assert mixed == pytest.approx(0.3 * men + 0.7 * women)


def test_a_capped_curve_falls_at_least_as_fast_as_the_population():
    table = life_table()
    pop = Population(table, age=70, male_share=0.5, time_unit="months")
    t = np.linspace(0, 480, 481)
    # a cure-like plateau: survival levelling off at 0.3 never falls with the population
    plateau = 0.3 + 0.7 * np.exp(-t / 12)
    out = capped(plateau, t, pop)
    assert np.all(out <= plateau + 1e-15)
    model_h = np.diff(-np.log(plateau))
    out_h = np.diff(-np.log(out))
    pop_h = np.diff(pop.cumulative_hazard(t))
    assert out_h == pytest.approx(np.maximum(model_h, pop_h))
    # early on the disease kills faster than old age: nothing changes there
    assert out[:6] == pytest.approx(plateau[:6])
    # at the end the plateau has been worn down by the population's mortality alone
    assert out[-1] < 0.3 * pop.survival(t)[-1] / pop.survival(t)[240] + 1e-9


def test_a_life_table_of_probabilities_is_read_as_hazards(tmp_path):
    path = tmp_path / "table.csv"
    ages = np.arange(0, 101)
    qx = np.minimum(0.0005 * np.exp(0.09 * ages), 1.0)
    pd.concat([pd.DataFrame({"age": ages, "sex": s, "qx": qx}) for s in ("male", "female")]
              ).to_csv(path, index=False)
    table = read_life_table(path)
    assert table.male == pytest.approx(-np.log1p(-np.minimum(qx, 1 - 1e-12)))
    pop = Population(table, 50, 1.0, "years")
    assert pop.survival(np.array([1.0]))[0] == pytest.approx(1 - qx[50])


@pytest.mark.parametrize(("change", "where"), [
    (lambda f: f.drop(columns="sex"), "column 'sex'"),
    (lambda f: f.assign(qx=f.qx.where(f.index != 3, 1.5)), "row 5, column 'qx'"),
    (lambda f: f.assign(sex=f.sex.where(f.index != 0, "man")), "row 2, column 'sex'"),
    (lambda f: f[f.age != 7], "column 'age'"),
])
def test_a_bad_life_table_is_refused_naming_where(tmp_path, change, where):
    path = tmp_path / "table.csv"
    frame = pd.concat([pd.DataFrame({"age": range(20), "sex": s, "qx": 0.01})
                       for s in ("male", "female")], ignore_index=True)
    change(frame).to_csv(path, index=False)
    with pytest.raises(InputError, match=where) as err:
        read_life_table(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_impossible_population_is_refused():
    with pytest.raises(InputError, match="share of men"):
        Population(life_table(), 60, 1.5)
    with pytest.raises(InputError, match="no life table 'uk'"):
        life_table("uk")
    assert math.isfinite(Population(life_table(), 109.5, 0.5).survival(np.array([60.0]))[0])


def test_a_curve_that_reaches_zero_stays_there():
    pop = Population(life_table(), age=60, male_share=0.5, time_unit="months")
    t = np.linspace(0, 24, 25)
    s = np.where(t < 10, 1 - t / 10, 0.0)
    out = capped(s, t, pop)
    assert np.all(np.isfinite(out)) and np.all(out[10:] == 0)
