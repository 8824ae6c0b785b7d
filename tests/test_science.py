"""The papers' conversions: forward and inverse agree, and known values come out."""
import numpy as np
import astropy.units as u
import pytest

from redshift1.cosmology import KROSS_COSMO, ROLES_COSMO
from redshift1.science import sfr as S
from redshift1.science.kcorrection import k_correction_k
from redshift1.science.mainsequence import delta_ssfr, speagle14_log_sfr
from redshift1.science.metallicity import n2_from_oh, oh_from_n2


def test_kennicutt_with_agas_roundtrip():
    sfr = np.array([0.15, 7.0, 330.0]) * u.Msun / u.yr
    av = np.array([0.0, 1.0, 2.5])
    l_obs = S.halpha_luminosity_from_sfr(sfr, av)
    np.testing.assert_allclose(S.sfr_from_halpha(l_obs, av).value, sfr.value, rtol=1e-12)
    # A_V = 0: log SFR = log L - 41.33 exactly
    assert np.log10(S.sfr_from_halpha(1e42 * u.erg / u.s, 0.0).value) == pytest.approx(42 - 41.33)
    assert S.a_gas(1.0) == pytest.approx(1.75)


def test_oii_sfr_normalisation():
    # SPEC: SFR = 1 Msun/yr <-> log L[OII] ≈ 40.66
    assert np.log10(S.oii_luminosity_from_sfr(1.0).value) == pytest.approx(40.66, abs=0.01)


def test_g10_correction_limits():
    assert S.g10_correction(13.0) == pytest.approx(-1.424 + 1.700, abs=1e-3)
    assert S.g10_correction(6.5) == pytest.approx(1.424 + 1.700, abs=1e-3)
    assert S.g10_correction(9.827) == pytest.approx(1.700)


def test_flux_luminosity_roundtrip():
    f = S.line_flux(1e42 * u.erg / u.s, 0.86, KROSS_COSMO)
    assert S.line_luminosity(f, 0.86, KROSS_COSMO).value == pytest.approx(1e42)
    d = KROSS_COSMO.luminosity_distance(0.86).to(u.cm).value
    assert f.value == pytest.approx(1e42 / (4 * np.pi * d**2))


def test_speagle_main_sequence():
    # at z=0.86 (t≈6.5 Gyr) a 10^10 Msun galaxy forms ~8 Msun/yr
    t = KROSS_COSMO.age(0.86).value
    assert speagle14_log_sfr(10.0, 0.86) == pytest.approx((0.84 - 0.026 * t) * 10 - (6.51 - 0.11 * t))
    assert 0.8 < speagle14_log_sfr(10.0, 0.86) < 1.0
    assert delta_ssfr(10 ** speagle14_log_sfr(10.3, 0.9), 10.3, 0.9) == pytest.approx(1.0)


def test_pp04_roundtrip_and_solar():
    assert oh_from_n2(n2_from_oh(8.64)) == pytest.approx(8.64)
    assert oh_from_n2(0.0) == pytest.approx(8.90)


def test_glazebrook_k_correction():
    assert k_correction_k(0.0) == 0.0
    k = k_correction_k(np.linspace(0.1, 1.2, 12))
    assert np.all(k < 0) and -1.2 < k.min()      # K-band k-corrections are small and negative at z<1.2


def test_cosmologies():
    assert KROSS_COSMO.H0.value == 70.4 and KROSS_COSMO.Om0 == 0.273
    assert ROLES_COSMO.H0.value == 70.0 and ROLES_COSMO.Om0 == 0.3
