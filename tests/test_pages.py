import warnings

from trialrecon.pages import TrialPage
from trialrecon.simulate import fit_summary

warnings.simplefilter("ignore")


def test_unprinted_figures_for_cabinet_pnet():
    fit = fit_summary("cabinet/pnet/pfs/nejm-2025")
    table = TrialPage("cabinet", "pnet").unprinted(fit).set_index("figure (derived)")
    rmst12 = table.loc["RMST difference up to 12 months"]
    km = float(rmst12["pseudo data (Kaplan-Meier)"].split()[0])
    model = float(rmst12["fitted model"].split()[0])
    # The pseudo data are drawn from the fitted model: their Kaplan-Meier RMST difference
    # must sit near the model's (95 patients: allow 0.5 months, a fraction of its SE ~0.85).
    assert abs(km - model) < 0.5
    assert 0 < model < 12
    # Beyond the pseudo follow-up only the model answers, and says so.
    rmst24 = table.loc["RMST difference up to 24 months"]
    assert rmst24["pseudo data (Kaplan-Meier)"].startswith("not estimable")
    assert float(rmst24["fitted model"].split()[0]) > model
    events = [int(table.loc[f"events, {arm}", "pseudo data (Kaplan-Meier)"])
              for arm in ("cabozantinib", "placebo")]
    assert events == [int(fit.ipd[fit.ipd.arm == arm].event.sum())
                      for arm in ("cabozantinib", "placebo")]
