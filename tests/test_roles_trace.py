"""The per-stage ρ_SFR trace (issue 12, item 6) on a hand-built sample and truth: each stage
swaps one measured quantity for its true value, so each column moves by what that stage did."""
import numpy as np
import pytest
from astropy.table import Table

from redshift1.science.sfr import line_luminosity, sfr_from_oii
from redshift1.science.vmax import window_volume
from redshift1.cosmology import ROLES_COSMO
from redshift1.validation.roles import OII_REST, RolesInputs
from redshift1.validation.roles_trace import sfrd_stage_trace

AREA = 100.0


def _inputs():
    # four true galaxies at z = 1 with K = 23.2 (inside 22.5 < K <= 24 across the whole window)
    z = np.array([1.0, 1.0, 1.0, 1.0])
    flux = np.array([2e-17, 4e-17, 3e-17, 5e-17])
    logm_true = np.array([9.2, 9.3, 9.4, 9.45])
    truth = Table({"id": ["A", "B", "C", "D"], "field": ["F"] * 4, "z_true": z, "K": np.full(4, 23.2),
                   "logm_true": logm_true, "f_OII_3727": flux})
    sfr = sfr_from_oii(line_luminosity(flux, z, ROLES_COSMO)).value
    vol = window_volume(AREA)
    wave = OII_REST * (1 + z)
    wave[2] = 7900.0                                   # C's adopted line is not its [OII]
    gal = Table({"id": ["A", "B", "C", "D"], "field": ["F"] * 4, "status": ["in_sample"] * 4,
                 "wavelength": wave, "logmstar": [9.2, 9.3, 9.4, 9.6],     # D measured above the bin
                 "sfr_oii": sfr * np.array([1.0, 1.2, 1.0, 1.0]),          # B's flux measured 20 % high
                 "p_oii": [0.5, 1.0, 1.0, 1.0], "vmax": np.full(4, vol), "completeness": np.ones(4)})
    r = RolesInputs(truth=truth, truth_lines=Table(), truth_slits=None, truth_highmass=None, truth_summary={},
                    areas={"F": AREA}, galaxies=gal)
    return r, sfr, vol


def test_each_stage_replaces_one_measured_quantity_by_the_truth():
    r, sfr, vol = _inputs()
    t = sfrd_stage_trace(r, {"F": [9.0, 9.5]})
    assert len(t) == 1
    row = t[0]
    k = 1e3 / 0.5 / vol
    assert row["rho_true"] == pytest.approx(sfr.sum() * k)
    assert row["rho"] == pytest.approx((0.5 * sfr[0] + 1.2 * sfr[1] + sfr[2]) * k)   # D is outside the bin
    assert row["rho_truly"] == pytest.approx((0.5 * sfr[0] + 1.2 * sfr[1]) * k)     # C is not [OII]
    assert row["rho_p1"] == pytest.approx((sfr[0] + 1.2 * sfr[1]) * k)
    assert row["rho_sfr_true"] == pytest.approx((sfr[0] + sfr[1]) * k)
    assert row["rho_logm_true"] == pytest.approx((sfr[0] + sfr[1] + sfr[3]) * k)    # D binned by its true mass
    # every true galaxy is visible across the whole window: 1/V_max counts them exactly, no sampling noise
    assert (row["n_true"], row["vmax_sum"], row["vmax_sd"]) == (4, pytest.approx(4.0, rel=0.01), pytest.approx(0.0, abs=0.05))
