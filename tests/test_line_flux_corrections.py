"""Line-flux corrections for lines that are not a typical [OII] doublet, and the photo-z windows'
union in P([OII]) (issue 12, items 5 and 7), on hand-built tables (not the mock's output).

* Extended galaxies: a line whose spatial profile is much wider than its mask's bright lines loses
  more light in the slit and the 5-row box than the mask's correction restores.
* Single lines: a secure multi-line redshift that names a line other than [OII] gives it the
  aperture correction of single lines, measured on the bright identified single lines.
* A line of a galaxy whose photo-z PDF lies beyond every line window is likely noise.
"""
import numpy as np
import pytest
from astropy.table import Table

from redshift1.ldss3.flux_corrections import extended_profile, singlet_aperture_correction
from redshift1.ldss3.fluxes import slit_transmission
from redshift1.ldss3.line_params import DetectParams
from redshift1.ldss3.reliability import LINES
from redshift1.science.poii_calibration import calibrate_p, photoz_outlier_fraction


class _Sens:
    slit_width = 0.8


def _profile_catalogue(rng, n=200):
    """Bright lines of one mask: point-like profiles (FWHM 0.73" +- 0.02") with their 5-row fractions,
    and a few extended ones (1.2")."""
    fw = 0.73 + 0.02 * rng.normal(size=n)
    fw[:5] = 1.2
    b5 = 0.83 * (0.73 / fw) ** 1.5
    return Table({"mask": ["m1"] * n, "status": ["adopted"] * n, "sigma": np.full(n, 30.0),
                  "fwhm_y": fw, "fwhm_y_err": np.full(n, 0.03), "box5_fraction": b5})


def test_extended_profiles_are_corrected_and_typical_ones_are_not():
    rng = np.random.default_rng(2)
    cat = _profile_catalogue(rng)
    seeing = Table({"mask": ["m1"], "fwhm_lines": [0.73], "box5_lines": [0.83]})
    corr, err, flag = extended_profile(cat, seeing, _Sens(), DetectParams())
    fw, b5 = np.asarray(cat["fwhm_y"]), np.asarray(cat["box5_fraction"])
    expected = 0.83 / b5[:5] * slit_transmission(0.73, 0.8) / slit_transmission(fw[:5], 0.8)
    np.testing.assert_allclose(corr[:5], expected)
    assert np.all(corr[:5] > 1.3)
    # profiles within the FWHM errors of the mask's: untouched (no correction, no error term)
    typical = np.abs(fw - 0.73) < 0.03
    assert np.all(corr[typical] == 1.0) and np.all(err[typical] == 0.0) and not flag[typical].any()
    # marginally wider (1-5 FWHM errors): the loss in the error, one-sided, never a correction
    marginal = (fw - 0.73 > 0.03) & (fw - 0.73 <= 0.15)
    assert marginal.any()
    assert np.all(corr[marginal] == 1.0) and np.all(err[marginal] > 0) and flag[marginal].all()
    # no flux standard: nothing is done
    c0, e0, f0 = extended_profile(cat, seeing, None, DetectParams())
    assert np.all(c0 == 1) and np.all(e0 == 0) and not f0.any()


def test_single_lines_get_the_single_line_aperture_correction():
    rng = np.random.default_rng(4)
    z = 0.5
    rows, ml = [], []
    for s in range(40):
        # slits at z = 0.5: Hbeta and [OIII] single lines (5-column fraction 0.85); the doublet's is 0.75
        for name in ("Hbeta", "OIII_5007"):
            w = LINES[name] * (1 + z) + rng.normal(0, 1)
            counts = 1000.0
            rows.append(("m1", s, w, 25.0, "adopted", counts, counts / 0.85 * (1 + 0.01 * rng.normal()), 0,
                         1.0, 0.1, 0.1, 0.1, ""))
        ml.append(("m1", s, True, z))
    for s in range(40, 60):          # lone lines: no multi-line redshift, taken as [OII]
        rows.append(("m1", s, 7500.0, 25.0, "adopted", 1000.0, 1000.0 / 0.75, 0, 1.0, 0.1, 0.1, 0.1, ""))
    cat = Table(rows=rows, names=("mask", "slit_id", "wavelength", "sigma", "status", "counts", "counts_wide",
                                  "n_missing", "flux", "flux_err", "flux_err_stat", "flux_err_indep", "doubt"))
    mlt = Table(rows=ml + [("m1", 99, False, np.nan)], names=("mask", "slit_id", "secure", "z_multi"))
    info = singlet_aperture_correction(cat, mlt, 0.75, DetectParams())
    assert info["n_lines"] == 80
    assert info["apcorr_singlet"] == pytest.approx(0.85, rel=0.01)
    single = np.asarray(cat["line_id"]) != ""
    assert single.sum() == 80 and set(np.asarray(cat["line_id"])[single]) == {"Hbeta", "OIII_5007"}
    np.testing.assert_allclose(np.asarray(cat["flux"])[single], 0.75 / info["apcorr_singlet"])
    np.testing.assert_allclose(np.asarray(cat["flux"])[~single], 1.0)
    assert all("singlet_apcorr" in d for d in np.asarray(cat["doubt"])[single])
    assert not any("singlet_apcorr" in d for d in np.asarray(cat["doubt"])[~single])


def test_single_line_correction_falls_back_to_the_analytic_ratio_without_bright_single_lines():
    cat = Table(rows=[("m1", 1, LINES["Halpha"] * 1.1, 6.0, "adopted", 100.0, 120.0, 0, 1.0, 0.2, 0.2, 0.2, "")],
                names=("mask", "slit_id", "wavelength", "sigma", "status", "counts", "counts_wide", "n_missing",
                       "flux", "flux_err", "flux_err_stat", "flux_err_indep", "doubt"))
    mlt = Table(rows=[("m1", 1, True, 0.1)], names=("mask", "slit_id", "secure", "z_multi"))
    info = singlet_aperture_correction(cat, mlt, 0.75, DetectParams())
    assert info["n_lines"] == 0 and info["apcorr_singlet"] > 0.75      # a single line is narrower
    assert float(cat["flux"][0]) == pytest.approx(info["factor"]) and info["factor"] < 1


def _pdfs(rng, z_true, sigma=0.08, outliers=0.0):
    zgrid = np.linspace(0.0, 4.0, 801)
    zc = z_true + sigma * (1 + z_true) * rng.normal(size=z_true.size)
    bad = rng.random(z_true.size) < outliers
    zc[bad] = rng.uniform(0.05, 3.5, bad.sum())
    pdf = np.exp(-0.5 * ((zgrid[None, :] - zc[:, None]) / (sigma * (1 + zc[:, None]))) ** 2)
    pdf /= pdf.sum(1, keepdims=True) * (zgrid[1] - zgrid[0])
    return zgrid, pdf


def test_photoz_outlier_fraction_from_public_redshifts():
    rng = np.random.default_rng(8)
    n = 3000
    z = rng.uniform(0.2, 2.0, n)
    zgrid, pdf = _pdfs(rng, z, outliers=0.10)
    phot = Table({"id": np.arange(n), "pdf_row": np.arange(n), "z_spec_public": np.where(rng.random(n) < 0.5, z, np.nan)})
    out = photoz_outlier_fraction({"F": phot}, {"F": (zgrid, pdf, None)})
    # an outlier drawn at random lands inside its own PDF's 3-sigma range ~10 % of the time
    assert out["n"] == int(np.isfinite(phot["z_spec_public"]).sum())
    assert 0.07 < out["fraction"] < 0.11
    good = photoz_outlier_fraction({"F": phot}, {"F": _pdfs(rng, z)[::1][:2] + (None,)})
    assert good["fraction"] < 0.01


def test_lines_of_galaxies_beyond_every_window_lose_their_p():
    """Half the detections are real [OII] lines of galaxies in the [OII] window; half are noise peaks
    in galaxies at z ~ 2-3 whose PDFs miss every window, where ROLES' P (the [OII] window over the
    four windows' union) is still large. The union makes their P small and keeps the real lines'."""
    rng = np.random.default_rng(9)
    n = 400
    real = np.arange(n) < n // 2
    z = np.where(real, rng.uniform(0.9, 1.14, n), rng.uniform(2.0, 3.0, n))
    from redshift1.science.poii import window_integrals, p_oii
    zgrid, pdf = _pdfs(rng, z, sigma=0.05)
    raw, _ = p_oii(zgrid, pdf)
    union = window_integrals(zgrid, pdf)["union"]
    poii = Table({"id": np.arange(n), "status": ["detected"] * n, "p_source": ["photoz"] * n,
                  "wavelength": np.full(n, 7600.0), "sigma": np.full(n, 6.0), "p_oii": raw,
                  "z_spec_public": np.full(n, np.nan), "p_class": ["x"] * n, "is_roles_target": np.ones(n, bool),
                  "n_good_slits": np.ones(n, int), "p_union_photoz": union})
    fit = {"sigma0": 6.0, "scale": 1.0, "status": "fitted"}           # q = 0.5 at 6 sigma
    assert np.mean(raw[~real]) > 0.3                                 # ROLES' P of the noise is not small
    calibrate_p(poii, fit, {"fraction": 0.0}, union_outliers=0.03)
    p = np.asarray(poii["p_oii"], float)
    assert np.mean(p[~real]) < 0.05
    assert np.mean(p[real]) > 0.6
    assert poii.meta["p_calibration"]["union"]["outlier_fraction"] == 0.03


def test_line_mixture_recovers_the_line_fractions_and_calibrates_p():
    """90 % of the real lines are [OII], 10 % Hβ/[OIII]; PDFs are Gaussians. ROLES' P (equal weights
    per unit of PDF integral) is under-confident where a PDF is split between the two windows;
    weighted by the fitted fractions, the fractions are recovered, Σ P matches the number of [OII]
    lines and P is much closer to the fraction truly [OII] in bins of P."""
    from redshift1.ldss3.purity import line_mixture
    from redshift1.science.poii import LINE_GROUPS, window_integrals
    rng = np.random.default_rng(12)
    n = 6000
    oii = rng.random(n) < 0.9
    z = np.where(oii, rng.uniform(*LINE_GROUPS["OII"], n), rng.uniform(*LINE_GROUPS["Hbeta_OIII"], n))
    zgrid, pdf = _pdfs(rng, z, sigma=0.06)
    integ = window_integrals(zgrid, pdf, LINE_GROUPS)
    I = np.column_stack([integ[g] for g in LINE_GROUPS])
    frac = line_mixture(I, [b - a for a, b in LINE_GROUPS.values()])
    assert frac[0] == pytest.approx(0.9, abs=0.02) and frac[2] < 0.01
    poii = Table({"id": np.arange(n), "status": ["detected"] * n, "p_source": ["photoz"] * n,
                  "wavelength": np.full(n, 7600.0), "sigma": np.full(n, 20.0),
                  "p_oii": I[:, 0] / I.sum(1), "z_spec_public": np.full(n, np.nan), "p_class": ["x"] * n,
                  **{f"p_window_{g}": I[:, k] for k, g in enumerate(LINE_GROUPS)}})
    calibrate_p(poii, {"sigma0": -np.inf, "scale": 1.0}, {"fraction": 0.0}, line_mixture=True, clamps=(0.0, 1.0))

    def worst(p):
        out = 0.0
        for a in np.arange(0.1, 0.9, 0.2):
            s = (p >= a) & (p < a + 0.2)
            if s.sum() >= 50:
                out = max(out, abs(np.mean(oii[s]) - np.mean(p[s])) / max(0.05, 2 * np.sqrt(0.25 / s.sum())))
        return out
    mix, roles = np.asarray(poii["p_oii"], float), np.asarray(poii["p_oii_roles"], float)
    assert worst(mix) < worst(roles) / 2
    assert abs(mix.sum() / oii.sum() - 1) < 0.02 < abs(roles.sum() / oii.sum() - 1)
    assert poii.meta["p_calibration"]["line_mixture"]["fractions"][0] == pytest.approx(frac[0])


def test_lines_in_the_a_band_carry_their_telluric_correction_error():
    """A hand-made A band (transmission 1 -> 0.3 over 7582-7600 Å): a line on its steep edge gets
    |d ln T / d lambda| x sigma_wave in its errors, one outside the band nothing."""
    from redshift1.ldss3.flux_corrections import telluric_flux_error

    class Sens:
        wave = np.arange(7000.0, 8100.0, 0.5)
        telluric = np.interp(wave, [7582.0, 7600.0, 7620.0, 7640.0], [1.0, 0.3, 0.6, 1.0], left=1.0, right=1.0)

    cat = Table({"wavelength": [7500.0, 7591.0, 7700.0], "flux": [1.0, 1.0, 1.0], "flux_err": [0.1, 0.1, 0.1],
                 "flux_err_indep": [0.05, 0.05, 0.05]})
    term = telluric_flux_error(cat, Sens(), 1.5)
    slope = (np.log(np.interp(7593.0, Sens.wave, Sens.telluric)) - np.log(np.interp(7589.0, Sens.wave, Sens.telluric))) / 4
    assert term[0] == 0 and term[2] == 0
    assert term[1] == pytest.approx(abs(slope) * 1.5)
    np.testing.assert_allclose(np.asarray(cat["flux_err"]), [0.1, np.hypot(0.1, term[1]), 0.1])
    np.testing.assert_allclose(np.asarray(cat["flux_err_indep"]), [0.05, np.hypot(0.05, term[1]), 0.05])
    assert np.all(telluric_flux_error(cat, None, 1.5) == 0) and np.all(telluric_flux_error(cat, Sens(), np.nan) == 0)
