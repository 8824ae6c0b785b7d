"""The explorer's widgets: the ipywidgets controls, their callbacks, the summary and layout.

Every control is one analysis choice of the walk (:data:`~.choices.CONTROLS`); every figure
(:data:`~.choices.PANELS`) declares which controls it depends on (:data:`~.choices.DEPENDS`). A
callback recomputes what the changed choice touches — intermediate tables and fits are memoised
on their inputs (:mod:`.compute`), so e.g. changing the Z–Δ mass range refits only Z–Δ — redraws
only the figures that depend on it (:mod:`.panels`: matplotlib → PNG → ``ipywidgets.Image``) and
refreshes the summary numbers.

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

import io
import time
import traceback
from dataclasses import fields
from functools import partial
from html import escape
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table

from ..errors import ParameterError
from ..plots import figure_paths, save_figure
from ..science.mainsequence import MS_PRESCRIPTIONS
from .choices import (CONTROLS, DEPENDS, MS_LABELS, N_KROSS_CONTROLS, PANEL_TITLES, PANELS, Choices, format_edges,
                      parse_edges)
from .compute import LiveComputation, summary_numbers
from .panels import draw_panel, panel_png, static_summary_figure
from .state import ExploreData, load_products

__all__ = ["Explorer", "build_explorer", "fit_text"]


def fit_text(fit) -> str:
    """A regression in words: slope ± error, scatter, points and limits."""
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
        self.computation = LiveComputation(data, self.emcee_kw, min_fit_points, ms_band_dex, cache_size)
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
            "delta_edges": w.Text(value=format_edges(ch.delta_edges), description="Δ(sSFR) bin edges",
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
            "cdfs_mass_bins": w.Text(value=format_edges(ch.cdfs_mass_bins), description="CDFS log M★ bins",
                                     continuous_update=False, style=style, layout=lay),
            "fires_mass_bins": w.Text(value=format_edges(ch.fires_mass_bins), description="FIRES log M★ bins",
                                      continuous_update=False, style=style, layout=lay),
            "sfr_estimator": w.Dropdown(options=[("nominal (eq. 9)", "nominal"), ("G10 mass-dependent", "g10")],
                                        value=ch.sfr_estimator, description="[OII] SFR estimator",
                                        style=style, layout=lay),
        }
        for i, (name, widget) in enumerate(c.items()):
            widget.add_class(f"r1-{name.replace('_', '-')}")
            widget.tooltip = CONTROLS[name]
            half = "kross" if i < N_KROSS_CONTROLS else "roles"
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
                    val = format_edges(parse_edges(val))
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
    @property
    def cache_hits(self) -> int:
        """Memo hits of the live computation."""
        return self.computation.cache_hits

    @property
    def cache_misses(self) -> int:
        """Memo misses of the live computation."""
        return self.computation.cache_misses

    def compute(self, ch: Choices) -> dict:
        """Every table, fit and number of the current choices (memoised)."""
        return self.computation.compute(ch)

    # ------------------------------------------------------------------ figures
    def figure(self, panel: str, ch: Choices | None = None) -> plt.Figure:
        """A new matplotlib figure of ``panel`` for the current results (at the live dpi)."""
        return draw_panel(panel, self.results, ch or self.results["choices"], missing=self.data.missing,
                          lf_fit_range=self.data.walk.lf_fit_range, ms_band_dex=self.ms_band_dex,
                          dpi=self.dpi, kde_gridsize=self.kde_gridsize)

    def _render(self, panel: str, ch: Choices):
        fig = self.figure(panel, ch)
        self.images[panel].value = panel_png(fig, fast=True)
        self.figures[panel] = fig

    # ------------------------------------------------------------------ summary
    def numbers(self) -> dict:
        """The summary numbers of the current choices (flat dict)."""
        return summary_numbers(self.results, self.data.has_kross)

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
            row(f"resolved MS slope ({meth})", "resolved_ms_slope", fit_text(r["fit_resolved_ms"])),
            row("ΣSFR–Δ slope", "sigma_delta_slope", fit_text(r["fit_sigma_delta"])),
            row("Spearman ρ, p (resolved)", "spearman", f"{sp.rho:.2f}, {sp.p:.1e} (n = {sp.n})"),
            row("[NII] detected / upper limits", "n_nii", f"{k['n_nii_detected']} / {k['n_nii_upper_limit']}"),
            row(f"Z–Δ slope, {ch.z_mass_range[0]:g} < log M★ < {ch.z_mass_range[1]:g}", "z_delta_slope",
                fit_text(r["fit_z_delta"])),
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
            kross = w.VBox([w.HTML("<b>KROSS (Magdis+16)</b>")] + [c[n] for n in list(CONTROLS)[:N_KROSS_CONTROLS]])
            roles = w.VBox([w.HTML("<b>ROLES (Gilbank+10)</b>")] + [c[n] for n in list(CONTROLS)[N_KROSS_CONTROLS:]] + [reset])

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
        live_dpi = self.dpi
        self.dpi = max(dpi, live_dpi)     # redraw the panels at print resolution, not the live 72 dpi
        try:
            pngs = {p: panel_png(self.figure(p)) for p in PANELS}
        finally:
            self.dpi = live_dpi
        return static_summary_figure(pngs, self._static_lines())

    def _static_lines(self) -> list:
        """The settings and numbers written beside the panels of the static figure."""
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
        return lines


def build_explorer(preset: str = "quick", data_dir: str = "", products_dir: str = "", **kwargs) -> Explorer:
    """Load a run's products and build its :class:`Explorer` (keyword arguments go to it)."""
    return Explorer(load_products(products_dir, data_dir, preset), **kwargs)
