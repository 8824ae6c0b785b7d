"""The explorer: ipywidgets controls, their callbacks, and the five live figures.

Every control is one analysis choice of the walk (:data:`CONTROLS`); every figure
(:data:`PANELS`) declares which controls it depends on (:data:`DEPENDS`). A callback
recomputes what the changed choice touches — intermediate tables and fits are memoised
on their inputs, so e.g. changing the Z–Δ mass range refits only Z–Δ — redraws only the
figures that depend on it (matplotlib → PNG → ``ipywidgets.Image``) and refreshes the
summary numbers.

Speed: sliders report on release (``continuous_update=False``), so one gesture is one
update. The emcee regressions run a short chain: 24 walkers × 200 steps, the first half
discarded (2400 samples), and one pass of the shared-error refinement instead of the
notebooks' two. On the paper preset its slopes land within half a 1σ error of notebooks
05–06's 32 × 2000 chains (resolved MS 0.69 vs 0.68, ΣSFR–Δ 1.08 vs 1.05, Z–Δ −0.302 vs
−0.298), with similar 68% intervals; the notebooks keep the long chains for the record,
and ``nwalkers``/``nsteps`` are parameters. The live figures are
drawn at 72 dpi with fixed margins and a coarser KDE grid for the density contours.
``benchmarks/bench_explore.py`` times every update.
"""
from __future__ import annotations

import hashlib
import io
import time
import traceback
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from functools import partial
from html import escape
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import MaskedColumn, Table

from ..errors import ParameterError
from ..plots import kross_science as kplots
from ..plots import roles as rplots
from ..plots import figure_paths, save_figure
from ..science.mainsequence import MS_PRESCRIPTIONS
from ..validation.paper import ROLES_TABLE2
from . import kross as K
from . import roles as R
from .state import ExploreData, load_products

__all__ = ["CONTROLS", "PANELS", "DEPENDS", "Choices", "Explorer", "build_explorer", "parse_edges",
           "plot_sfrd_panel"]

#: the controls, in display order: name -> (analysis choice, paper section)
CONTROLS = {
    "snr_halpha_min": "S/N threshold of an Hα detection (KROSS §2: 3)",
    "snr_nii_min": "S/N threshold of an [NII]6583 detection (KROSS §3.3: 3)",
    "resolved_factor": "resolved criterion r½ > k·PSF HWHM (KROSS §3.2: k = 1)",
    "psf_correction": "PSF correction r′½ = √(r½² − HWHM²) on/off (KROSS §3.2: on)",
    "ms_prescription": "main-sequence prescription of Δ(sSFR) (KROSS: Speagle+14)",
    "delta_edges": "Δ(sSFR) bin edges of the bin means (KROSS Figs. 3–4)",
    "z_mass_range": "log M★ range of the Z–Δ(sSFR) trend (KROSS §4.3: 9.5–10.5)",
    "regression": "regression: least squares (limits dropped) or emcee with censored limits",
    "detect_sigma": "significance threshold of an [OII] line (ROLES §2.4: 4σ)",
    "p_clamps": "P([OII]) clamps: below → 0, above → 1 (ROLES §2.5: 0.1, 0.9)",
    "cdfs_mass_bins": "log M★ bin edges of the CDFS SFR density (ROLES Table 2)",
    "fires_mass_bins": "log M★ bin edges of the FIRES SFR density (ROLES Table 2)",
    "sfr_estimator": "[OII]-SFR estimator: nominal eq. 9 or G10 mass-dependent (ROLES §4.2)",
}

#: the first this many controls act on KROSS, the rest on ROLES
_N_KROSS_CONTROLS = 8

#: the figures and the controls each depends on
DEPENDS = {
    "resolved_ms": {"snr_halpha_min", "resolved_factor", "psf_correction", "regression"},
    "sigma_delta": {"snr_halpha_min", "resolved_factor", "psf_correction", "ms_prescription", "delta_edges",
                    "regression"},
    "z_delta": {"snr_halpha_min", "snr_nii_min", "ms_prescription", "z_mass_range", "delta_edges", "regression"},
    "lf": {"detect_sigma", "p_clamps"},
    "sfrd": {"detect_sigma", "p_clamps", "cdfs_mass_bins", "fires_mass_bins", "sfr_estimator"},
}
PANELS = tuple(DEPENDS)
PANEL_TITLES = {"resolved_ms": "KROSS: resolved main sequence", "sigma_delta": "KROSS: ΣSFR – Δ(sSFR)",
                "z_delta": "KROSS: Z – Δ(sSFR)", "lf": "ROLES: [OII] luminosity function",
                "sfrd": "ROLES: SFR density per mass bin"}
MS_LABELS = {"speagle14": "Speagle+14", "whitaker12": "Whitaker+12"}


def parse_edges(text, name: str = "edges", positive: bool = False) -> tuple:
    """``"0.1, 0.5, 1"`` (or a sequence) -> strictly increasing floats; ParameterError otherwise."""
    if isinstance(text, str):
        parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
        try:
            vals = tuple(float(p) for p in parts)
        except ValueError:
            raise ParameterError(f"{name}: {text!r} is not a list of numbers (e.g. 0.1, 0.5, 1, 2, 10)") from None
    else:
        vals = tuple(float(v) for v in text)
    if len(vals) < 2:
        raise ParameterError(f"{name}: need at least two edges, got {len(vals)}")
    if not all(np.isfinite(vals)) or any(b <= a for a, b in zip(vals[:-1], vals[1:])):
        raise ParameterError(f"{name}: edges must be finite and strictly increasing, got {vals}")
    if positive and vals[0] <= 0:
        raise ParameterError(f"{name}: Δ(sSFR) edges are linear ratios and must be > 0, got {vals[0]}")
    return vals


def _fmt_edges(vals) -> str:
    return ", ".join(f"{v:g}" for v in vals)


@dataclass(frozen=True)
class Choices:
    """One value of every control (:data:`CONTROLS`)."""

    snr_halpha_min: float = 3.0
    snr_nii_min: float = 3.0
    resolved_factor: float = 1.0
    psf_correction: bool = True
    ms_prescription: str = "speagle14"
    delta_edges: tuple = (0.1, 0.5, 1.0, 2.0, 10.0)
    z_mass_range: tuple = (9.5, 10.5)
    regression: str = "emcee"
    detect_sigma: float = 4.0
    p_clamps: tuple = (0.1, 0.9)
    cdfs_mass_bins: tuple = (8.5, 8.9, 9.1, 9.3, 9.5)
    fires_mass_bins: tuple = (8.5, 9.2, 9.5, 9.8)
    sfr_estimator: str = "nominal"

    @classmethod
    def from_walk(cls, walk) -> "Choices":
        """The walk's own choices (read from the products by :func:`load_products`)."""
        return cls(snr_halpha_min=walk.snr_halpha_min, snr_nii_min=walk.snr_nii_min,
                   ms_prescription=walk.ms_prescription, delta_edges=tuple(walk.delta_edges),
                   z_mass_range=tuple(walk.z_mass_range), detect_sigma=walk.detect_sigma,
                   p_clamps=tuple(walk.p_clamps), cdfs_mass_bins=tuple(walk.mass_bins["CDFS"]),
                   fires_mass_bins=tuple(walk.mass_bins["FIRES"]))

    def validated(self) -> "Choices":
        if self.regression not in ("ols", "emcee"):
            raise ParameterError(f"regression must be 'ols' or 'emcee', not {self.regression!r}")
        if self.ms_prescription not in MS_PRESCRIPTIONS:
            raise ParameterError(f"ms_prescription must be one of {sorted(MS_PRESCRIPTIONS)}")
        if self.sfr_estimator not in R.SFR_ESTIMATORS:
            raise ParameterError(f"sfr_estimator must be one of {R.SFR_ESTIMATORS}")
        lo, hi = self.p_clamps
        if not 0 <= lo <= hi <= 1:
            raise ParameterError(f"P([OII]) clamps must satisfy 0 ≤ low ≤ high ≤ 1, got {self.p_clamps}")
        if self.psf_correction and self.resolved_factor < 1:
            raise ParameterError("with the PSF correction the resolved criterion needs k ≥ 1")
        return replace(self, delta_edges=parse_edges(self.delta_edges, "Δ(sSFR) bins", positive=True),
                       cdfs_mass_bins=parse_edges(self.cdfs_mass_bins, "CDFS mass bins"),
                       fires_mass_bins=parse_edges(self.fires_mass_bins, "FIRES mass bins"),
                       z_mass_range=tuple(float(v) for v in self.z_mass_range),
                       p_clamps=(float(lo), float(hi)))


def plot_sfrd_panel(sfrd: Table, estimator: str = "nominal", paper=ROLES_TABLE2, tight: bool = True) -> plt.Figure:
    """ROLES Fig. 15, one panel: ρ_SFR per mass bin for the chosen [OII]-SFR estimator
    (grey crosses: ROLES Table 2, nominal SFRs, for comparison)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    style = {"CDFS": ("o", "k", "k", "CDFS"), "FIRES": ("s", "none", "k", "FIRES"),
             "HIGHMASS": ("D", "none", "C0", "higher-mass sample")}
    fld = np.asarray(sfrd["field"]).astype(str)
    for f, (fmt, mfc, col, label) in style.items():
        rplots._sfrd_points(ax, sfrd[fld == f], fmt, label, mfc, col)
    if estimator == "nominal" and paper is not None:
        rplots.paper_table2_points(ax, paper)
    title = "[OII] SFR (eq. 9)" if estimator == "nominal" else "[OII] SFR / G10 mass-dependent correction"
    ax.set(xlabel="log M* [M☉]", ylabel="ρ_SFR [M☉ yr⁻¹ Mpc⁻³ dex⁻¹]", title=title, yscale="log",
           xlim=(8.3, 11.5))
    ax.legend(fontsize=7, loc="lower left")
    if tight:
        fig.tight_layout()
    else:
        fig.subplots_adjust(**_MARGINS)
    return fig


def _digest(table: Table, columns, extra=()) -> str:
    """A content hash of some columns of a table (and of ``extra``)."""
    h = hashlib.blake2b(digest_size=16)
    for c in columns:
        col = table[c]
        arr = col.filled(np.nan if col.dtype.kind == "f" else 0) if isinstance(col, MaskedColumn) else col
        arr = np.asarray(arr)
        if arr.dtype.kind in "OUS":
            h.update("\x1f".join(map(str, arr.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    h.update(repr(extra).encode())
    return h.hexdigest()


#: fixed margins of the explorer's own one-panel figures (no tight_layout pass: speed)
_MARGINS = dict(left=0.12, right=0.975, bottom=0.115, top=0.93)


@contextmanager
def _live_drawing(gridsize: int, dpi: int):
    """Settings of the live figures, for speed.

    Figures are created at the PNG's dpi (so the text laid out by ``tight_layout`` is
    reused when the PNG is drawn), and density contours use a ``gridsize``² KDE grid
    instead of seaborn's 200² (the notebooks' own figures keep the default; at screen
    resolution the contours look the same, at a fraction of the cost).
    """
    original = kplots._density
    kplots._density = partial(original, gridsize=gridsize)
    try:
        with plt.rc_context({"figure.dpi": dpi}):
            yield
    finally:
        kplots._density = original


def _limits_to_points(ax, table: Table, xcol: str, ycol: str, pad: float = 0.4):
    """Axis limits around the plotted values (a few galaxies have error bars of many dex:
    barely resolved sizes, whose PSF-corrected radius is uncertain by more than itself)."""
    x = np.asarray(table[xcol], float)
    y = np.asarray(table[ycol], float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() >= 2:
        ax.set_xlim(x[ok].min() - pad, x[ok].max() + pad)
        ax.set_ylim(y[ok].min() - pad, y[ok].max() + pad)


def _fit_text(fit) -> str:
    if fit is None:
        return "no fit (too few galaxies)"
    return (f"{fit.slope.median:+.2f} ± {fit.slope.err:.2f} (scatter {fit.scatter.median:.2f}; "
            f"n = {fit.n_points}" + (f", {fit.n_upper + fit.n_lower} limits" if fit.n_upper + fit.n_lower else "")
            + ")")


class Explorer:
    """The widgets, their callbacks and the figures of notebook 11.

    Parameters
    ----------
    data : ExploreData
        From :func:`~redshift1.explore.state.load_products`.
    choices : Choices, optional
        Starting values (default: the walk's own choices).
    nwalkers, nsteps, burn, seed : int
        The emcee chain of the live regressions (see the module docstring); ``burn``
        defaults to half the steps.
    min_fit_points : int
        Fewer galaxies than this: no fit (as in notebooks 05–06).
    dpi : int
        Resolution of the live figures.
    kde_gridsize : int
        KDE grid of the density contours of the live figures.
    raise_errors : bool
        Re-raise errors in callbacks (tests) instead of showing them under the controls.

    Attributes
    ----------
    controls : dict of ipywidgets
        One per :data:`CONTROLS` entry, keyed by name; set ``.value`` to change a choice.
    images : dict of ipywidgets.Image
        The PNG of every panel of :data:`PANELS`.
    figures : dict of matplotlib Figure
        The last figure drawn for each panel (closed; for inspection).
    results : dict
        The numbers behind the figures (fits, counts, tables) of the last update.
    timings : list of dict
        ``{"control", "seconds", "panels"}`` of every update.
    """

    def __init__(self, data: ExploreData, choices: Choices | None = None, *, nwalkers: int = 24, nsteps: int = 200,
                 burn: int | None = None, seed: int = 42, min_fit_points: int = 5, dpi: int = 72,
                 kde_gridsize: int = 40,
                 ms_band_dex: float = 0.3, raise_errors: bool = False, cache_size: int = 64):
        import ipywidgets as widgets

        self._w = widgets
        self.data = data
        self.walk_choices = Choices.from_walk(data.walk)
        self.emcee_kw = dict(nwalkers=nwalkers, nsteps=nsteps, burn=nsteps // 2 if burn is None else burn,
                             seed=seed, iterations=1)
        self.min_fit_points = min_fit_points
        self.dpi = dpi
        self.kde_gridsize = kde_gridsize
        self.ms_band_dex = ms_band_dex
        self.raise_errors = raise_errors
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0
        self.figures: dict = {}
        self.results: dict = {}
        self.timings: list = []
        self.last_error: BaseException | None = None
        self._batch = False
        self.controls = self._make_controls((choices or self.walk_choices).validated())
        self.images = {p: widgets.Image(format="png", layout=widgets.Layout(width="100%", height="auto"))
                       for p in PANELS}
        for p, img in self.images.items():
            img.add_class("r1-panel")
            img.add_class(f"r1-panel-{p}")
        self.summary = widgets.HTML()
        self.summary.add_class("r1-summary")
        self.status = widgets.HTML()
        self.status.add_class("r1-status")
        self.callbacks = {}
        for name, w in self.controls.items():
            cb = partial(self._on_change, name)
            w.observe(cb, names="value")
            self.callbacks[name] = cb
        self._widget = None
        self.update(None)

    # ------------------------------------------------------------------ controls
    def _make_controls(self, ch: Choices) -> dict:
        w = self._w
        style = {"description_width": "initial"}
        lay = w.Layout(width="430px")
        walk = self.data.walk
        c = {
            "snr_halpha_min": w.FloatSlider(value=ch.snr_halpha_min, min=1.0, max=10.0, step=0.5,
                                            description="S/N(Hα) detection >", continuous_update=False,
                                            style=style, layout=lay),
            "snr_nii_min": w.FloatSlider(value=ch.snr_nii_min, min=1.0, max=10.0, step=0.5,
                                         description="S/N([NII]) detection >", continuous_update=False,
                                         style=style, layout=lay),
            "resolved_factor": w.FloatSlider(value=ch.resolved_factor, min=1.0, max=2.5, step=0.1,
                                             description="resolved: r½ > k × PSF HWHM, k =",
                                             continuous_update=False, style=style, layout=lay),
            "psf_correction": w.Checkbox(value=ch.psf_correction,
                                         description="PSF correction r′½ = √(r½² − HWHM²)",
                                         indent=False, style=style, layout=lay),
            "ms_prescription": w.Dropdown(options=[(MS_LABELS.get(k, k), k) for k in MS_PRESCRIPTIONS],
                                          value=ch.ms_prescription, description="main sequence",
                                          style=style, layout=lay),
            "delta_edges": w.Text(value=_fmt_edges(ch.delta_edges), description="Δ(sSFR) bin edges",
                                  continuous_update=False, style=style, layout=lay),
            "z_mass_range": w.FloatRangeSlider(value=tuple(ch.z_mass_range), min=8.5, max=11.5, step=0.1,
                                               description="log M★ of the Z–Δ trend", continuous_update=False,
                                               style=style, layout=lay),
            "regression": w.ToggleButtons(options=[("least squares", "ols"), ("emcee, censored", "emcee")],
                                          value=ch.regression, description="regression",
                                          style={"description_width": "initial", "button_width": "150px"}),
            "detect_sigma": w.FloatSlider(value=ch.detect_sigma, min=walk.raw_sigma, max=8.0, step=0.25,
                                          description="[OII] detection σ ≥", continuous_update=False,
                                          style=style, layout=lay),
            "p_clamps": w.FloatRangeSlider(value=tuple(ch.p_clamps), min=0.0, max=1.0, step=0.05,
                                           description="P([OII]) clamps: → 0 below, → 1 above",
                                           continuous_update=False, style=style, layout=lay),
            "cdfs_mass_bins": w.Text(value=_fmt_edges(ch.cdfs_mass_bins), description="CDFS log M★ bins",
                                     continuous_update=False, style=style, layout=lay),
            "fires_mass_bins": w.Text(value=_fmt_edges(ch.fires_mass_bins), description="FIRES log M★ bins",
                                      continuous_update=False, style=style, layout=lay),
            "sfr_estimator": w.Dropdown(options=[("nominal (eq. 9)", "nominal"), ("G10 mass-dependent", "g10")],
                                        value=ch.sfr_estimator, description="[OII] SFR estimator",
                                        style=style, layout=lay),
        }
        for i, (name, widget) in enumerate(c.items()):
            widget.add_class(f"r1-{name.replace('_', '-')}")
            widget.tooltip = CONTROLS[name]
            half = "kross" if i < _N_KROSS_CONTROLS else "roles"
            widget.disabled = half in self.data.missing   # nothing to act on: shown, greyed out
        return c

    def choices(self) -> Choices:
        """The current control values as a validated :class:`Choices` (ParameterError if invalid)."""
        v = {name: w.value for name, w in self.controls.items()}
        return Choices(**v).validated()

    def set_choices(self, choices: Choices) -> float:
        """Set every control at once (one update); returns its seconds."""
        self._batch = True
        try:
            for f in fields(Choices):
                val = getattr(choices, f.name)
                if f.name in ("delta_edges", "cdfs_mass_bins", "fires_mass_bins"):
                    val = _fmt_edges(parse_edges(val))
                self.controls[f.name].value = tuple(val) if isinstance(val, list) else val
        finally:
            self._batch = False
        return self.update(None)

    def reset(self, *_):
        """Back to the walk's own choices."""
        return self.set_choices(self.walk_choices)

    # ------------------------------------------------------------------ callbacks
    def _on_change(self, name: str, change=None):
        """The callback of control ``name`` (registered with ``observe``)."""
        if self._batch:
            return None
        return self.update(name)

    def update(self, changed: str | None = None) -> float:
        """Recompute for the current choices; redraw the panels that depend on ``changed``
        (all of them when None). Returns the seconds it took."""
        t0 = time.perf_counter()
        panels = PANELS if changed is None else tuple(p for p in PANELS if changed in DEPENDS[p])
        try:
            ch = self.choices()
            self.results = self.compute(ch)
            for p in panels:
                self._render(p, ch)
            self.summary.value = self._summary_html(ch)
            self.last_error = None
        except Exception as err:      # shown under the controls; the figures keep their last state
            self.last_error = err
            msg = str(err) if isinstance(err, ParameterError) else f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:#b00'>not updated: {escape(msg)}</span>"
            self.timings.append({"control": changed or "all", "seconds": time.perf_counter() - t0,
                                 "panels": (), "error": msg})
            if self.raise_errors:
                raise
            if not isinstance(err, ParameterError):
                traceback.print_exc()
            return np.nan
        dt = time.perf_counter() - t0
        self.timings.append({"control": changed or "all", "seconds": dt, "panels": panels, "error": ""})
        what = "all figures" if changed is None else (", ".join(PANEL_TITLES[p].split(": ")[1] for p in panels)
                                                       or "numbers only")
        self.status.value = (f"<span class='r1-timing'>updated ({changed or 'start'} → {escape(what)}) "
                             f"in {dt:.2f} s</span>")
        return dt

    # ------------------------------------------------------------------ computation
    def _memo(self, key, fn):
        if key in self._cache:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return self._cache[key]
        self.cache_misses += 1
        value = fn()
        self._cache[key] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def _fit(self, name: str, table: Table, method: str, z_mass_range=None):
        extra = (method, self.min_fit_points, tuple(sorted(self.emcee_kw.items())) if method == "emcee" else (),
                 tuple(z_mass_range) if name == "z_delta" else ())
        key = ("fit", name, _digest(table, K.FIT_COLUMNS[name], extra))
        return self._memo(key, lambda: K.fit(name, table, method, z_mass_range or (9.5, 10.5),
                                             min_points=self.min_fit_points, **self.emcee_kw))

    def compute(self, ch: Choices) -> dict:
        """Every table, fit and number of the current choices (memoised)."""
        d = self.data
        out = {"choices": ch}
        if d.has_kross:
            out.update(self._compute_kross(ch))
        if d.has_roles:
            out.update(self._compute_roles(ch))
        return out

    def _compute_kross(self, ch: Choices) -> dict:
        d, out = self.data, {}
        sfr = self._memo(("sfr", ch.snr_halpha_min, ch.ms_prescription),
                         lambda: K.sfr_table(d, ch.snr_halpha_min, ch.ms_prescription))
        sizes = self._memo(("sizes", ch.resolved_factor, ch.psf_correction),
                           lambda: K.sizes_with_criterion(d.sizes, ch.resolved_factor, ch.psf_correction))
        rkey = ("res", ch.snr_halpha_min, ch.ms_prescription, ch.resolved_factor, ch.psf_correction)
        res = self._memo(rkey, lambda: K.resolved_table(d, sfr, sizes))
        met = self._memo(rkey + ("met", ch.snr_nii_min), lambda: K.metallicity_table(d, sfr, res, ch.snr_nii_min))
        out.update(sfr=sfr, sizes=sizes, resolved=res, metallicity=met)
        for name, table in (("resolved_ms", res), ("sigma_delta", res), ("z_delta", met)):
            zr = ch.z_mass_range if name == "z_delta" else None
            out[f"fit_{name}"] = self._fit(name, table, ch.regression, zr)
            out[f"ols_{name}"] = self._fit(name, table, "ols", zr) if ch.regression == "emcee" else None
        out["sigma_delta_stats"] = self._memo(rkey + ("sdstats", ch.delta_edges),
                                              lambda: K.sigma_delta_stats(res, ch.delta_edges))
        out["z_delta_bins"] = self._memo(rkey + ("zbins", ch.snr_nii_min, ch.z_mass_range, ch.delta_edges),
                                         lambda: K.z_delta_bins(met, ch.z_mass_range, ch.delta_edges))
        out["kross"] = self._memo(rkey + ("numbers", ch.snr_nii_min),
                                  lambda: K.kross_numbers(sfr, res, met, self.ms_band_dex))
        return out

    def _compute_roles(self, ch: Choices) -> dict:
        d, out = self.data, {}
        gal0 = self._memo(("gal", ch.detect_sigma), lambda: R.galaxies(d, ch.detect_sigma))
        skey = ("sample", ch.detect_sigma, ch.p_clamps)
        gal = self._memo(skey, lambda: R.sample(gal0, *ch.p_clamps))
        lf, slopes = self._memo(skey + ("lf",), lambda: R.luminosity_functions(gal, d.walk.lf_edges,
                                                                               d.walk.lf_fit_range))
        bins = {**d.walk.mass_bins, "CDFS": ch.cdfs_mass_bins, "FIRES": ch.fires_mass_bins}
        hm = self._memo(("highmass", ch.sfr_estimator), lambda: R.highmass_sfrd(d, ch.sfr_estimator))
        sfrd = self._memo(skey + ("sfrd", ch.cdfs_mass_bins, ch.fires_mass_bins, ch.sfr_estimator),
                          lambda: R.sfr_density(gal, bins, ch.sfr_estimator, hm))
        out.update(galaxies=gal, lf=lf, slopes=slopes, sfrd=sfrd,
                   roles=R.roles_numbers(gal, slopes, sfrd))
        return out

    # ------------------------------------------------------------------ figures
    def figure(self, panel: str, ch: Choices | None = None) -> plt.Figure:
        """A new matplotlib figure of ``panel`` for the current results (at the live dpi)."""
        r = self.results
        ch = ch or r["choices"]
        half = "roles" if panel in ("lf", "sfrd") else "kross"
        if half in self.data.missing:
            return _absent_panel(PANEL_TITLES.get(panel, panel), self.data.missing[half], self.dpi)
        # emcee: its band and the least-squares line beside; least squares: the line alone,
        # drawn (and labelled) as the notebooks draw the papers' least squares
        if half == "roles":
            fits = {}
        elif ch.regression == "emcee":
            fits = {n: (r[f"fit_{n}"], r[f"ols_{n}"]) for n in ("resolved_ms", "sigma_delta", "z_delta")}
        else:
            fits = {n: (None, r[f"fit_{n}"]) for n in ("resolved_ms", "sigma_delta", "z_delta")}
        with _live_drawing(self.kde_gridsize, self.dpi):
            if panel == "resolved_ms":
                fig, ax = plt.subplots(figsize=(6.4, 4.6))
                kplots.plot_resolved_ms(ax, r["resolved"], *fits["resolved_ms"])
                _limits_to_points(ax, r["resolved"], "log_sigma_star", "log_sigma_sfr")
                fig.subplots_adjust(**_MARGINS)
            elif panel == "sigma_delta":
                fig, ax = plt.subplots(figsize=(6.4, 4.6))
                kplots.plot_sigma_delta(ax, r["resolved"], fits["sigma_delta"][0], r["sigma_delta_stats"]["bins"],
                                        self.ms_band_dex, fits["sigma_delta"][1])
                ax.set_title(ax.get_title() + f" ({MS_LABELS.get(ch.ms_prescription, ch.ms_prescription)})")
                fig.subplots_adjust(**_MARGINS)
            elif panel == "z_delta":
                fig = kplots.plot_metallicity_delta(r["metallicity"], fits["z_delta"][0], r["z_delta_bins"],
                                                    ch.z_mass_range[0], ch.z_mass_range[1], self.ms_band_dex,
                                                    fits["z_delta"][1])
            elif panel == "lf":
                fig = rplots.plot_lf(r["lf"], r["slopes"], self.data.walk.lf_fit_range)
                fig.axes[0].set_title(f"≥ {ch.detect_sigma:g}σ, P([OII]) clamps {ch.p_clamps[0]:g} / "
                                      f"{ch.p_clamps[1]:g}", fontsize=10)
                fig.subplots_adjust(top=0.93)
            elif panel == "sfrd":
                fig = plot_sfrd_panel(r["sfrd"], ch.sfr_estimator, tight=False)
            else:
                raise ValueError(f"unknown panel {panel!r}")
        return fig

    def _render(self, panel: str, ch: Choices):
        fig = self.figure(panel, ch)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi="figure", metadata={"Software": None}, pil_kwargs={"compress_level": 1})
        plt.close(fig)
        self.figures[panel] = fig
        self.images[panel].value = buf.getvalue()

    # ------------------------------------------------------------------ summary
    def numbers(self) -> dict:
        """The summary numbers of the current choices (flat dict)."""
        r = self.results
        out = {**{f"kross_{k}": v for k, v in r.get("kross", {}).items()},
               **{f"roles_{k}": v for k, v in r.get("roles", {}).items()}}
        if not self.data.has_kross:
            return out
        for name in ("resolved_ms", "sigma_delta", "z_delta"):
            f = r[f"fit_{name}"]
            out[f"{name}_slope"] = f.slope.median if f is not None else np.nan
            out[f"{name}_slope_err"] = f.slope.err if f is not None else np.nan
            out[f"{name}_n"] = f.n_points if f is not None else 0
        sp = r["sigma_delta_stats"]["spearman"]
        out["spearman_rho"], out["spearman_p"] = sp.rho, sp.p
        return out

    def _summary_html(self, ch: Choices) -> str:
        kw = self.emcee_kw
        meth = "least squares" if ch.regression == "ols" else f"emcee {kw['nwalkers']}×{kw['nsteps']}"

        def row(label, key, value):
            return (f"<tr><td style='padding-right:1em'>{escape(label)}</td>"
                    f"<td class='r1-val r1-val-{key}'>{escape(str(value))}</td></tr>")

        table = "<table style='font-size:90%'>{}</table>"
        kross = self._kross_rows(ch, row, meth) if self.data.has_kross else \
            [row("not shown", "kross_missing", self.data.missing["kross"])]
        roles = self._roles_rows(ch, row) if self.data.has_roles else \
            [row("not shown", "roles_missing", self.data.missing["roles"])]
        return ("<div style='display:flex;gap:3em'>"
                f"<div><b>KROSS</b>{table.format(''.join(kross))}</div>"
                f"<div><b>ROLES</b> ({escape(ch.sfr_estimator)} SFRs){table.format(''.join(roles))}</div></div>")

    def _kross_rows(self, ch: Choices, row, meth: str) -> list:
        r = self.results
        k = r["kross"]
        sp = r["sigma_delta_stats"]["spearman"]
        return [
            row("Hα detected / targets", "n_halpha", f"{k['n_halpha']} / {k['n_targets']}"),
            row("resolved / unresolved", "n_resolved", f"{k['n_resolved']} / {k['n_unresolved']}"),
            row("median r′½ [kpc]", "median_r_half", f"{k['median_r_half_kpc']:.2f}"),
            row(f"within ±{self.ms_band_dex:g} dex of the MS", "ms_band", f"{k['fraction_within_ms_band']:.0%}"),
            row(f"resolved MS slope ({meth})", "resolved_ms_slope", _fit_text(r["fit_resolved_ms"])),
            row("ΣSFR–Δ slope", "sigma_delta_slope", _fit_text(r["fit_sigma_delta"])),
            row("Spearman ρ, p (resolved)", "spearman", f"{sp.rho:.2f}, {sp.p:.1e} (n = {sp.n})"),
            row("[NII] detected / upper limits", "n_nii", f"{k['n_nii_detected']} / {k['n_nii_upper_limit']}"),
            row(f"Z–Δ slope, {ch.z_mass_range[0]:g} < log M★ < {ch.z_mass_range[1]:g}", "z_delta_slope",
                _fit_text(r["fit_z_delta"])),
        ]

    def _roles_rows(self, ch: Choices, row) -> list:
        o = self.results["roles"]
        fields_ = sorted(key[len("n_in_sample_"):] for key in o if key.startswith("n_in_sample_"))
        return [
            row(f"[OII] detected objects (≥ {ch.detect_sigma:g}σ)", "n_detected", o["n_detected"]),
            row("in the LF/SFRD sample", "n_in_sample",
                f"{o['n_in_sample']} (" + ", ".join(f"{f} {o['n_in_sample_' + f]}" for f in fields_) + ")"),
            row("Σ P([OII]) of the sample", "sum_p", f"{o['sum_p']:.1f}"),
            row("faint-end slope α (both fields)", "alpha", f"{o['alpha']:.2f} ± {o['alpha_err']:.2f}"),
        ] + [row(f"ρ_SFR summed over the {f} bins", f"rho_{f}", f"{o['rho_sfr_' + f]:.2e} M☉/yr/Mpc³")
             for f in sorted(key[len("rho_sfr_"):] for key in o if key.startswith("rho_sfr_"))]

    # ------------------------------------------------------------------ layout
    @property
    def widget(self):
        """The whole explorer (controls, status, summary, figures) as one ipywidgets box."""
        if self._widget is None:
            w = self._w
            c = self.controls
            reset = w.Button(description="reset to the walk's choices", icon="undo",
                             layout=w.Layout(width="260px"))
            reset.add_class("r1-reset")
            reset.on_click(self.reset)
            kross = w.VBox([w.HTML("<b>KROSS (Magdis+16)</b>")] + [c[n] for n in list(CONTROLS)[:_N_KROSS_CONTROLS]])
            roles = w.VBox([w.HTML("<b>ROLES (Gilbank+10)</b>")] + [c[n] for n in list(CONTROLS)[_N_KROSS_CONTROLS:]] + [reset])

            def cell(p):
                return w.VBox([w.HTML(f"<b>{escape(PANEL_TITLES[p])}</b>"), self.images[p]],
                              layout=w.Layout(width="33%"))

            grid = w.VBox([w.HBox([cell(p) for p in PANELS[:3]]),
                           w.HBox([cell(p) for p in PANELS[3:]])])
            self._widget = w.VBox([w.HBox([kross, roles]), self.status, self.summary, grid])
            self._widget.add_class("r1-explorer")
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # ------------------------------------------------------------------ batch use
    def run_each_callback(self) -> Table:
        """Call every control's callback once (as a change of that control would) and
        return a table of the seconds each update took."""
        rows = []
        for name in CONTROLS:
            w = self.controls[name]
            self.callbacks[name]({"name": "value", "old": w.value, "new": w.value, "owner": w, "type": "change"})
            t = self.timings[-1]
            rows.append((name, CONTROLS[name], t["seconds"], len(t["panels"]), t["error"]))
        return Table(rows=rows, names=("control", "analysis choice", "seconds", "panels redrawn", "error"),
                     dtype=(str, str, float, int, str))

    def save_static(self, figures_dir, name: str = "fig11_explore", dpi: int = 150) -> Path:
        """All five panels and the summary numbers in one static figure (``<figures_dir>/<name>.png``
        and its PDF twin); returns the PNG's path."""
        fig = self.static_figure(dpi=dpi)
        save_figure(fig, name, figures_dir, dpi=dpi)
        plt.close(fig)
        return figure_paths(name, figures_dir)[0]

    def static_image(self, dpi: int = 100):
        """The static figure of the current settings as an inline image, for pages without a kernel.

        Parameters
        ----------
        dpi : int, optional
            Resolution of the PNG.

        Returns
        -------
        IPython.display.Image
            Displayed once by Jupyter (the figure itself is closed, so it is not drawn twice).
        """
        from IPython.display import Image

        fig = self.static_figure(dpi=dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        return Image(data=buf.getvalue(), format="png")

    def static_figure(self, dpi: int = 150) -> plt.Figure:
        """All five panels and the summary numbers of the current settings in one figure, the
        panels redrawn at ``dpi``."""
        import matplotlib.image as mpimg

        fig, axes = plt.subplots(2, 3, figsize=(19, 10.5))
        live_dpi = self.dpi
        self.dpi = max(dpi, live_dpi)     # redraw the panels at print resolution, not the live 72 dpi
        try:
            pngs = {}
            for p in PANELS:
                panel = self.figure(p)
                buf = io.BytesIO()
                panel.savefig(buf, format="png", dpi="figure", metadata={"Software": None})
                plt.close(panel)
                pngs[p] = buf.getvalue()
        finally:
            self.dpi = live_dpi
        for ax, p in zip(axes.flat, PANELS):
            img = mpimg.imread(io.BytesIO(pngs[p]), format="png")
            ax.imshow(img)
            ax.set_axis_off()
        ax = axes.flat[-1]
        ax.set_axis_off()
        ch = self.results["choices"]
        lines = [f"{n} = {getattr(ch, n)}" for n in CONTROLS]
        num = self.numbers()
        lines.append("")
        if self.data.has_kross:
            lines += [f"Hα detected {num['kross_n_halpha']}, resolved {num['kross_n_resolved']}, "
                      f"unresolved {num['kross_n_unresolved']}",
                      f"slopes: resolved MS {num['resolved_ms_slope']:.2f}, ΣSFR–Δ {num['sigma_delta_slope']:.2f}, "
                      f"Z–Δ {num['z_delta_slope']:.2f}"]
        else:
            lines.append(f"KROSS: {self.data.missing['kross']}")
        lines.append(f"ROLES sample {num['roles_n_in_sample']}, α = {num['roles_alpha']:.2f}" if self.data.has_roles
                     else f"ROLES: {self.data.missing['roles']}")
        ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8.5,
                transform=ax.transAxes)
        fig.suptitle("notebook 11: the analysis choices and what they do (current settings)")
        fig.tight_layout()
        return fig


def _absent_panel(title: str, why: str, dpi: int) -> plt.Figure:
    """A placeholder for a panel whose half of the survey is absent: says so instead of a plot."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=dpi)
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"{title}\nnot drawn: {why}", ha="center", va="center", wrap=True, fontsize=10)
    return fig


def build_explorer(preset: str = "quick", data_dir: str = "", products_dir: str = "", **kwargs) -> Explorer:
    """Load a run's products and build its :class:`Explorer` (keyword arguments go to it)."""
    return Explorer(load_products(products_dir, data_dir, preset), **kwargs)
