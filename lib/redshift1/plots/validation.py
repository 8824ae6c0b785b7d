"""Figures of notebook 12 (injection–recovery and the paper-vs-compendium table).

One function per figure, each returning a matplotlib Figure; inputs are the objects of
:mod:`redshift1.validation` (``Matched`` pairs, completeness curves, comparison tables).
"""
from __future__ import annotations

import math

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table
from matplotlib.ticker import NullFormatter

__all__ = ["plot_truth_vs_measured", "plot_pulls", "plot_line_recovery", "plot_roles_recovery", "plot_slopes",
           "plot_paper_ratios"]

C_MEAS = "C0"
C_TRUTH = "k"
C_PAPER = "0.55"


def _grid(n, ncols, size=(3.1, 2.9)):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _small_axis_labels(ax, xlabel: str, ylabel: str, fontsize: float):
    """Axis labels at ``fontsize`` and 7-point tick labels (the small panels of a grid)."""
    ax.set_xlabel(xlabel, fontsize=fontsize)
    ax.set_ylabel(ylabel, fontsize=fontsize)
    ax.tick_params(labelsize=7)


def _finish(fig, title: str = ""):
    """The grid's overall title (if any) and a tight layout; returns ``fig``."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_truth_vs_measured(matched, stats=None, ncols: int = 4, title: str = ""):
    """Measured against true value for every quantity (1:1 line; bias and pull width in the corner).

    Parameters
    ----------
    matched : list of redshift1.validation.core.Matched
        The matched quantities (those with no value are skipped).
    stats : dict, optional
        Statistics shown in every panel (default each quantity's own ``stats()``).
    ncols : int, optional
        Panels per row.
    title : str, optional
        Overall title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    matched = [m for m in matched if m.true.size]
    fig, axes = _grid(len(matched), ncols)
    for ax, m in zip(axes, matched):
        t, v = m.true, m.measured
        ok = np.isfinite(t) & np.isfinite(v)
        if m.log_axes:
            ok &= (t > 0) & (v > 0)
        if m.error is not None:
            sides = [m.error, m.error if m.error_hi is None else m.error_hi]
            yerr = np.array([np.where(np.isfinite(e[ok]), e[ok], 0) for e in sides])
            ax.errorbar(t[ok], v[ok], yerr=yerr, fmt="o", ms=2.5,
                        lw=0.5, color=C_MEAS, alpha=0.6, ecolor="0.7")
        else:
            ax.plot(t[ok], v[ok], "o", ms=2.5, color=C_MEAS, alpha=0.6)
        if ok.any():
            lo = np.nanmin(np.r_[t[ok], v[ok]])
            hi = np.nanmax(np.r_[t[ok], v[ok]])
            pad = (hi / lo) ** 0.05 if m.log_axes and lo > 0 else 0.05 * (hi - lo + 1e-12)
            lims = (lo / pad, hi * pad) if m.log_axes and lo > 0 else (lo - pad, hi + pad)
            ax.plot(lims, lims, color=C_TRUTH, lw=0.8)
            ax.set(xlim=lims, ylim=lims)
        if m.log_axes:
            ax.set(xscale="log", yscale="log")
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_minor_formatter(NullFormatter())
        s = m.stats() if stats is None else stats
        b = s["bias"]
        btxt = {"ratio": f"median ratio {b:.3f}", "difference": f"median Δ {b:.3g}", "log": f"median Δ {b:.3f} dex"}
        txt = [f"n = {s['n']}", btxt[m.kind] if np.isfinite(b) else "bias —"]
        if np.isfinite(s["pull_width"]):
            txt.append(f"pull width {s['pull_width']:.2f}")
        ax.text(0.03, 0.97, "\n".join(txt), transform=ax.transAxes, va="top", fontsize=7,
                bbox=dict(fc="w", ec="none", alpha=0.8))
        ax.set_title(f"{m.quantity}\n({m.sample})", fontsize=8)
        _small_axis_labels(ax, "true" + (f" [{m.unit}]" if m.unit else ""), "measured", 8)
    return _finish(fig, title)


def plot_pulls(matched, ncols: int = 5, title: str = ""):
    """Histograms of (measured − true)/error with the unit Gaussian (quantities with errors).

    Parameters
    ----------
    matched : list of redshift1.validation.core.Matched
        The matched quantities (those without errors or with fewer than 3 pulls are skipped).
    ncols : int, optional
        Panels per row.
    title : str, optional
        Overall title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    use = []
    for m in matched:
        if m.error is None:
            continue
        err = m.pull_error()
        ok = np.isfinite(m.true) & np.isfinite(m.measured) & np.isfinite(err) & (err > 0)
        if ok.sum() >= 3:
            use.append((m, (m.measured[ok] - m.true[ok]) / err[ok]))
    fig, axes = _grid(len(use), ncols, (2.8, 2.4))
    x = np.linspace(-5, 5, 200)
    for ax, (m, p) in zip(axes, use):
        pc = np.clip(p, -5, 5)
        ax.hist(pc, bins=np.linspace(-5, 5, 21), density=True, color=C_MEAS, alpha=0.6)
        ax.plot(x, np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi), color=C_TRUTH, lw=0.8)
        s = m.stats()
        ax.set_title(f"{m.quantity} ({m.survey})", fontsize=8)
        ax.text(0.03, 0.97, f"n={p.size}\nmed {s['pull_median']:+.2f}\nwidth {s['pull_width']:.2f}",
                transform=ax.transAxes, va="top", fontsize=7)
        _small_axis_labels(ax, "pull (clipped at ±5)", "probability density", 7)
    return _finish(fig, title)


def _curve(ax, c, label, color="C0", logx=True):
    x = np.asarray(c["centre"], float)
    f = np.asarray(c["fraction"], float)
    ok = np.isfinite(f)
    ax.errorbar(x[ok], f[ok], yerr=[f[ok] - np.asarray(c["fraction_lo"])[ok], np.asarray(c["fraction_hi"])[ok] - f[ok]],
                fmt="o-", ms=3, color=color, label=label)
    if logx:
        ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.axhline(0.5, color="0.7", lw=0.7, ls=":")


def plot_line_recovery(lc: dict, flux=None, wave=None, adopt_sigma: float = 4.0):
    """LDSS3 line detection: completeness against injected flux and expected S/N, measured vs
    injected flux, and the wavelength offsets of the matched lines.

    Parameters
    ----------
    lc : dict
        :func:`~redshift1.validation.roles.line_completeness` result (``vs_flux``, ``vs_snr``,
        ``flux50``, counts).
    flux : redshift1.validation.core.Matched, optional
        Matched line fluxes.
    wave : redshift1.validation.core.Matched, optional
        Matched line wavelengths.
    adopt_sigma : float, optional
        Adoption threshold drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.4))
    _curve(ax[0], lc["vs_flux"], "adopted detections")
    if np.isfinite(lc.get("flux50", np.nan)):
        ax[0].axvline(lc["flux50"], color="C3", lw=0.8, label=f"50 %: {lc['flux50']:.2g}")
    ax[0].set(xlabel="injected line flux [erg s⁻¹ cm⁻²]", ylabel="fraction recovered",
              title=f"{lc['n_recovered']} of {lc['n_injected']} injected lines (7040–8010 Å)")
    ax[0].legend(fontsize=7)
    _curve(ax[1], lc["vs_snr"], "adopted detections", "C2")
    ax[1].axvline(adopt_sigma, color="0.5", lw=0.8, ls="--", label=f"{adopt_sigma:g}σ threshold")
    ax[1].set(xlabel="expected matched-filter S/N (mock)", ylabel="fraction recovered", title="against expected S/N")
    ax[1].legend(fontsize=7)
    if flux is not None and flux.true.size:
        t, v, e = flux.true, flux.measured, flux.error
        ok = (t > 0) & np.isfinite(v)
        ax[2].errorbar(t[ok], np.clip(v[ok], t[ok].min() / 3, None), yerr=e[ok], fmt="o", ms=2.5, lw=0.5,
                       color=C_MEAS, ecolor="0.7", alpha=0.7)
        lims = (t[ok].min() / 1.5, t[ok].max() * 1.5)
        ax[2].plot(lims, lims, color=C_TRUTH, lw=0.8)
        ax[2].set(xscale="log", yscale="log", xlim=lims, ylim=lims, xlabel="injected flux", ylabel="measured flux",
                  title="line flux (adopted, matched)")
        s = flux.stats()
        ax[2].text(0.03, 0.97, f"median ratio {s['bias']:.2f}\npull width {s['pull_width']:.2f}",
                   transform=ax[2].transAxes, va="top", fontsize=7)
    if wave is not None and wave.true.size:
        d = wave.measured - wave.true
        d = d[np.isfinite(d)]
        ax[3].hist(np.clip(d, -10, 10), bins=np.linspace(-10, 10, 41), color=C_MEAS, alpha=0.7)
        s = wave.stats()
        ax[3].set(xlabel="λ_measured − λ_injected [Å]", ylabel="lines",
                  title=f"wavelength: median {s['bias']:+.2f} Å, σ {s['scatter']:.2f} Å")
    fig.tight_layout()
    return fig


def plot_roles_recovery(poii_cal: Table, comp: Table, lf: Table, sfrd: Table, zmatch=None):
    """P([OII]) calibration, z([OII]) recovery, completeness, LF and SFRD against the truth.

    Parameters
    ----------
    poii_cal : astropy.table.Table
        P([OII]) calibration per bin (``mean_p``, ``fraction_truly_oii``, ``n``).
    comp : astropy.table.Table
        Completeness with ``W`` and ``W_true``.
    lf : astropy.table.Table
        LF with the truth's beside.
    sfrd : astropy.table.Table
        SFRD with the truth's beside.
    zmatch : redshift1.validation.core.Matched, optional
        Matched [OII] redshifts (panel hidden without it).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(2, 3, figsize=(14, 7.6))
    a = ax[0, 0]
    ok = np.asarray(poii_cal["n"]) > 0
    a.plot([0, 1], [0, 1], color=C_TRUTH, lw=0.8)
    a.scatter(np.asarray(poii_cal["mean_p"])[ok], np.asarray(poii_cal["fraction_truly_oii"])[ok],
              s=10 + 3 * np.sqrt(np.asarray(poii_cal["n"])[ok]) * 3, color=C_MEAS)
    for r in poii_cal[ok]:
        a.annotate(f"{r['p_class']} (n={r['n']})", (r["mean_p"], r["fraction_truly_oii"]), fontsize=7,
                   xytext=(4, -10), textcoords="offset points")
    a.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel="mean P([OII]) of the class",
          ylabel="fraction truly [OII]", title="P([OII]) calibration (detected targets)")
    a = ax[0, 1]
    if zmatch is not None and zmatch.true.size:
        dz = (zmatch.measured - zmatch.true) / (1 + zmatch.true)
        a.plot(zmatch.true, dz * 1e4, "o", ms=3, color=C_MEAS)
        a.axhline(0, color=C_TRUTH, lw=0.8)
        a.set(xlabel="true z", ylabel="(z([OII]) − z_true)/(1+z) [10⁻⁴]",
              title=f"[OII] redshifts: σ = {1e4 * np.nanstd(dz):.1f}×10⁻⁴ (n={dz.size})")
    else:
        a.set_visible(False)
    a = ax[0, 2]
    for k, f in enumerate(sorted(set(np.asarray(comp["field"]).tolist()))):
        s = (np.asarray(comp["field"]) == f) & (np.asarray(comp["bin"]) != "all")
        x = 0.5 * (np.asarray(comp["K_lo"], float)[s] + np.asarray(comp["K_hi"], float)[s])
        a.plot(x, np.asarray(comp["W"])[s], "o-", color=f"C{k}", label=f"{f} measured (photo-z)")
        a.plot(x, np.asarray(comp["W_true"])[s], "s--", mfc="none", color=f"C{k}", label=f"{f} true")
    w = np.r_[np.asarray(comp["W"], float), np.asarray(comp["W_true"], float)]
    top = float(np.nanmax(w)) if np.isfinite(w).any() else 1.0
    a.set(xlabel="K (AB) [mag]", ylabel="completeness W", title="spectroscopic completeness",
          ylim=(0, 1.05 if top > 0.5 else max(0.05, 1.3 * top)))
    a.legend(fontsize=7)
    a = ax[1, 0]
    for k, f in enumerate(sorted(set(np.asarray(lf["field"]).tolist()))):
        s = np.asarray(lf["field"]) == f
        x = np.asarray(lf["logl"], float)[s]
        phi, lo, hi = (np.asarray(lf[c], float)[s] for c in ("phi", "phi_lo", "phi_hi"))
        ok = phi > 0
        a.errorbar(x[ok] + 0.02 * k, phi[ok], yerr=[phi[ok] - lo[ok], np.nan_to_num(hi[ok] - phi[ok])], fmt="o",
                   ms=3, color=f"C{k}", label=f"{f} measured")
        t = np.asarray(lf["phi_true"], float)[s]
        a.step(x, np.where(t > 0, t, np.nan), where="mid", color=f"C{k}", lw=1, label=f"{f} truth (K-selected)")
    a.set(yscale="log", xlabel="log L[OII] [erg/s]", ylabel="φ [Mpc⁻³ dex⁻¹]", title="[OII] luminosity function")
    a.legend(fontsize=7)
    for a, est in ((ax[1, 1], "nominal"), (ax[1, 2], "g10")):
        s = np.asarray(sfrd["sfr_estimator"]) == est
        t = sfrd[s]
        for k, f in enumerate(sorted(set(np.asarray(t["field"]).tolist()))):
            u = np.asarray(t["field"]) == f
            x = 0.5 * (np.asarray(t["logm_lo"], float)[u] + np.asarray(t["logm_hi"], float)[u])
            xe = 0.5 * (np.asarray(t["logm_hi"], float)[u] - np.asarray(t["logm_lo"], float)[u])
            r, lo, hi = (np.asarray(t[c], float)[u] * 1e3 for c in ("rho_sfr", "rho_sfr_lo", "rho_sfr_hi"))
            ok = r > 0
            a.errorbar(x[ok], r[ok], xerr=xe[ok], yerr=[r[ok] - lo[ok], np.nan_to_num(hi[ok] - r[ok])], fmt="o",
                       ms=3, color=f"C{k}", label=f"{f} measured")
            a.plot(x, np.asarray(t["rho_true"], float)[u] * 1e3, "s", mfc="none", color=f"C{k}", ms=7,
                   label=f"{f} truth (estimator on true values)")
            a.plot(x + 0.03, np.asarray(t["rho_true_all"], float)[u] * 1e3, "v", mfc="none", color=f"C{k}", ms=5,
                   label=f"{f} true SFR, all K")
        a.set(yscale="log", xlabel="log M★ [M☉]", ylabel="ρ_SFR [10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹]",
              title=f"SFR density ({'nominal eq. 9' if est == 'nominal' else 'G10-corrected'})")
        a.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_slopes(slopes: Table):
    """Recovered slopes with 68 % intervals against the injected value or the truth-sample fit,
    one row (with its own x range) per comparison.

    Parameters
    ----------
    slopes : astropy.table.Table
        :func:`~redshift1.validation.core.slope_table` result.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    n = len(slopes)
    fig, axes = plt.subplots(n, 1, figsize=(8.5, 0.62 * n + 1.0), squeeze=False)
    for ax, r in zip(axes[:, 0], slopes):
        col = "C0" if r["within_2sigma"] else "C3"
        ax.errorbar([r["measured"]], [0.15], xerr=[[r["measured"] - r["measured_lo"]], [r["measured_hi"] - r["measured"]]],
                    fmt="o", color=col, capsize=3, ms=5)
        if np.isfinite(r["reference_lo"]):
            ax.plot([r["reference_lo"], r["reference_hi"]], [-0.15] * 2, color="0.5", lw=4, alpha=0.5)
        ax.plot([r["reference"]], [-0.15], "D" if r["reference_kind"] == "injected" else "s", color="k", ms=5)
        vals = [r[c] for c in ("measured", "measured_lo", "measured_hi", "reference", "reference_lo", "reference_hi")]
        vals = [v for v in vals if np.isfinite(v)]
        lo, hi = min(vals), max(vals)
        pad = 0.15 * (hi - lo) if hi > lo else 0.1
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
        primary = bool(r["primary"]) if "primary" in slopes.colnames else True
        ax.text(-0.02, 0.5, f"{r['name']}\nvs {r['reference_kind']} (n={r['n_points']})"
                + ("" if primary else " — for information"), transform=ax.transAxes, ha="right", va="center",
                fontsize=8, color="k" if primary else "0.45")
        ax.text(1.02, 0.5, f"{r['n_sigma']:+.1f}σ", transform=ax.transAxes, va="center", fontsize=9, color=col)
    axes[0, 0].set_title("Recovered (circle, 68 % interval) vs reference (◆ injected, ■ truth-sample fit and its "
                         "68 % interval); red: > 2σ", fontsize=9)
    fig.tight_layout()
    return fig


def plot_paper_ratios(table: Table):
    """Compendium/paper and truth/paper for every row of the paper-vs-compendium table, with
    their 95 % intervals (bars), the paper's quoted uncertainty (grey band per row) and the
    verdicts: a filled marker where the compendium agrees with the paper, open where not.

    Parameters
    ----------
    table : astropy.table.Table
        The paper-vs-compendium table (``paper``, ``compendium``, ``truth``, their intervals
        and verdicts).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    n = len(table)
    fig, ax = plt.subplots(figsize=(11, 0.22 * n + 1.9))
    y = np.arange(n)[::-1]
    paper = np.asarray(table["paper"], float)
    have = set(table.colnames)

    def ratio(name):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(table[name], float) / paper if name in have else np.full(n, np.nan)

    clip = lambda v: np.clip(v, 1e-2, 1e2)   # noqa: E731
    plo, phi = ratio("paper_lo"), ratio("paper_hi")
    lo_p, hi_p = np.fmin(plo, phi), np.fmax(plo, phi)      # a negative paper value flips its interval
    for yi, a, b in zip(y, lo_p, hi_p):
        if np.isfinite(a) and np.isfinite(b) and a > 0 and b > a:
            ax.fill_betweenx([yi - 0.35, yi + 0.35], clip(a), clip(b), color="0.85", lw=0)
    agrees = np.asarray(table["agrees"], bool) if "agrees" in have else np.ones(n, bool)
    for name, off, color, marker, label in (("compendium", 0.12, "C0", "o", "compendium / paper"),
                                            ("truth", -0.12, "k", "x", "truth / paper")):
        r, rl, rh = ratio(name), ratio(f"{name}_lo"), ratio(f"{name}_hi")
        lo, hi = np.fmin(rl, rh), np.fmax(rl, rh)
        ok = np.isfinite(r) & (r > 0)
        bars = ok & np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        ax.hlines(y[bars] + off, clip(lo[bars]), clip(hi[bars]), color=color, lw=1.0, alpha=0.7)
        if name == "compendium":
            ax.plot(clip(r[ok & agrees]), y[ok & agrees] + off, marker, color=color, ms=4,
                    label=f"{label} (agrees with the paper)")
            ax.plot(clip(r[ok & ~agrees]), y[ok & ~agrees] + off, marker, color=color, ms=4, mfc="none",
                    label=f"{label} (does not agree)")
        else:
            ax.plot(clip(r[ok]), y[ok] + off, marker, color=color, ms=5, label=label)
    ax.axvline(1, color=C_PAPER, lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(8e-3, 1.25e2)
    ax.set_yticks(y)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_yticklabels([str(q)[:70] for q in table["quantity"]], fontsize=7)
    ax.set_xlabel("ratio to the paper's value (bars: 95% intervals; grey: the paper's quoted uncertainty;\n"
                  "negative ratios not shown; clipped at 0.01 and 100)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    summary = table.meta.get("summary", "")
    ax.set_title(f"Paper vs compendium ({table.meta.get('preset', '')} preset)" + (f"\n{summary}" if summary else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_poii_reliability(rel: Table):
    """Reliability diagram of P([OII]): fraction of detections truly [OII] against the mean P per
    bin (binomial errors, point area ∝ number), the diagonal and its ±0.05 band.

    Parameters
    ----------
    rel : astropy.table.Table
        Per-bin ``mean_p``, ``fraction_truly_oii`` (with its interval) and ``n``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.fill_between([0, 1], [-0.05, 0.95], [0.05, 1.05], color="0.85", label="±0.05 of the diagonal")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ok = np.asarray(rel["n"]) > 0
    x = np.asarray(rel["mean_p"], float)[ok]
    y = np.asarray(rel["fraction_truly_oii"], float)[ok]
    e = np.asarray(rel["fraction_err"], float)[ok]
    n = np.asarray(rel["n"])[ok]
    ax.errorbar(x, y, yerr=e, fmt="none", ecolor="k", elinewidth=0.8)
    ax.scatter(x, y, s=8 + 4 * np.sqrt(n), color="C0", zorder=3, label="detected ROLES targets")
    for xi, yi, ni in zip(x, y, n):
        ax.annotate(f"{ni}", (xi, yi), textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.08), xlabel="mean P([OII]) in the bin",
           ylabel="fraction truly [OII]", title="P([OII]) reliability (mock truth)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
