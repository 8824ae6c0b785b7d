"""KROSS §3.1: Hα star-formation rates, distance from the main sequence, Table 2.

Chain per galaxy (Magdis et al. 2016, eqs. 1–3, WMAP-7):

    L(Hα)_obs = 4π d_L² f(Hα)                      (z from the fitted Hα line)
    A_gas     = A_V (1.9 − 0.15 A_V)                (Wuyts et al. 2013)
    L(Hα)_int = L_obs 10^(0.4 A_gas)
    log SFR   = log L(Hα)_int − 41.33               (Kennicutt 1998, Chabrier IMF)
    Δ(sSFR)   = SFR / SFR_MS(M★, z)                 (Speagle et al. 2014 by default)

Errors: the flux error and the SED A_V error (through dA_gas/dA_V = 1.9 − 0.3 A_V) add in
quadrature in log SFR; the stellar-mass error enters log Δ through the MS slope.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..cosmology import KROSS_COSMO
from ..errors import ParameterError
from .mainsequence import MS_PRESCRIPTIONS
from .sfr import LOG_LHA_PER_SFR, a_gas, line_luminosity, sfr_from_halpha
from ..flags import column_cells, split_flags
from ..kmos.spectra import VETOES
from .kross_flags import sfr_flags
from ..columns import flags, strings, values
from ..validation.paper import KROSS_TABLE2
from .kross_tables import align

FLUX_UNIT = u.erg / u.s / u.cm**2
LN10 = np.log(10.0)


def ms_log_sfr(logmstar, z, prescription: str = "speagle14", cosmo=KROSS_COSMO) -> np.ndarray:
    """log SFR of the main sequence at each galaxy's own M★ and z.

    Parameters
    ----------
    logmstar : array_like
        log10 M★ [Msun].
    z : array_like
        Redshift.
    prescription : str, optional
        Key of :data:`~redshift1.science.mainsequence.MS_PRESCRIPTIONS`.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology (used by ``speagle14``).

    Returns
    -------
    numpy.ndarray
        log SFR_MS [Msun/yr].

    Raises
    ------
    ParameterError
        For an unknown prescription.
    """
    if prescription not in MS_PRESCRIPTIONS:
        raise ParameterError(f"ms_prescription {prescription!r} is not one of {sorted(MS_PRESCRIPTIONS)}")
    fn = MS_PRESCRIPTIONS[prescription]
    return fn(logmstar, z, cosmo=cosmo) if prescription == "speagle14" else fn(logmstar, z)


def ms_slope(logmstar, z, prescription: str = "speagle14", cosmo=KROSS_COSMO) -> np.ndarray:
    """d log SFR_MS / d log M★ (numerical), for propagating the mass error into log Δ.

    Parameters
    ----------
    logmstar : array_like
        log10 M★ [Msun].
    z : array_like
        Redshift.
    prescription : str, optional
        Main-sequence prescription.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology.

    Returns
    -------
    numpy.ndarray
        The slope.
    """
    h = 0.01
    return (ms_log_sfr(np.asarray(logmstar) + h, z, prescription, cosmo)
            - ms_log_sfr(logmstar, z, prescription, cosmo)) / h


def halpha_sfr(flux, flux_err, z, a_v, a_v_err=0.0, cosmo=KROSS_COSMO) -> dict:
    """The SFR chain for arrays of galaxies (KROSS eqs. 1-3). Non-positive fluxes give NaN SFRs.

    Parameters
    ----------
    flux, flux_err : array_like
        Hα flux and its error [erg/s/cm²].
    z : array_like
        Redshift.
    a_v : array_like
        Stellar A_V [mag].
    a_v_err : float or array_like, optional
        Its error [mag].
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the luminosity distance.

    Returns
    -------
    dict
        Arrays ``l_halpha`` (observed) and its error, ``a_gas``, ``a_gas_err``,
        ``l_halpha_int``, ``sfr``, ``log_sfr``, ``log_sfr_err``, ``sfr_err`` (linear,
        symmetric approximation).
    """
    flux = np.asarray(flux, float)
    flux_err = np.broadcast_to(np.asarray(flux_err, float), flux.shape)
    z = np.asarray(z, float)
    a_v = np.broadcast_to(np.asarray(a_v, float), flux.shape)
    a_v_err = np.broadcast_to(np.asarray(a_v_err, float), flux.shape)
    pos = np.isfinite(flux) & (flux > 0) & np.isfinite(z) & (z > 0)
    zz = np.where(pos, z, 1.0)
    ff = np.where(pos, flux, 1.0)
    l_obs = line_luminosity(ff * FLUX_UNIT, zz, cosmo).to_value(u.erg / u.s)
    l_obs_err = l_obs * flux_err / ff
    ag = a_gas(a_v)
    ag_err = np.abs(1.9 - 0.3 * a_v) * a_v_err
    sfr = sfr_from_halpha(l_obs, a_v).to_value(u.Msun / u.yr)
    log_sfr = np.log10(sfr)
    log_err = np.sqrt((flux_err / ff / LN10) ** 2 + (0.4 * ag_err) ** 2)
    nan = np.where(pos, 1.0, np.nan)
    return {
        "l_halpha": l_obs * nan, "l_halpha_err": l_obs_err * nan,
        "a_gas": ag, "a_gas_err": ag_err,
        "l_halpha_int": l_obs * 10 ** (0.4 * ag) * nan,
        "sfr": sfr * nan, "sfr_err": sfr * LN10 * log_err * nan,
        "log_sfr": log_sfr * nan, "log_sfr_err": log_err * nan,
    }


def kross_sfr_table(targets: Table, spectra: Table, cosmo=KROSS_COSMO, ms_prescription: str = "speagle14",
                    snr_min: float = 3.0, sizes: Table | None = None, extrapolation_err: float = 0.4) -> Table:
    """One row per target: L(Hα), A_gas, SFR (Hα), Δ(sSFR) — KROSS §3.1.

    With ``sizes`` (notebook 03), the Hα flux entering the SFR is the extrapolated total:
    the integrated flux over the IFU divided by the curve of growth's recovered fraction
    (KROSS §3.2 models the curve "to account for Hα flux missed"). Without it, or where a
    galaxy has no size, the flux over the IFU is used (``flux_recovered_fraction`` = 1).
    A disc overfilling the 2.8″ field otherwise loses a fifth of its flux, and as those are
    the galaxies of lowest ΣSFR, the loss would tilt the ΣSFR–Δ(sSFR) relation.

    Undetected galaxies keep a row with ``sfr`` NaN and an ``sfr_ul`` from a ``snr_min``·σ
    flux; the redshift of a detected galaxy is the fitted Hα redshift
    (``z_source = "halpha"``), the catalogue redshift otherwise (``"catalogue"``). ``status``
    is ``ok``, ``undetected: …``, ``skipped: …`` (from notebook 02) or
    ``missing from kmos_spectra``.

    Parameters
    ----------
    targets : astropy.table.Table
        Target catalogue (its order is the table's).
    spectra : astropy.table.Table
        ``kmos_spectra`` (notebook 02).
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology (KROSS's by default).
    ms_prescription : str, optional
        Main sequence of Δ(sSFR).
    snr_min : float, optional
        A galaxy is Hα-detected when S/N(Hα) > ``snr_min`` (KROSS: 3).
    sizes : astropy.table.Table, optional
        ``kmos_sizes`` (notebook 03) for the recovered fraction.
    extrapolation_err : float, optional
        The extrapolation's own uncertainty, as a fraction of ln(1/recovered fraction), added
        in quadrature to the total flux's relative error. The disc model is not the galaxy: on
        the paper preset the recovered fraction scattered around the truth by 0.35-0.65 of its
        logarithm, and without this term the total's pulls were 1.34 wide (2.45 for r½ > 0.8″).

    Returns
    -------
    astropy.table.Table
        One row per target with its flags.
    """
    spec, present = align(targets["id"], spectra, "kmos_spectra")
    n = len(targets)
    flux_ifu = values(spec, "flux_halpha", FLUX_UNIT)
    flux_err_ifu = values(spec, "flux_halpha_err", FLUX_UNIT)
    recovered = np.ones(n)
    # a size table without the curve of growth's recovered fraction corrects nothing
    corrected = sizes is not None and "recovered_fraction" in sizes.colnames
    if corrected:
        sz, _ = align(targets["id"], sizes, "kmos_sizes")
        rf = values(sz, "recovered_fraction")
        recovered = np.where(np.isfinite(rf) & (rf > 0) & (rf <= 1), rf, 1.0)
    flux = flux_ifu / recovered
    flux_err = np.hypot(flux_err_ifu / recovered,
                        np.nan_to_num(np.abs(flux) * extrapolation_err * np.log(1.0 / recovered)))
    snr = values(spec, "snr_halpha")
    z_fit = values(spec, "z")
    z_cat = values(targets, "z_cat")
    logm = values(targets, "logmstar")
    logm_err = values(targets, "logmstar_err")
    a_v = values(targets, "a_v", u.mag)
    a_v_err = values(targets, "a_v_err", u.mag)
    up_status = strings(spec, "status")
    flux_unit = strings(spec, "flux_unit") if "flux_unit" in spec.colnames else np.full(n, "", dtype=object)
    unknown_unit = np.array([s.startswith("unknown") for s in flux_unit])

    measured = present & (up_status == "ok")
    # notebook 02's line tests (masked channels, physical width, window edge) stand whatever the
    # S/N threshold: a line that failed them is no line at any S/N
    ok_02 = (np.array([not (set(split_flags(c)) & VETOES) for c in column_cells(spec["flags"])])
             if "flags" in spec.colnames else np.ones(n, bool))
    detected = measured & ok_02 & np.isfinite(snr) & (snr > snr_min) & ~unknown_unit
    # the fitted redshift only where the line is detected; the catalogue one otherwise
    use_fit = detected & np.isfinite(z_fit) & (z_fit > 0)
    z = np.where(use_fit, z_fit, z_cat)
    chain = halpha_sfr(np.where(detected, flux, np.nan), flux_err, z, a_v, a_v_err, cosmo)
    # upper limit for the undetected: a snr_min·σ flux through the same chain
    ul_flux = np.where(~detected & np.isfinite(flux_err) & (flux_err > 0), snr_min * flux_err, np.nan)
    sfr_ul = halpha_sfr(ul_flux, 0.0, z, a_v, 0.0, cosmo)["sfr"]

    ms = ms_log_sfr(logm, z, ms_prescription, cosmo)
    slope = ms_slope(logm, z, ms_prescription, cosmo)
    log_delta = chain["log_sfr"] - ms
    log_delta_err = np.sqrt(chain["log_sfr_err"] ** 2 + (slope * logm_err) ** 2)

    status = []
    for i in range(n):
        if not present[i]:
            status.append("missing from kmos_spectra")
        elif up_status[i] != "ok":
            status.append(up_status[i] if up_status[i].startswith("skipped") else f"skipped: {up_status[i]}")
        elif unknown_unit[i]:
            status.append("skipped: flux unit unknown (no BUNIT), no luminosity")
        elif not detected[i] and not ok_02[i] and np.isfinite(snr[i]) and snr[i] > snr_min:
            status.append(f"undetected: failed notebook 02's line tests ({strings(spec, 'flags')[i]})")
        elif not detected[i]:
            status.append(f"undetected: S/N(Hα) = {snr[i]:.1f} ≤ {snr_min:g}")
        else:
            status.append("ok")

    t = Table()
    t["id"] = [str(i) for i in targets["id"]]
    t["field"] = strings(targets, "field") if "field" in targets.colnames else np.full(n, "")
    t["status"] = status
    t["halpha_detected"] = detected
    t["snr_halpha"] = snr
    t["z"] = z
    t["z_source"] = np.where(use_fit, "halpha", "catalogue")
    t["logmstar"] = logm
    t["logmstar_err"] = logm_err
    t["a_v"] = a_v * u.mag
    t["a_gas"] = chain["a_gas"] * u.mag
    t["a_gas_err"] = chain["a_gas_err"] * u.mag
    t["flux_halpha"] = np.where(present, flux_ifu, np.nan) * FLUX_UNIT
    t["flux_halpha_err"] = flux_err_ifu * FLUX_UNIT
    t["flux_recovered_fraction"] = recovered
    t["flux_halpha_total"] = np.where(present, flux, np.nan) * FLUX_UNIT
    t["l_halpha"] = chain["l_halpha"] * u.erg / u.s
    t["l_halpha_err"] = chain["l_halpha_err"] * u.erg / u.s
    t["l_halpha_int"] = chain["l_halpha_int"] * u.erg / u.s
    t["sfr"] = chain["sfr"] * u.Msun / u.yr
    t["sfr_err"] = chain["sfr_err"] * u.Msun / u.yr
    t["log_sfr"] = chain["log_sfr"]
    t["log_sfr_err"] = chain["log_sfr_err"]
    t["sfr_ul"] = sfr_ul * u.Msun / u.yr
    t["sfr_sed"] = values(targets, "sfr_sed", u.Msun / u.yr) * u.Msun / u.yr
    t["log_sfr_ms"] = ms
    t["log_delta_ssfr"] = log_delta
    t["log_delta_ssfr_err"] = log_delta_err
    t["delta_ssfr"] = 10 ** log_delta
    t["ms_prescription"] = np.full(n, ms_prescription)
    t.meta.update({
        "description": "KROSS §3.1: Hα SFRs (eqs. 1-3, WMAP-7) and distance from the main sequence; "
                       "flux_halpha over the IFU, flux_halpha_total = flux_halpha / flux_recovered_fraction "
                       "(the curve-of-growth extrapolation of notebook 03) enters the SFR",
        "flux_beyond_ifu_corrected": corrected,
        "cosmology": str(cosmo), "snr_min": snr_min, "ms_prescription": ms_prescription,
        "extrapolation_err": extrapolation_err,
        "log_lha_per_sfr": LOG_LHA_PER_SFR,
        "n_flag_differs_from_02": int(np.sum(detected != flags(spec, "halpha_detected"))),
    })
    t["flags"] = sfr_flags(t, sizes)
    return t


def with_delta_ssfr(sfr_table: Table, ms_prescription: str, cosmo=KROSS_COSMO) -> Table:
    """A copy of a :func:`kross_sfr_table` result with Δ(sSFR) recomputed for another MS.

    Parameters
    ----------
    sfr_table : astropy.table.Table
        :func:`kross_sfr_table` result.
    ms_prescription : str
        The other main sequence.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology.

    Returns
    -------
    astropy.table.Table
        The copy.
    """
    t = sfr_table.copy()
    logm, z = values(t, "logmstar"), values(t, "z")
    ms = ms_log_sfr(logm, z, ms_prescription, cosmo)
    slope = ms_slope(logm, z, ms_prescription, cosmo)
    t["log_sfr_ms"] = ms
    t["log_delta_ssfr"] = values(t, "log_sfr") - ms
    t["log_delta_ssfr_err"] = np.sqrt(values(t, "log_sfr_err") ** 2 + (slope * values(t, "logmstar_err")) ** 2)
    t["delta_ssfr"] = 10 ** t["log_delta_ssfr"]
    t.replace_column("ms_prescription", np.full(len(t), ms_prescription))
    t.meta["ms_prescription"] = ms_prescription
    return t


def subsample_masks(sfr_table: Table, sizes: Table | None, spectra: Table | None) -> dict:
    """Boolean masks (target order) of the Table 2 subsamples.

    Hα = Hα-detected (S/N > threshold); resolved / unresolved split the Hα galaxies whose
    size was measured (a finite r′½, from notebook 03) by its ``resolved`` flag; undetected
    = every target without an Hα detection (including cubes that could not be measured);
    [NII] = [NII]6583 detected (which requires Hα). Hα galaxies without a size appear as
    their own row "Hα no size" so the rows add up.

    Parameters
    ----------
    sfr_table : astropy.table.Table
        :func:`kross_sfr_table` result.
    sizes : astropy.table.Table or None
        ``kmos_sizes``.
    spectra : astropy.table.Table or None
        ``kmos_spectra`` (``nii_detected``).

    Returns
    -------
    dict
        ``{subsample name: bool mask}``.
    """
    ids = sfr_table["id"]
    ha = flags(sfr_table, "halpha_detected")
    masks = {"Total": np.ones(len(ids), bool), "Hα": ha}
    if sizes is not None:
        sz, _ = align(ids, sizes, "kmos_sizes")
        size_ok = np.isfinite(values(sz, "r_half_corr_kpc")) & (strings(sz, "status") == "ok")
        res = flags(sz, "resolved")
        masks["Hα resolved"] = ha & size_ok & res
        masks["Hα unresolved"] = ha & size_ok & ~res
        masks["Hα no size"] = ha & ~size_ok
    masks["Hα undetected"] = ~ha
    if spectra is not None:
        sp, _ = align(ids, spectra, "kmos_spectra")
        masks["[NII]"] = ha & flags(sp, "nii_detected")
    return masks


def table2(targets: Table, sfr_table: Table, sizes: Table | None = None, spectra: Table | None = None) -> Table:
    """KROSS Table 2: N and median r−z, K, SFR_SED per subsample, paper values beside.

    The ``paper_*`` columns are the published numbers, for comparison only.

    Parameters
    ----------
    targets : astropy.table.Table
        Target catalogue (``r_z``, ``k_ab``, ``sfr_sed``).
    sfr_table : astropy.table.Table
        :func:`kross_sfr_table` result.
    sizes : astropy.table.Table, optional
        ``kmos_sizes``.
    spectra : astropy.table.Table, optional
        ``kmos_spectra``.

    Returns
    -------
    astropy.table.Table
        One row per subsample.
    """
    masks = subsample_masks(sfr_table, sizes, spectra)
    tg, _ = align(sfr_table["id"], targets, "targets")
    r_z, k, sfr_sed = values(tg, "r_z"), values(tg, "k_ab"), values(tg, "sfr_sed")
    rows = []
    order = ["Total", "Hα", "Hα resolved", "Hα unresolved", "Hα no size", "Hα undetected", "[NII]"]
    for name in order:
        if name not in masks:
            continue
        m = masks[name]
        if name == "Hα no size" and not m.any():
            continue
        med = [float(np.nanmedian(a[m])) if np.isfinite(a[m]).any() else np.nan for a in (r_z, k, sfr_sed)]
        paper = KROSS_TABLE2.get(name, (-1, np.nan, np.nan, np.nan))
        rows.append((name, int(m.sum()), *med, *paper))
    t = Table(rows=rows, names=("subsample", "n", "r_z_median", "k_median", "sfr_sed_median",
                                "paper_n", "paper_r_z", "paper_k", "paper_sfr_sed"),
              dtype=(str, int, float, float, float, int, float, float, float))
    t["r_z_median"].unit = t["k_median"].unit = t["paper_r_z"].unit = t["paper_k"].unit = u.mag
    t["sfr_sed_median"].unit = t["paper_sfr_sed"].unit = u.Msun / u.yr
    t.meta["description"] = ("KROSS Table 2: medians per subsample measured here; paper_* columns are "
                             "Magdis et al. (2016) Table 2, for comparison only (paper_n = -1: no paper row)")
    return t


def sfr_summary(sfr_table: Table, ms_band_dex: float = 0.3) -> dict:
    """Counts and the SFR distribution of the Hα-detected galaxies (for kross_fits.json).

    Parameters
    ----------
    sfr_table : astropy.table.Table
        :func:`kross_sfr_table` result.
    ms_band_dex : float, optional
        Half-width of the main-sequence band counted [dex].

    Returns
    -------
    dict
        Counts, median/min/max SFR, median and spread of log Δ(sSFR), the fraction within
    ``ms_band_dex`` of the main sequence and the prescription.
    """
    det = flags(sfr_table, "halpha_detected")
    sfr = values(sfr_table, "sfr")[det]
    ld = values(sfr_table, "log_delta_ssfr")[det]
    ok = np.isfinite(sfr)
    return {
        "n_targets": len(sfr_table), "n_halpha": int(det.sum()),
        "n_skipped": int(sum(s.startswith("skipped") or s.startswith("missing") for s in sfr_table["status"])),
        "median_sfr": float(np.median(sfr[ok])) if ok.any() else np.nan,
        "min_sfr": float(np.min(sfr[ok])) if ok.any() else np.nan,
        "max_sfr": float(np.max(sfr[ok])) if ok.any() else np.nan,
        "median_log_delta_ssfr": float(np.nanmedian(ld)) if ok.any() else np.nan,
        "std_log_delta_ssfr": float(np.nanstd(ld)) if ok.any() else np.nan,
        "fraction_within_ms_band": float(np.mean(np.abs(ld[ok]) <= ms_band_dex)) if ok.any() else np.nan,
        "ms_prescription": sfr_table.meta.get("ms_prescription", ""),
    }
