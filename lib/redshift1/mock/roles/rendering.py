"""Raw frames: the science exposures of one mask, the nod-and-shuffle darks, the flux
standard and the bad-pixel mask."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits

from ...io import write_fits, write_table
from .. import ldss3 as L
from ..rng import stream
from .conditions import date_obs
from .fields import CONTRACT_VERSION, FIELDS, pointing_field
from .survey import Survey


def render_mask(args):
    """Render and write every raw frame of one mask (runs in a worker process)."""
    (preset, seed, noise_seed, mask, design, sources, conds, pointing, mask_index, out_dir) = args
    lay = preset.layout
    det = L.make_detector(seed, lay)
    nod_time = preset.n_cycles * preset.t_cycle
    dark_time = 2 * nod_time
    spec = FIELDS[pointing_field(pointing)]
    ra0, dec0 = spec.pointings[pointing]
    slits = [dict(zip(design.colnames, [_plain(v) for v in r])) for r in design]
    written, cr_rows = [], []
    for e, cond in enumerate(conds):
        sky, oa, ob = L.render_illumination(lay, slits, sources, cond, nod_time)
        light = L.shuffle_readout(sky + oa, sky + ob)
        rng = stream(noise_seed, "ldss3", mask, "exposure", e)
        frame, cr = L.expose(det, light, dark_time, preset.n_cycles, rng)
        h = L.base_header("SCIENCE", maskname=mask, field=spec.name, pointing=pointing,
                          date_obs=date_obs(mask_index, e), airmass=cond.airmass,
                          n_cycles=preset.n_cycles, t_cycle=preset.t_cycle, ra=ra0, dec=dec0,
                          expnum=e + 1, layout=lay)
        path = Path(out_dir) / "masks" / mask / "raw" / f"{mask}_{e + 1:03d}.fits"
        write_fits(L.frame_hdul(frame, h), path)
        written.append(path)
        cr_rows.append((f"masks/{mask}/raw/{path.name}", cr))
    return mask, written, cr_rows


def _plain(v):
    if hasattr(v, "unit") and hasattr(v, "value"):
        v = v.value
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_darks(preset, seed, out_dir, noise_seed):
    """Render and write the preset's nod-and-shuffle dark frames (no light) under ``calib/darks``.

    Parameters
    ----------
    preset : RolesPreset
    seed : int
        Survey seed (the detector's defects).
    out_dir : path-like
        The survey's ``ldss3`` folder.
    noise_seed : int
        Noise and cosmic rays.

    Returns
    -------
    paths : list of pathlib.Path
    crs : list of (str, tuple)
        Per file, the cosmic rays added (truth).
    """
    lay = preset.layout
    det = L.make_detector(seed, lay)
    dark_time = 2 * preset.n_cycles * preset.t_cycle
    paths, crs = [], []
    for d in range(preset.n_darks):
        rng = stream(noise_seed, "ldss3", "dark", d)
        frame, cr = L.expose(det, np.zeros(lay.shape), dark_time, preset.n_cycles, rng)
        h = L.base_header("DARK", maskname="none", field="none", pointing="none",
                          date_obs=f"2005-10-01T{18 + d}:00:00.0", airmass=1.0, n_cycles=preset.n_cycles,
                          t_cycle=preset.t_cycle, expnum=d + 1, layout=lay)
        p = Path(out_dir) / "calib" / "darks" / f"nsdark_{d + 1:03d}.fits"
        write_fits(L.frame_hdul(frame, h), p)
        paths.append(p)
        crs.append((f"calib/darks/{p.name}", cr))
    return paths, crs


STANDARD_CYCLES = 2
STANDARD_TCYCLE = 10.0


def write_standard(sv: Survey, out_dir):
    """N&S observation of the flux standard through the standard slit of one science mask."""
    preset, seed = sv.preset, sv.seed
    lay = preset.layout
    det = L.make_detector(seed, lay)
    mask = sv.standard_mask
    design = sv.designs[mask]
    spec_tab = L.standard_spectrum()
    cont = (spec_tab["wavelength"].quantity.to_value(u.AA), spec_tab["flux"].quantity.value)
    slits = [dict(zip(design.colnames, [_plain(v) for v in r])) for r in design]
    sources = [L.SlitSource(np.zeros(0), np.zeros(0), np.zeros(0), cont_table=cont) if s["is_standard_slit"]
               else None for s in slits]
    rng = stream(seed, "ldss3", "standard", "conditions")
    cond = L.Conditions(flex_dx=round(float(rng.normal(0, 0.4)), 4), flex_dy=round(float(rng.normal(0, 0.3)), 4),
                        drift_dy=0.0, seeing=round(float(np.clip(rng.normal(0.7, 0.06), 0.55, 0.9)), 4),
                        airmass=round(float(rng.uniform(1.05, 1.25)), 4))
    nod_time = STANDARD_CYCLES * STANDARD_TCYCLE
    sky, oa, ob = L.render_illumination(lay, slits, sources, cond, nod_time)
    light = L.shuffle_readout(sky + oa, sky + ob)
    frame, cr = L.expose(det, light, 2 * nod_time, STANDARD_CYCLES, stream(sv.noise_seed, "ldss3", "standard", "exposure"))
    spec = FIELDS[pointing_field(sv.masks[mask]["pointing"])]
    h = L.base_header("STANDARD", maskname=mask, field=spec.name, pointing=sv.masks[mask]["pointing"],
                      date_obs="2005-10-02T23:40:00.0", airmass=cond.airmass, n_cycles=STANDARD_CYCLES,
                      t_cycle=STANDARD_TCYCLE, expnum=1, layout=lay)
    std_slit = int(design["slit_id"][design["is_standard_slit"]][0])
    h["OBJECT"] = "LTT3864"
    h["STDNAME"] = ("LTT3864", "flux standard, see LTT3864_spectrum.ecsv")
    h["STDSLIT"] = (std_slit, "slit_id (MASKNAME design) holding the star")
    d = Path(out_dir) / "calib" / "standard"
    p = write_fits(L.frame_hdul(frame, h), d / "standard_001.fits")
    spec_tab.meta["contract"] = f"redshift1 LDSS3 data contract {CONTRACT_VERSION}"
    spec_tab.meta["observed_with"] = f"{mask} slit {std_slit}, calib/standard/standard_001.fits"
    write_table(spec_tab, d / "LTT3864_spectrum.ecsv")
    return [p, d / "LTT3864_spectrum.ecsv"], cond, std_slit, [("calib/standard/standard_001.fits", cr)]


def write_bpm(preset, seed, out_dir):
    """Write the detector's bad-pixel mask to ``calib/bpm.fits``.

    Parameters
    ----------
    preset : RolesPreset
    seed : int
        Survey seed (the detector's defects).
    out_dir : path-like
        The survey's ``ldss3`` folder.

    Returns
    -------
    path : pathlib.Path
    det : redshift1.mock.ldss3.Detector
        The detector (its charge traps go to the truth).
    """
    lay = preset.layout
    det = L.make_detector(seed, lay)
    h = fits.Header()
    h["INSTRUME"] = "LDSS3"
    h["OBSTYPE"] = ("BPM", "bad-pixel mask")
    h["BPMDEF"] = ("1 = bad", "bad columns, hot/dead pixels; no charge traps")
    h["PIXORIG"] = (0, "0-based indices as data[y, x]")
    p = Path(out_dir) / "calib" / "bpm.fits"
    write_fits(fits.HDUList([fits.PrimaryHDU(det.bpm.astype(np.uint8), header=h)]), p)
    return p, det
