"""The **Result** section that ends every notebook: this run's numbers beside the paper's,
with a sentence for every number a reader would question.

One function per notebook; each takes what the notebook has in hand (its tables, or the
products folder) and returns the Markdown display of :func:`redshift1.notebook.show_result`.
The papers' numbers come from :data:`redshift1.validation.paper.PAPER_VALUES` (comparison
only); nothing here feeds back into the pipeline.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from astropy.table import Table

from .notebook import show_result
from .validation.paper import PAPER_NUMBERS, PAPER_VALUES

#: The papers' quoted uncertainty or range of every row (validation.paper)
PAPER_LO = {p.key: p.paper_lo for p in PAPER_NUMBERS}
PAPER_HI = {p.key: p.paper_hi for p in PAPER_NUMBERS}

__all__ = ["observe_result", "psf_result", "spectra_result", "sizes_result", "size_check_sentence",
           "main_sequence_result", "resolved_ms_result", "metallicity_result", "reduce_result", "detect_result",
           "redshifts_result", "completeness_sentence", "lf_sfrd_result", "explore_result", "validation_result",
           "validation_explanations", "notes_table"]


def _fmt(v, fmt: str = "{:.2f}") -> str:
    """A number for the Result table ("—" when missing)."""
    if v is None:
        return "—"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f):
        return "—"
    return fmt.format(f)


def _paper(key: str, fmt: str = "{:.2f}") -> str:
    return _fmt(PAPER_VALUES.get(key), fmt)


def _fits(products) -> dict:
    """``kross_fits.json`` of a run, with JSON nulls (NaN written out) back as NaN."""
    path = Path(products) / "kross_fits.json"
    d = json.loads(path.read_text()) if path.is_file() else {}
    return {k: (np.nan if v is None else v) for k, v in d.items()}


def _slope(d: dict, name: str) -> str:
    """"0.50 (+0.41/−0.39)" of a fit summary in kross_fits.json."""
    s = d.get(f"{name}_slope")
    if s is None or not np.isfinite(s):
        return "no fit"
    lo, hi = d.get(f"{name}_slope_lo", np.nan), d.get(f"{name}_slope_hi", np.nan)
    return f"{s:.2f} (+{hi - s:.2f}/−{s - lo:.2f})" if np.isfinite(lo) and np.isfinite(hi) else f"{s:.2f}"


# ------------------------------------------------------------------------------ 00
def observe_result(manifest: dict):
    """Notebook 00: the size of the mock survey against the papers' surveys."""
    k = manifest["summary"].get("kmos", {})
    r = manifest["summary"].get("ldss3", {})
    tg = r.get("n_targets", {})
    rows = [("KMOS galaxies (targets)", _fmt(k.get("n_galaxies"), "{:.0f}"), _paper("kross.n_targets", "{:.0f}")),
            ("KMOS pointings / PSF stars", f"{k.get('n_pointings', '—')} / {k.get('n_psf_stars', '—')}", "—"),
            ("galaxies with HST morphology", _fmt(k.get("n_hst"), "{:.0f}"), _paper("kross.n_hst", "{:.0f}")),
            ("LDSS3 masks", _fmt(r.get("n_masks"), "{:.0f}"), _paper("roles.n_masks", "{:.0f}")),
            ("ROLES targets, CDFS", _fmt(tg.get("CDFS"), "{:.0f}"), _paper("roles.n_targets_cdfs", "{:.0f}")),
            ("ROLES targets, FIRES", _fmt(tg.get("FIRES"), "{:.0f}"), _paper("roles.n_targets_fires", "{:.0f}"))]
    frac = k.get("n_galaxies", 0) / PAPER_VALUES["kross.n_targets"]
    notes = [f"The `{manifest.get('preset', '?')}` survey holds {frac:.0%} of KROSS's targets and "
             f"{r.get('n_masks', 0)} of ROLES's {PAPER_VALUES['roles.n_masks']:.0f} masks: counts and densities "
             "later in the walk scale with the survey, while sizes, ratios and slopes should land near the papers' "
             "(within errors that grow as the sample shrinks).",
             f"{manifest['n_files']} files, {manifest['bytes'] / 1e6:.0f} MB, written under `data/` "
             "(the truth apart, in `truth/`)."]
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 01
def psf_result(psf: Table, per_spec: Table):
    """Notebook 01: PSF HWHM and ellipticity per spectrograph against KROSS §2/§3.2."""
    ok = psf[np.asarray(psf["status"]) == "ok"]
    h = np.asarray(ok["hwhm"], float)
    rows = [("PSF stars measured", f"{len(ok)} of {len(psf)}", "—"),
            ("PSF HWHM, mean [arcsec]", _fmt(np.mean(h) if h.size else np.nan), _paper("kross.psf_hwhm_mean")),
            ("PSF HWHM, range [arcsec]", f"{_fmt(np.min(h) if h.size else np.nan)}–{_fmt(np.max(h) if h.size else np.nan)}",
             f"{_paper('kross.psf_hwhm_min')}–{_paper('kross.psf_hwhm_max')}")]
    for r in per_spec:
        key = "kross.psf_ell_12" if int(r["spectrograph"]) in (1, 2) else "kross.psf_ell_3"
        paper = f"{PAPER_LO[key]:g}–{PAPER_HI[key]:g}"
        rows.append((f"ellipticity, spectrograph {r['spectrograph']}", _fmt(r["ellipticity_mean"]), paper))
    notes = []
    if h.size and np.mean(h) > PAPER_VALUES["kross.psf_hwhm_mean"] + 0.03:
        notes.append(f"The mean HWHM ({np.mean(h):.2f}″) is above KROSS's mean ({PAPER_VALUES['kross.psf_hwhm_mean']:g}″) but inside its range: the "
                     "mock draws each pointing's seeing around KROSS's mean, within KROSS's range, and with "
                     f"{len(set(np.asarray(psf['pointing']).tolist()))} pointing(s) the mean is that of one or a few "
                     "nights.")
    if len(ok) < len(psf):
        notes.append(f"{len(psf) - len(ok)} star(s) failed (reasons in `kmos_psf.ecsv`, column `status`); their "
                     "galaxies take the spectrograph's average PSF.")
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 02
def spectra_result(counts: Table):
    """Notebook 02: detection counts (from :func:`redshift1.kmos.spectra.detection_counts`)."""
    c = dict(zip(counts["quantity"], counts["compendium"]))
    p = dict(zip(counts["quantity"], counts["paper"]))
    labels = {"targets": "targets", "halpha_detected": "Hα detected (S/N > 3)", "halpha_undetected": "Hα undetected",
              "nii_detected": "[NII]6583 detected", "nii_near_sky_line": "[NII] lost near a sky line",
              "nii_upper_limit": "[NII] 5σ upper limits"}
    rows = [(labels.get(q, q), str(c[q]), str(p[q])) for q in c]
    fh = c["halpha_detected"] / max(c["targets"], 1)
    fn = c["nii_detected"] / max(c["halpha_detected"], 1)
    notes = [f"Hα is found in {fh:.0%} of the targets (KROSS {p['halpha_detected'] / p['targets']:.0%}) and [NII] in "
             f"{fn:.0%} of those (KROSS {p['nii_detected'] / p['halpha_detected']:.0%}). The fractions, not the counts, "
             "compare with the paper: the survey is a subset of KROSS's size."]
    if fn > p["nii_detected"] / p["halpha_detected"] + 0.15:
        notes.append("The [NII] detection rate is well above KROSS's: read it against the paper preset (the README's "
                     "table) rather than here, where a few galaxies set it.")
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 03
def size_check_sentence(sizes: Table, extrapolation: str):
    """The two cross-checks of notebook 03 in words, with the run's median ratios and why the
    profile fit comes out smaller for large discs."""
    from IPython.display import Markdown
    from .plots.kross_spectra import size_check_ratios

    ratios = size_check_ratios(sizes)
    cen, n_cen = ratios["r_half_centroid_arcsec"]
    mod, n_mod = ratios["r_half_model_arcsec"]
    ok = (np.asarray(sizes["status"]) == "ok")
    r = np.asarray(sizes["r_half_arcsec"], float)
    g = np.asarray(sizes["r_half_model_arcsec"], float)
    m = ok & np.isfinite(r) & np.isfinite(g) & (r > 0)
    text = [f"**Light centroid instead of dynamical centre:** median ratio {cen:.3f} over {n_cen} galaxies — "
            + ("no offset: the centre hardly matters." if abs(cen - 1) < 0.05 else
               f"an offset of {cen - 1:+.0%}: the light and dynamical centres differ in this sample.")]
    if np.isfinite(mod):
        line = f"**2D Gaussian profile fit:** median ratio {mod:.3f} over {n_mod} galaxies"
        if abs(mod - 1) < 0.05:
            line += " — no offset."
        else:
            if m.sum() >= 4:
                small = m & (r <= np.median(r[m]))
                big = m & (r > np.median(r[m]))
                line += (f" ({np.median(g[small] / r[small]):.2f} for the smaller half of the discs, "
                         f"{np.median(g[big] / r[big]):.2f} for the larger half)")
            line += (". This offset is expected, not a failure: the galaxies are exponential discs, and a Gaussian "
                     "fitted to a disc's bright core falls off faster than the disc's wings, so its r½ is too small — "
                     "the more so the more of the disc lies beyond the 2.8″ field (on a noiseless seeing-convolved "
                     "exponential disc the Gaussian's r½ is 0.99 of the true one for a 0.2″ scale length and 0.81 for "
                     "0.8″). The walk's r½ does not use the Gaussian: it comes from the curve of growth, whose total is "
                     f"set by `extrapolation = \"{extrapolation}\"`.")
        text.append(line)
    return Markdown("\n\n".join(text))


def _kinematics_sentence(sizes: Table, meas) -> str:
    """Where the inclinations came from and how many galaxies' kinematics the data leave open."""
    src = np.asarray(sizes["axis_ratio_source"]).astype(str)[meas] if "axis_ratio_source" in sizes.colnames else []
    n_src = {k: int(np.sum(src == k)) for k in sorted(set(src)) if k}
    flags = np.asarray(sizes["flags"]).astype(str)[meas] if "flags" in sizes.colnames else []
    n_open = int(sum("kinematics_unconstrained" in f for f in flags))
    names = {"given": "HST (given)", "halpha_disc_model": "Hα disc model's"}
    where = ", ".join(f"{n} from the {names.get(k, k)} axis ratio" for k, n in n_src.items()) or "none from an axis ratio"
    return (f"A seeing-smeared velocity field of a small disc constrains only v_max·sin i, so the inclination comes "
            f"from the morphology ({where}; intrinsic thickness q0 as the parameter says) and v_max is fitted at it; "
            f"{n_open} of {int(np.sum(meas))} measured galaxies carry `kinematics_unconstrained` and report no v_max.")


def sizes_result(sizes: Table, extrapolation: str):
    """Notebook 03: resolved fraction and intrinsic sizes against KROSS §3.2."""
    st = np.asarray(sizes["status"])
    meas = st == "ok"
    res = meas & np.asarray(sizes["resolved"], bool)
    kpc = np.asarray(sizes["r_half_corr_kpc"], float)[res]
    err = np.asarray(sizes["r_half_corr_err_kpc"], float)[res]
    rf = np.asarray(sizes["recovered_fraction"], float)[meas]
    n_res_p, n_unres_p = PAPER_VALUES["kross.n_resolved"], PAPER_VALUES["kross.n_unresolved"]
    rows = [("resolved / unresolved", f"{res.sum()} / {(meas & ~res).sum()}", f"{n_res_p:.0f} / {n_unres_p:.0f}"),
            ("resolved fraction of the measured", _fmt(res.sum() / max(meas.sum(), 1)),
             _fmt(n_res_p / (n_res_p + n_unres_p))),
            ("median intrinsic r′½ [kpc]", _fmt(np.median(kpc) if kpc.size else np.nan, "{:.1f}"),
             _paper("kross.median_r_half", "{:.1f}")),
            ("mean intrinsic r′½ [kpc]", _fmt(np.mean(kpc) if kpc.size else np.nan, "{:.1f}"),
             _paper("kross.mean_r_half", "{:.1f}")),
            ("median fractional r′½ error", _fmt(np.nanmedian(err / kpc) if kpc.size else np.nan),
             _paper("kross.r_half_rel_err")),
            ("median flux fraction inside the IFU", _fmt(np.nanmedian(rf) if rf.size else np.nan), "> 0.9")]
    notes = [f"Flux beyond the 2.8″ field comes from `extrapolation = \"{extrapolation}\"`; "
             f"{np.mean(rf < 0.9):.0%} of the measured galaxies keep less than 90% of their light inside the IFU.",
             _kinematics_sentence(sizes, meas)]
    if (meas & ~res).sum() == 0 and meas.sum():
        expect = meas.sum() * n_unres_p / (n_res_p + n_unres_p)
        notes.append(f"No galaxy is unresolved here; KROSS's rate ({n_unres_p / (n_res_p + n_unres_p):.0%}) predicts "
                     f"{expect:.1f} among {meas.sum()}, and none occurs with Poisson probability {np.exp(-expect):.0%}.")
    if meas.sum() < len(sizes):
        notes.append(f"{len(sizes) - meas.sum()} target(s) have no size; the reason is in the `status` column.")
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 04–06
def main_sequence_result(products):
    """Notebook 04: SFR distribution and the MS against KROSS §3.1 (from ``kross_fits.json``)."""
    d = _fits(products)
    rows = [("Hα detected", f"{d.get('sfr_n_halpha', '—')} of {d.get('sfr_n_targets', '—')}",
             f"{PAPER_VALUES['kross.n_halpha']:.0f} of {PAPER_VALUES['kross.n_targets']:.0f}"),
            ("median SFR(Hα) [M☉/yr]", _fmt(d.get("sfr_median_sfr"), "{:.1f}"), _paper("kross.median_sfr", "{:.1f}")),
            ("SFR range [M☉/yr]", f"{_fmt(d.get('sfr_min_sfr'))}–{_fmt(d.get('sfr_max_sfr'), '{:.0f}')}",
             f"{_paper('kross.min_sfr')}–{_paper('kross.max_sfr', '{:.0f}')}"),
            ("within ±0.3 dex of the MS", _fmt(d.get("sfr_fraction_within_ms_band"), "{:.0%}"), "—")]
    notes = []
    med = d.get("sfr_median_sfr", np.nan)
    if np.isfinite(med) and med > 1.5 * PAPER_VALUES["kross.median_sfr"]:
        notes.append(f"The median SFR ({med:.0f} M☉/yr) is above KROSS's 7 M☉/yr: this sample lies "
                     f"{d.get('sfr_median_log_delta_ssfr', np.nan):+.2f} dex above the sequence (median Δ(sSFR)) and "
                     f"{d.get('sfr_n_halpha', 0)} galaxies sample a distribution spanning three decades only coarsely; "
                     "the SFR range is narrower for the same reason.")
    return show_result(rows, notes)


def resolved_ms_result(products):
    """Notebook 05: resolved MS and ΣSFR–Δ(sSFR) against KROSS §4.1–4.2 (``kross_fits.json``)."""
    d = _fits(products)
    rows = [("resolved MS slope (emcee)", _slope(d, "resolved_ms"), _paper("kross.resolved_ms_slope")),
            ("resolved MS scatter [dex]", _fmt(d.get("resolved_ms_scatter")), _paper("kross.resolved_ms_scatter")),
            ("ΣSFR–Δ(sSFR) slope (emcee)", _slope(d, "sigma_delta"), _paper("kross.sigma_delta_slope")),
            ("Spearman p", _fmt(d.get("spearman_p"), "{:.1e}"), _paper("kross.spearman_p", "{:.0e}")),
            ("mean r′½ of starbursts [kpc]",
             f"{_fmt(d.get('size_starburst_kpc'), '{:.1f}')} ± {_fmt(d.get('size_starburst_err_kpc'), '{:.1f}')}", "4.2 ± 0.5"),
            ("mean r′½ of MS galaxies [kpc]",
             f"{_fmt(d.get('size_ms_kpc'), '{:.1f}')} ± {_fmt(d.get('size_ms_err_kpc'), '{:.1f}')}", "5.2 ± 0.3")]
    n_ms = d.get("resolved_ms_n_points", 0)
    notes = []
    if n_ms and n_ms < 30:
        notes.append(f"The resolved main sequence rests on {n_ms} galaxies with HST morphology (KROSS: "
                     f"{PAPER_VALUES['kross.n_hst']:.0f}); its slope is uncertain by "
                     f"±{0.5 * (d.get('resolved_ms_slope_hi', np.nan) - d.get('resolved_ms_slope_lo', np.nan)):.2f} "
                     f"and an offset from {PAPER_VALUES['kross.resolved_ms_slope']:g} of that size is noise, not a "
                     "disagreement.")
    p = d.get("spearman_p", np.nan)
    if np.isfinite(p) and p > 1e-10:
        notes.append(f"Spearman's p ({p:.1e}) is far larger than KROSS's {PAPER_VALUES['kross.spearman_p']:.0e} mainly "
                     f"because p falls steeply with sample size: {d.get('spearman_n', 0)} galaxies here against "
                     f"KROSS's {PAPER_VALUES['kross.n_halpha']:.0f}.")
    return show_result(rows, notes)


def metallicity_result(products):
    """Notebook 06: [NII] classes, mean metallicity and the Z–Δ(sSFR) slope against KROSS §3.3, §4.3."""
    d = _fits(products)
    rows = [("[NII] detected / near sky / upper limits",
             f"{d.get('n_detected', '—')} / {d.get('n_near_sky_line', '—')} / {d.get('n_upper_limit', '—')}",
             f"{PAPER_VALUES['kross.n_nii']:.0f} / {PAPER_VALUES['kross.n_nii_near_sky']:.0f} / "
             f"{PAPER_VALUES['kross.n_nii_upper_limit']:.0f}"),
            ("mean 12+log(O/H)", f"{_fmt(d.get('mean_oh'))} ± {_fmt(d.get('mean_oh_err'))}", f"{PAPER_VALUES['kross.mean_oh']:g} ± {PAPER_HI['kross.mean_oh'] - PAPER_VALUES['kross.mean_oh']:.2f}"),
            ("Z–Δ(sSFR) slope (emcee, limits censored)", _slope(d, "oh_delta"), _paper("kross.oh_delta_slope")),
            ("Z–Δ(sSFR) slope (least squares, detections)", _slope(d, "oh_delta_ols"), _paper("kross.oh_delta_slope"))]
    n_pts = d.get("oh_delta_n_points", 0)
    lo_m, hi_m = d.get("oh_mass_range", [9.5, 10.5]) if isinstance(d.get("oh_mass_range"), list) else (9.5, 10.5)
    if n_pts and np.isfinite(n_pts):
        notes = [f"The slope is fitted on {n_pts:.0f} galaxies with {lo_m:g} < log M★ < {hi_m:g} (KROSS: a few "
                 "hundred); its interval, not its value, is what a sample this size can test against KROSS's −0.32."]
    else:
        notes = [f"Too few galaxies with {lo_m:g} < log M★ < {hi_m:g} for a fit on this survey."]
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 07–10
def reduce_result(slits: Table, exposures: Table):
    """Notebook 07: what the reduction produced."""
    st = np.asarray(slits["status"])
    masks = sorted(set(np.asarray(slits["mask"]).tolist()))
    per_mask = [int((np.asarray(slits["mask"]) == m).sum()) for m in masks]
    rows = [("masks reduced", str(len(masks)), _paper("roles.n_masks", "{:.0f}")),
            ("slits per mask (median)", _fmt(np.median(per_mask), "{:.0f}"), f"~{_paper('roles.slits_per_mask', '{:.0f}')}"),
            ("slits reduced ok", f"{(st == 'ok').sum()} of {len(slits)}", "—"),
            ("largest flexure shift [px]", _fmt(np.nanmax(np.abs(np.r_[exposures["flex_dx"], exposures["flex_dy"]])),
                                                 "{:.2f}"), "—")]
    notes = ["Every slit that did not reduce keeps its row with the reason in `status`."]
    if np.median(per_mask) < 0.5 * PAPER_VALUES["roles.slits_per_mask"]:
        notes.append(f"The mock's masks carry {np.median(per_mask):.0f} slits, fewer than ROLES's ~200: each preset "
                     "sets the slit rows of its masks (`redshift1.mock.roles.ROLES_PRESETS`), few on the small presets "
                     "so that the walk runs in minutes.")
    return show_result(rows, notes)


def detect_result(summary: dict):
    """Notebook 08: detections, reliability and flux repeatability (``res.summary``)."""
    f = summary.get("fields", {})
    rows = []
    for fld, key in (("CDFS", "roles.n_detected_cdfs"), ("FIRES", "roles.n_detected_fires")):
        if fld in f:
            rows.append((f"{fld}: targets with a line / targets", f"{f[fld]['objects_with_lines']} / {f[fld]['unique_targets']}",
                         f"{PAPER_VALUES[key]:.0f} / {PAPER_VALUES[key.replace('detected', 'targets')]:.0f}"))
    rep = summary.get("repeats", {})
    ml = summary.get("multiline", {})
    rows += [("objects on repeated slits (lines tested)", str(rep.get("detections_tested", 0)),
              _paper("roles.n_repeats", "{:.0f}")),
             ("irreproducible lines below 4σ", _fmt(rep.get("frac_not_reproduced_below_adopt"), "{:.0%}"),
              _paper("roles.frac_irreproducible_below_4sigma", "{:.0%}")),
             ("spurious multi-line lines below 4σ", _fmt(ml.get("frac_spurious_below_adopt"), "{:.0%}"), "—"),
             ("repeat flux pull width", _fmt(rep.get("flux_pull_width")), _paper("roles.flux_pull_width"))]
    notes = []
    if rep.get("detections_tested", 0) == 0:
        notes.append("No object of this survey has slits on two masks (each field has one mask here), so the "
                     "repeat tests of ROLES Figs. 5 and 10 have nothing to measure and their figures say so; "
                     "the multi-line test of Fig. 6 stands in for them.")
    return show_result(rows, notes)


def completeness_sentence(comp: Table, n_masks: dict | None = None) -> str:
    """Why the spectroscopic completeness W is what it is: summed PDFs with slits over all, per field."""
    out = []
    for fld in sorted(set(np.asarray(comp["field"]).tolist())):
        r = comp[(np.asarray(comp["field"]) == fld) & (np.asarray(comp["bin"]) == "all")]
        if not len(r):
            continue
        r = r[0]
        paper = PAPER_VALUES.get(f"roles.completeness_{fld.lower()}")
        s = (f"{fld}: W = {r['W']:.2f} — the galaxies on slits carry {r['N_slit']:.1f} of the "
             f"{r['N_phot']:.0f} galaxies' worth of summed PDF that the K-selected photometric catalogue "
             f"({r['n_phot']} galaxies, 22.5 < K ≤ 24) puts inside the [OII] window; {r['n_slit']} of them have slits")
        if n_masks and fld in n_masks:
            s += f" on {n_masks[fld]} mask(s)"
        if paper is not None:
            s += f" (ROLES: {paper:.2f} with its full set of masks)"
        out.append(s + ".")
    low = np.asarray(comp["W"], float)[np.asarray(comp["bin"]) == "all"]
    if low.size and np.nanmax(low) < 0.3:
        out.append("W is small because this survey keeps the whole photometric catalogue of each field but observes "
                   "only a handful of masks: most K-selected galaxies in the window never got a slit. That is not a "
                   "loss of accuracy — each detected galaxy is weighted by 1/W in notebook 10, so the luminosity "
                   "function and SFR density stay unbiased, only noisier (the paper preset's 18 masks bring W close "
                   "to ROLES's).")
    return "\n\n".join(out)


def redshifts_result(counts: Table, comp: Table, n_masks: dict | None = None):
    """Notebook 09: P([OII]) classes and completeness against ROLES §2.5, §3.3."""
    rows = []
    for r in counts:
        rows.append((f"{r['field']}: detected / P=1 / 0<P<1 / P=0", f"{r['detected']} / {r['P=1']} / {r['0<P<1']} / {r['P=0']}",
                     "—"))
    for fld in ("CDFS", "FIRES"):
        s = comp[(np.asarray(comp["field"]) == fld) & (np.asarray(comp["bin"]) == "all")]
        if len(s):
            rows.append((f"completeness W, {fld}", _fmt(s["W"][0]), _paper(f"roles.completeness_{fld.lower()}")))
    return show_result(rows, [completeness_sentence(comp, n_masks)])


def lf_sfrd_result(summary: dict, comparison: Table | None = None):
    """Notebook 10: faint-end slope and SFR density against ROLES §4 (``res.summary``)."""
    fe = summary.get("faint_end", {}).get("both_fields", {})
    n = summary.get("n_in_sample", {})
    vol = summary.get("window_volume_Mpc3", {})
    rows = [("galaxies in the LF sample (CDFS / FIRES)", f"{n.get('CDFS', 0)} / {n.get('FIRES', 0)}", "—"),
            ("[OII] window volume [Mpc³]", _fmt(vol.get("total"), "{:.3g}"), _paper("roles.volume", "{:.3g}")),
            ("faint-end slope α (both fields)", f"{_fmt(fe.get('alpha'))} ± {_fmt(fe.get('alpha_err'))}",
             _paper("roles.lf_alpha", "{:.1f}"))]
    notes = []
    per_field = ", ".join(f"{f}: {v.get('n_bins', 0)} bins" for f, v in summary.get("faint_end", {}).items()
                          if f != "both_fields")
    if np.isfinite(fe.get("alpha_err", np.nan)) and fe.get("alpha_err", 0) > 0.3:
        notes.append(f"With {sum(n.values())} galaxies over {fe.get('n_bins', 0)} luminosity bins, α is uncertain by "
                     f"±{fe['alpha_err']:.2f}: {abs(fe['alpha'] - PAPER_VALUES['roles.lf_alpha']) / fe['alpha_err']:.1f}σ "
                     f"from ROLES's {PAPER_VALUES['roles.lf_alpha']:g}." + (f" The per-field slopes ({per_field}) rest on too few bins to mean much."
                                               if per_field else ""))
    if comparison is not None and {"rho_sfr", "paper_rho_sfr"} <= set(comparison.colnames):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.asarray(comparison["rho_sfr"], float) / np.asarray(comparison["paper_rho_sfr"], float)
        r = r[np.isfinite(r) & (r > 0)]
        if r.size:
            note = (f"The SFR density per mass bin is {np.median(r):.2f}× ROLES Table 2 (median over {r.size} bins, "
                    f"range {r.min():.2f}–{r.max():.2f}).")
            if comparison is not None and "n_gal" in comparison.colnames and np.nanmedian(comparison["n_gal"]) < 10:
                note += (f" Each bin holds {np.nanmedian(comparison['n_gal']):.0f} galaxies (median), each weighted by "
                         "1/(V_max W), so one galaxy more or less moves a bin by a large factor and its Poisson "
                         "interval, not the ratio, is the comparison; notebook 12 checks the same bins against the "
                         "mock's own truth, which is what this survey can test.")
            notes.append(note)
    return show_result(rows, notes)


# ------------------------------------------------------------------------------ 11–12
def explore_result(walk_numbers: dict, now: dict):
    """Notebook 11: whether the explorer, left at the walk's choices, reproduces the walk."""
    keys = [k for k in walk_numbers if isinstance(walk_numbers[k], (int, float)) and isinstance(now.get(k), (int, float))]
    same = [k for k in keys if (np.isnan(walk_numbers[k]) and np.isnan(now[k])) or np.isclose(walk_numbers[k], now[k])]
    rows = [("summary numbers unchanged after every callback", f"{len(same)} of {len(keys)}", "—")]
    shown = {"resolved_ms_slope": ("resolved MS slope (short emcee chain)", "kross.resolved_ms_slope"),
             "sigma_delta_slope": ("ΣSFR–Δ(sSFR) slope (short emcee chain)", "kross.sigma_delta_slope"),
             "z_delta_slope": ("Z–Δ(sSFR) slope (short emcee chain)", "kross.oh_delta_slope"),
             "roles_alpha": ("[OII] LF faint-end slope α", "roles.lf_alpha")}
    for k, (label, paper) in shown.items():
        if k in now:
            rows.append((label, _fmt(now[k]), _paper(paper)))
    notes = ["Calling every control's callback once with its current value must leave the numbers where the walk "
             "put them; a difference would mean a control's callback changes more than its own choice. The emcee "
             "slopes here come from the explorer's short chains (notebooks 05–06 hold the full-length ones)."]
    return show_result(rows, notes)


#: why a recovery row a reader would question looks as it does (notebook 12)
_EXPLAIN = {
    "PSF fwhm": ("the FWHM is recovered to {bias:+.4f}″ — negligible — but a bright star's fit quotes formal errors "
                 "of ~10⁻⁴″ (photon noise only), so even this tiny systematic gives pulls of {pull_median:+.1f}; the "
                 "PSF's real uncertainty is the seeing variation the size errors include."),
    "inclination": ("the inclination comes from the axis ratio (HST's, else the Hα disc model's), not from the "
                    "velocity field, which constrains only v_max·sin i; it is recovered to {bias:+.1f}° over {n} "
                    "galaxies (no pull: its error is the axis ratio's, not the table's)."),
    "v_max": ("v_max, fitted at that inclination with a beam-smeared disc, comes out {bias:.2f}× the truth over {n} "
              "galaxies; galaxies whose inclination or v_max the data leave open are flagged and left out."),
    "kinematic PA": "the PA scatters by {scatter:.0f}° about the truth; it only orients the apertures.",
    "intrinsic r′½": ("the r′½ pulls are narrow ({pull_width:.2f}): the error budget adds a 20% seeing variation "
                      "(`seeing_variation`) and the spread between centres and aperture shapes, while the mock has one "
                      "PSF per spectrograph shared exactly by stars and galaxies — the errors are conservative."),
    "log Σ★": "only {n} galaxies: the pull width of {pull_width:.2f} is not a measurement.",
    "line flux": ("LDSS3 line fluxes come out {bias:.2f}× the injected ones with pulls {pull_width:.2f} wide; the "
                  "quoted error adds pixel noise, the blank-sky box scatter, the aperture loss and the per-mask "
                  "calibration (notebook 08), and the pull width says how well that budget holds."),
    "[OII] LF φ": ("the LF ratio ({bias:.2f}) is a median over {n} bins holding a few galaxies each; the pulls "
                   "({pull_width:.2f}) show the Poisson intervals cover it."),
}


def validation_explanations(recovery: Table, pull_range=(0.7, 1.4), pull_median_max: float = 2.0) -> list[str]:
    """Sentences for the rows of the recovery table a reader would question: a pull width
    outside ``pull_range``, a pull median beyond ``pull_median_max``, or a nuisance parameter."""
    out = []
    for r in recovery:
        q = str(r["quantity"])
        vals = {c: (float(r[c]) if np.isfinite(float(r[c])) else np.nan)
                for c in ("bias", "scatter", "pull_median", "pull_width") if c in recovery.colnames}
        vals["n"] = int(r["n"])
        odd = ((np.isfinite(vals.get("pull_width", np.nan)) and not pull_range[0] <= vals["pull_width"] <= pull_range[1])
               or (np.isfinite(vals.get("pull_median", np.nan)) and abs(vals["pull_median"]) > pull_median_max)
               or q in ("inclination", "v_max"))
        if odd and q in _EXPLAIN:
            out.append(f"*{r['survey']} {q}*: " + _EXPLAIN[q].format(**vals))
    return out


def validation_result(recovery: Table, slopes: Table, paper_table: Table):
    """Notebook 12: how many quantities and slopes are recovered, and the paper table in one line."""
    pw = np.asarray(recovery["pull_width"], float)
    have = np.isfinite(pw)
    good = have & (pw > 0.7) & (pw < 1.4)
    prim = slopes[np.asarray(slopes["primary"], bool)] if len(slopes) else slopes
    within = int(np.sum(np.asarray(prim["within_2sigma"], bool))) if len(prim) else 0
    comp = np.asarray(paper_table["compendium"], float)
    n_rows = len(paper_table)
    agrees = int(np.sum(np.asarray(paper_table["agrees"], bool)))
    agrees_truth = int(np.sum(np.asarray(paper_table["agrees_truth"], bool)))
    rows = [("quantities with pull width 0.7–1.4", f"{good.sum()} of {have.sum()}", "—"),
            ("slopes within 2σ of their reference", f"{within} of {len(prim)}", "—"),
            ("paper numbers whose interval overlaps the paper's", f"{agrees} of {n_rows}", "—"),
            ("paper numbers whose interval contains the truth", f"{agrees_truth} of {n_rows}", "—")]
    notes = validation_explanations(recovery)
    q = np.asarray(paper_table["quantity"]).astype(str)
    w = comp[np.char.startswith(q, "spectroscopic completeness")]
    if w.size and np.nanmax(w) < 0.3:
        notes.append(f"*Completeness W* ({', '.join(f'{v:.2f}' for v in w if np.isfinite(v))} against ROLES's "
                     f"{PAPER_VALUES['roles.completeness_cdfs']:g}/{PAPER_VALUES['roles.completeness_fires']:g}): "
                     "this survey keeps each field's whole photometric catalogue but observes it with only a few masks, "
                     "so few K-selected galaxies in the window got slits; W matches the true targeted fraction (the "
                     "recovery table's `completeness W` row), and the 1/W weights keep the LF and SFR density unbiased.")
    preset = paper_table.meta.get("preset", "")
    if preset != "paper":
        notes.append(f"On the `{preset}` preset counts and densities scale with the survey and are not expected to "
                     "match the paper; the `paper` preset is the one the README's table shows.")
    return show_result(rows, notes)


def notes_table(notes: dict) -> Table:
    """The definitions of the paper-vs-compendium rows as a table, rows sharing one definition
    grouped (``roles.sfrd.*``: one line for the eleven SFR-density rows)."""
    groups: dict[str, list[str]] = {}
    for key, note in notes.items():
        groups.setdefault(str(note), []).append(str(key))
    rows = []
    for note, keys in groups.items():
        parts = [k.split(".") for k in keys]
        common = []
        for level in zip(*parts):
            if len(set(level)) > 1:
                break
            common.append(level[0])
        label = f"{'.'.join(common)}.* ({len(keys)} rows)" if len(keys) > 2 and common else ", ".join(keys)
        rows.append((label, note))
    return Table(rows=rows, names=("rows", "how the compendium and truth values are defined"), dtype=(str, str))
