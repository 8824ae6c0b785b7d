"""The analysis choices of the explorer: the controls, the figures each one moves, and
:class:`Choices`, one value of every control (validated)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ParameterError
from ..science.mainsequence import MS_PRESCRIPTIONS
from . import roles as R

__all__ = ["CONTROLS", "DEPENDS", "MS_LABELS", "N_KROSS_CONTROLS", "PANELS", "PANEL_TITLES", "Choices",
           "format_edges", "parse_edges"]

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
N_KROSS_CONTROLS = 8

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


def format_edges(vals) -> str:
    """Edges as the text a control shows: ``0.1, 0.5, 1``."""
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
        """The walk's own choices (read from the products by :func:`~redshift1.explore.state.load_products`)."""
        return cls(snr_halpha_min=walk.snr_halpha_min, snr_nii_min=walk.snr_nii_min,
                   ms_prescription=walk.ms_prescription, delta_edges=tuple(walk.delta_edges),
                   z_mass_range=tuple(walk.z_mass_range), detect_sigma=walk.detect_sigma,
                   p_clamps=tuple(walk.p_clamps), cdfs_mass_bins=tuple(walk.mass_bins["CDFS"]),
                   fires_mass_bins=tuple(walk.mass_bins["FIRES"]))

    def validated(self) -> "Choices":
        """The same choices checked and normalised (edges parsed); ParameterError if invalid."""
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
