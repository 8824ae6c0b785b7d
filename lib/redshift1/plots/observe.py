"""Figures of the observe notebook: the mock population, a KMOS cube, a raw N&S frame."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
import matplotlib.pyplot as plt
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
from astropy.table import Table

from .. import constants as C
from ..cosmology import KROSS_COSMO
from ..kmos.cube import KMOSCube
from ..skytables import kmos_sky_shape
from ..science.mainsequence import speagle14_log_sfr


def plot_population(truth: Table) -> plt.Figure:
    """The relations injected into the KROSS mock: MS, size-mass, Z-Δ(sSFR), dust.

    Parameters
    ----------
    truth : astropy.table.Table
        The mock's KROSS truth catalogue.

    Returns
    -------
    matplotlib.figure.Figure
        The four-panel figure.
    """
    logm = np.asarray(truth["logmstar"])
    sfr = np.asarray(truth["sfr"])
    ld = np.asarray(truth["log_delta_ssfr"])
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.8))
    grid = np.linspace(9, 11.5, 50)
    sc = ax[0].scatter(logm, np.log10(sfr), s=8, c=np.asarray(truth["z"]), cmap="viridis")
    fig.colorbar(sc, ax=ax[0], label="redshift z", pad=0.02)
    ms = speagle14_log_sfr(grid, 0.86, KROSS_COSMO)
    ax[0].plot(grid, ms, "k-", label="Speagle+14, z=0.86")
    ax[0].plot(grid, ms + 0.3, "k--", grid, ms - 0.3, "k--")
    ax[0].set(xlabel=r"log M$_\star$ [M$_\odot$]", ylabel=r"log SFR [M$_\odot$/yr]", title="main sequence")
    ax[0].legend(fontsize=8)
    ax[1].scatter(logm, np.asarray(truth["r_half_kpc"]), s=8)
    ax[1].set(xlabel=r"log M$_\star$ [M$_\odot$]", ylabel=r"r$_{1/2}$(Hα) [kpc]", yscale="log", title="Hα sizes")
    ax[1].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax[1].yaxis.set_major_formatter(ScalarFormatter())
    ax[1].yaxis.set_minor_formatter(NullFormatter())
    ax[2].scatter(ld, np.asarray(truth["oh12"]), s=8)
    ax[2].set(xlabel=r"log Δ(sSFR)", ylabel="12+log(O/H) [PP04]", title="metallicity")
    ax[3].scatter(logm, np.asarray(truth["a_v"]), s=8)
    ax[3].set(xlabel=r"log M$_\star$ [M$_\odot$]", ylabel=r"A$_V$ [mag]", title="dust")
    fig.tight_layout()
    return fig


def plot_kmos_cube(cube: KMOSCube, z: float, half_width_aa: float = 60.0) -> plt.Figure:
    """Hα narrow-band image, continuum image and the summed spectrum around Hα+[NII] with the OH
    sky lines shaded (all from pixels; ``z`` only centres the window).

    Parameters
    ----------
    cube : KMOSCube
        A galaxy cube.
    z : float
        Catalogue redshift.
    half_width_aa : float, optional
        Half-width of the spectrum's window [Å, rest frame].

    Returns
    -------
    matplotlib.figure.Figure
        The three-panel figure.
    """
    lam = cube.wavelength.to_value(u.um)
    centre = C.HALPHA.to_value(u.um) * (1 + z)
    line = np.abs(lam - centre) < 0.0006
    side = (np.abs(lam - centre) > 0.004) & (np.abs(lam - centre) < 0.012)
    cont = np.nanmedian(cube.data[side], axis=0)
    nb = np.nansum(cube.data[line] - cont[None], axis=0)
    win = np.abs(lam - centre) < half_width_aa * (1 + z) / 1e4
    spec = np.nansum(cube.data[win], axis=(1, 2))
    noise = np.sqrt(np.nansum(cube.noise[win] ** 2, axis=(1, 2)))
    sky = kmos_sky_shape(lam[win])
    fig = plt.figure(figsize=(14, 3.8))
    a1, a2, a3 = fig.add_subplot(1, 4, 1), fig.add_subplot(1, 4, 2), fig.add_subplot(1, 4, (3, 4))
    unit = cube.unit.to_string("unicode") if cube.unit_known else "unknown unit"
    im = a1.imshow(nb, origin="lower", cmap="magma")
    fig.colorbar(im, ax=a1, fraction=0.046, pad=0.03).set_label(f"summed over the line [{unit}]", fontsize=8)
    a1.set_title("Hα − continuum", fontsize=10)
    im = a2.imshow(cont, origin="lower", cmap="gray")
    fig.colorbar(im, ax=a2, fraction=0.046, pad=0.03).set_label(f"median continuum [{unit}]", fontsize=8)
    a2.set_title("continuum", fontsize=10)
    for a in (a1, a2):
        a.set(xlabel="x [spaxel]", ylabel="y [spaxel]")
    rest = lam[win] / (1 + z) * 1e4
    a3.fill_between(rest, -noise, noise, color="0.85", label="±1σ noise")
    a3.step(rest, spec, where="mid", color="k", lw=0.8, label="summed spectrum")
    for lo, hi in _runs(rest, sky > 0.05):
        a3.axvspan(lo, hi, color="tab:blue", alpha=0.15, lw=0)
    for w in (C.NII_6548, C.HALPHA, C.NII_6583):
        a3.axvline(w.to_value(u.AA), color="tab:cyan", lw=0.8)
    a3.set(xlabel="rest-frame vacuum wavelength [Å]", ylabel=f"flux density [{unit}]",
           title=f"{cube.name}: integrated spectrum (sky lines shaded)")
    a3.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_collapsed_psf_star(cube: KMOSCube) -> plt.Figure:
    """A raw PSF-star cube collapsed over wavelength (median), as the mock wrote it (notebook 00).

    Parameters
    ----------
    cube : KMOSCube
        The star's cube.

    Returns
    -------
    matplotlib.figure.Figure
        The image.
    """
    img = np.nanmedian(cube.data, axis=0)
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    im = ax.imshow(img, origin="lower", cmap="viridis")
    unit = cube.unit.to_string("unicode") if cube.unit_known else "unknown unit"
    fig.colorbar(im, ax=ax, label=f"median over λ [{unit}]")
    ax.set(title=f"{cube.name}: collapsed PSF star", xlabel="x [spaxel]", ylabel="y [spaxel]")
    ax.title.set_fontsize(9)
    return fig


def _runs(x, mask):
    """(start, end) of the runs where ``mask`` is true."""
    idx = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return [(x[a], x[min(b, len(x) - 1)]) for a, b in zip(idx[::2], idx[1::2])]


def plot_ns_frame(ldss3_dir, mask: str | None = None, slit_id: int | None = None, wavelength: float = 7600.0,
                  n_slits: int = 3, width: int = 100) -> plt.Figure:
    """A raw nod-and-shuffle exposure around a few slits, before and after subtracting region B
    from region A (ROLES Fig. 3 a–b).

    Parameters
    ----------
    ldss3_dir : str or pathlib.Path
        The survey's ``ldss3/`` folder.
    mask : str, optional
        Mask name (default the first).
    slit_id : int, optional
        First slit shown (default the mask's first).
    wavelength : float, optional
        Centre of the cut-out [Å].
    n_slits : int, optional
        Slits shown.
    width : int, optional
        Width of the cut-out [pixel].

    Returns
    -------
    matplotlib.figure.Figure
        The two-panel figure.
    """
    from ..ldss3.survey_files import list_masks, read_design, read_raw_frames

    mask = mask or list_masks(ldss3_dir)[0]
    mask_dir = Path(ldss3_dir) / "masks" / mask
    design = read_design(mask_dir)
    frame = read_raw_frames(mask_dir)[0]
    raw = frame.data.astype(float)
    shuffle = int(frame["SHUFFLE"])
    sub = np.full_like(raw, np.nan)
    for r in design:                          # region A minus its shuffled copy 16 rows up
        a = slice(int(r["a_row_lo"]), int(r["a_row_hi"]))
        b = slice(int(r["a_row_lo"]) + shuffle, int(r["a_row_hi"]) + shuffle)
        sub[a, int(r["x_lo"]):int(r["x_hi"])] = (raw[a] - raw[b])[:, int(r["x_lo"]):int(r["x_hi"])]
    start = design[0] if slit_id is None else design[design["slit_id"] == slit_id][0]
    tier = design[design["tier"] == start["tier"]]
    tier = tier[np.argsort(tier["a_row_lo"])]
    rows = tier[tier["a_row_lo"] >= start["a_row_lo"] - 32 * (n_slits // 2)][:n_slits]
    y0, y1 = int(rows["a_row_lo"].min()) - 4, int(rows["b_row_hi"].max()) + 4
    x_mid = int(start["x_ref"] + (wavelength - start["lambda_ref"]) / start["dispersion"])
    x0 = max(x_mid - width // 2, 0)
    cut = np.s_[max(y0, 0):y1, x0:x0 + width]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    lo, hi = np.nanpercentile(raw[cut], [2, 98])
    im = ax[0].imshow(raw[cut], origin="lower", cmap="gray", vmin=lo, vmax=hi, aspect="auto",
                      extent=(x0, x0 + width, max(y0, 0), y1))
    fig.colorbar(im, ax=ax[0], label="counts [e⁻]", pad=0.02)
    ax[0].set(title=f"{mask}, {frame.name}: raw (e⁻)", xlabel="x [px] (λ →)", ylabel="y [px]")
    s = np.nanpercentile(np.abs(sub[cut]), 95)
    im = ax[1].imshow(sub[cut], origin="lower", cmap="RdBu_r", vmin=-s, vmax=s, aspect="auto",
                      extent=(x0, x0 + width, max(y0, 0), y1))
    fig.colorbar(im, ax=ax[1], label="A − B [e⁻]", pad=0.02)
    ax[1].set(title=f"region A − region B (shifted by the {shuffle}-px shuffle)", xlabel="x [px] (λ →)")
    for r in rows:
        for a in ax:
            a.axhspan(r["a_row_lo"], r["a_row_hi"], color="tab:orange", alpha=0.08, lw=0)
            a.axhline(r["b_row_lo"], color="tab:orange", lw=0.5, ls=":")
    fig.tight_layout()
    return fig
