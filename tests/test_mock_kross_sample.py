"""The KROSS targets of the mock: the truth-only draw, and the paper preset's calibration to
what Magdis et al. (2016) state about their sample (counts and distributions of the truth,
with tolerances from the sampling noise of 487 galaxies)."""
import numpy as np
import pytest
from astropy.table import Table

from redshift1.mock.kross import (KROSS_PAPER_SAMPLE, KROSS_PRESETS, KROSSSample, draw_kross_galaxies,
                                  draw_kross_truth, observe_kross)
from redshift1.mock.population import Relations
from redshift1.mock.rng import stream
from redshift1.science.mainsequence import MS_PRESCRIPTIONS

SEED = 20161


@pytest.fixture(scope="module")
def paper():
    return draw_kross_truth("paper", SEED)


def binomial_tol(p, n, k=3.0):
    return k * np.sqrt(p * (1 - p) / n)


def test_truth_draw_is_what_observe_writes(tmp_path):
    """draw_kross_truth gives the same galaxies as the truth observe_kross writes (tiny preset)."""
    observe_kross(tmp_path / "kmos", "tiny", 7, Relations(), tmp_path / "truth")
    written = Table.read(tmp_path / "truth" / "kmos_galaxies.ecsv")
    drawn = draw_kross_truth("tiny", 7)
    assert list(drawn["id"]) == list(written["id"])
    for col in ("z", "logmstar", "sfr", "r_half_kpc", "re_star_kpc", "oh12", "flux_halpha", "psf_fwhm"):
        np.testing.assert_allclose(np.asarray(drawn[col]), np.asarray(written[col]), rtol=1e-8)
    assert written.meta["relations"] == drawn.meta["relations"]


def test_sample_replaces_only_its_relations():
    """The paper sample's relation replacements reach the KROSS truth; the other fields keep the
    caller's values; the quick preset injects the caller's relations untouched."""
    rel = Relations(tf_zero=2.3)
    paper = draw_kross_truth("paper", 1, rel).meta["relations"]
    for name, value in KROSS_PAPER_SAMPLE.relations:
        assert paper[name] == value
    assert paper["tf_zero"] == 2.3
    assert draw_kross_truth("quick", 1, rel).meta["relations"] == rel.as_dict()
    assert KROSS_PRESETS["quick"].sample == KROSSSample()


def test_paper_redshifts(paper):
    """M16 §2: median z 0.86, 96% within 0.8 < z < 1.0; Hα inside YJ (z < 1.05)."""
    z = np.asarray(paper["z"])
    assert len(z) == 487
    assert np.median(z) == pytest.approx(0.86, abs=0.01)
    inside = np.mean((z > 0.8) & (z < 1.0))
    assert inside == pytest.approx(0.96, abs=binomial_tol(0.96, len(z)))
    assert z.max() < 1.05


def test_paper_sizes_of_extended_galaxies(paper):
    """M16 §3.2: r′½ median 5.1 kpc, mean 5.4, largest 22.3: the Hα discs (not the nuclear ones)
    have a median within 0.6 kpc of 5.1 (the paper's resolved galaxies include some
    noise-resolved nuclear ones), mean/median near the paper's 1.06, largest above 15 kpc."""
    r = np.asarray(paper["r_half_kpc"])
    disc = r > 1.0
    med = np.median(r[disc])
    assert med == pytest.approx(5.1, abs=0.6)
    assert np.mean(r[disc]) / med == pytest.approx(5.4 / 5.1, abs=0.05)
    assert r.max() > 15.0


def test_paper_weak_halpha_population(paper):
    """M16 §2/Table 2: 113 of 487 (63 unresolved + 50 undetected) are weak-Hα galaxies ~1 dex
    below the MS and more massive. The mock's nuclear (compact) galaxies number 113 within
    ~3 Poisson σ, sit below the sequence on average and are more massive than the rest."""
    r = np.asarray(paper["r_half_kpc"])
    compact = r < 1.0
    n = compact.sum()
    assert abs(n - 113) < 3 * np.sqrt(113) + 5
    ld = np.asarray(paper["log_delta_ssfr"])
    logm = np.asarray(paper["logmstar"])
    assert np.median(ld[compact]) < -0.3
    assert np.median(logm[compact]) > np.median(logm[~compact]) + 0.15
    # their starlight is a bulge, not the nuclear Hα: r½(Hα)/r_e,★ well below 1
    ratio = np.asarray(paper["r_half_kpc"]) / np.asarray(paper["re_star_kpc"])
    assert np.median(ratio[compact]) < 0.5
    assert np.median(ratio[~compact]) == pytest.approx(1.28, rel=0.05)


def test_paper_sfr(paper):
    """M16 §3.1: median SFR(Hα) ≈ 7 M☉/yr over the Hα-detected (the disc galaxies here), on the
    Speagle MS at z = 0.86 (Fig. 2)."""
    sfr = np.asarray(paper["sfr"])
    disc = np.asarray(paper["r_half_kpc"]) > 1.0
    assert np.median(sfr[disc]) == pytest.approx(7.0, rel=0.2)
    ms = MS_PRESCRIPTIONS["speagle14"]
    offset = np.log10(sfr) - ms(np.asarray(paper["logmstar"]), np.asarray(paper["z"]))
    assert np.median(offset[disc]) == pytest.approx(0.0, abs=0.1)


def test_default_sample_draw_is_unchanged_by_the_new_options():
    """With every new option off, the extra draws are not made: the quick preset's galaxies do not
    depend on the paper-only parameters' values."""
    rel = Relations()
    a = draw_kross_galaxies(50, "COSMOS", stream(3, "t"), rel, KROSSSample())
    b = draw_kross_galaxies(50, "COSMOS", stream(3, "t"), rel, KROSSSample(starburst_offset=9.0,
                                                                            extended_size_factor=9.0,
                                                                            compact_sersic_shift=9.0))
    for col in a.colnames:
        if a[col].dtype.kind == "f":
            np.testing.assert_array_equal(np.asarray(a[col]), np.asarray(b[col]))


def test_paper_starbursts_are_smaller_than_ms_galaxies(paper):
    """M16 §4.2: starbursts (Δ > 2) have a mean r′½ of 4.2 ± 0.5 kpc against 5.2 ± 0.3 for the MS:
    the discs above the MS ridge shrink (size_above_ms_slope), those below it do not."""
    r = np.asarray(paper["r_half_kpc"])
    ld = np.asarray(paper["log_delta_ssfr"])
    disc = r > 1.0
    sb, ms = disc & (ld > np.log10(2)), disc & (np.abs(ld) <= 0.3)
    ratio = np.mean(r[sb]) / np.mean(r[ms])
    # the ratio's sampling error: the size scatter (~0.15 dex, ~35%) over √n of the starbursts
    tol = 3 * 0.35 * np.sqrt(1 / sb.sum() + 1 / ms.sum())
    assert ratio == pytest.approx(4.2 / 5.2, abs=tol)
    below = disc & (ld < -0.1) & (ld > -0.5)
    near = disc & (np.abs(ld) < 0.1)
    # no trend below the ridge: the two means agree within their sampling noise
    tol = 3 * 0.35 * np.mean(r[near]) * np.sqrt(1 / below.sum() + 1 / near.sum())
    assert abs(np.mean(r[below]) - np.mean(r[near])) < tol


def test_compaction_option_off_leaves_the_draw_unchanged():
    """size_above_ms_slope = 0 (the default) does not touch the sizes; a slope shrinks exactly the
    galaxies above the ridge by Δ^slope."""
    rel = Relations()
    a = draw_kross_galaxies(200, "COSMOS", stream(4, "t"), rel, KROSSSample())
    b = draw_kross_galaxies(200, "COSMOS", stream(4, "t"), rel, KROSSSample(size_above_ms_slope=-0.3))
    ld = np.asarray(a["log_delta_ssfr"])
    ratio = np.asarray(b["r_half_kpc"]) / np.asarray(a["r_half_kpc"])
    np.testing.assert_allclose(ratio, 10 ** (-0.3 * np.clip(ld, 0, None)), rtol=1e-12)
