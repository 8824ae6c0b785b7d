"""``python -m redshift1 fit-cube PATH``: fit one KMOS cube of either layout (mock or ESO)."""
from __future__ import annotations

import json

import numpy as np
import astropy.units as u
from scipy.ndimage import median_filter

from ..errors import ParameterError
from .cube import read_kmos_cube
from .sizes import gaussian_psf_r_half, half_light_radius, psf_corrected_radius
from .linefit import fit_halpha_nii
from .spectra import SpectraConfig, integrated_spectrum, measure_cube

#: without --z, Hα anywhere in the YJ band (1.01-1.35 µm)
BLIND_Z, BLIND_DZ = 0.79, 0.27


def add_parser(sub) -> None:
    p = sub.add_parser("fit-cube", help="fit Hα+[NII] in one KMOS cube and measure its Hα size",
                       description="Fit the integrated Hα+[NII] spectrum of one KMOS cube (mock or ESO "
                                   "product, <name>.DATA/<name>.NOISE or DATA/NOISE) and measure r½(Hα).")
    p.add_argument("path", help="cube FITS file")
    p.add_argument("--z", type=float, help="catalogue redshift (starting guess; the line is searched within ±0.01). "
                   "Without it the whole band is searched, which sky residuals can mislead")
    p.add_argument("--psf-fwhm", type=float, metavar="ARCSEC", help="PSF FWHM: also report the PSF-corrected r½")
    p.add_argument("--aperture", type=float, default=0.0, metavar="ARCSEC",
                   help="radius of the integration aperture around the Hα centroid (default: every valid spaxel)")
    p.add_argument("--n-perturb", type=int, default=50, help="noise realisations for the flux errors (default 50)")
    p.add_argument("--mcmc-seed", "--seed", dest="seed", type=int, default=2016,
                   help="seed of the Monte-Carlo error draws (perturbed spectra; default 2016)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def fit_cube(path, z=None, psf_fwhm=None, aperture=0.0, n_perturb=50, seed=2016) -> dict:
    """Everything ``fit-cube`` reports, as a dict."""
    if psf_fwhm is not None and not psf_fwhm > 0:
        raise ParameterError(f"--psf-fwhm must be positive, got {psf_fwhm}")
    if n_perturb < 2:
        raise ParameterError(f"--n-perturb must be at least 2, got {n_perturb}")
    cube = read_kmos_cube(path)
    blind = z is None
    cfg = SpectraConfig(aperture_radius=aperture, n_perturb=n_perturb, seed=seed)
    m = measure_cube(cube, blind_redshift(cube) if blind else z, cfg, np.random.default_rng(seed))
    nb, nb_err, _ = m["_map"]
    pix = cube.pixel_scale.to_value(u.arcsec)
    size = half_light_radius(nb, nb_err, (m["x_center"], m["y_center"]))
    unit = (cube.unit * u.um).to_string() if cube.unit_known else "unknown: the cube has no BUNIT (flux density unit x um)"
    out = {
        "file": str(cube.path), "object": cube.name, "z": m["z"], "z_err": m["z_err"],
        "z_guess": None if blind else z, "flux_unit": unit,
        "flux_halpha": m["flux_halpha"], "flux_halpha_err": m["flux_halpha_err"], "snr_halpha": m["snr_halpha"],
        "flux_nii6583": m["flux_nii6583"], "flux_nii6583_err": m["flux_nii6583_err"],
        "snr_nii6583": m["snr_nii6583"], "fwhm_kms": m["fwhm_kms"],
        "halpha_detected": m["halpha_detected"], "nii_class": m["nii_class"],
        "x_center": m["x_center"], "y_center": m["y_center"], "n_spaxels": m["n_spaxels"],
        "r_half_arcsec": size.r_half * pix, "recovered_fraction": size.recovered_fraction,
    }
    if psf_fwhm is not None:
        # the HWHM as the cube's spaxels sample it, so that a point source measures unresolved
        psf_r_half = gaussian_psf_r_half(psf_fwhm, cube.pixel_scale.to_value(u.arcsec))
        out["psf_r_half_arcsec"] = psf_r_half
        r_corr, resolved = psf_corrected_radius(out["r_half_arcsec"], psf_r_half)
        out["r_half_corr_arcsec"] = float(r_corr)
        out["resolved"] = bool(resolved)
    return {k: (float(v) if isinstance(v, (np.floating, np.integer)) and not isinstance(v, bool) else v)
            for k, v in out.items()}


def blind_redshift(cube) -> float:
    """Hα redshift with no catalogue guess (best effort): the whole-IFU spectrum, its
    continuum removed by a 101-channel running median and its errors scaled by the local
    empirical noise, searched for Hα+[NII] anywhere in the band. Sky residuals summed over
    every spaxel can outshine a compact line: give ``--z`` when a redshift is known."""
    valid2d = np.any(cube.valid, axis=0)
    spec, err = integrated_spectrum(cube.data, cube.noise, valid2d)
    filled = np.where(np.isfinite(spec), spec, np.nanmedian(spec))
    spec = spec - median_filter(filled, size=101, mode="nearest")
    pull = np.nan_to_num(np.abs(spec / err), nan=0.0)
    err = err * np.maximum(1.4826 * median_filter(pull, size=51, mode="nearest"), 1.0)
    fit = fit_halpha_nii(cube.wavelength.to_value(u.um), spec[None], err[None], BLIND_Z, dz=BLIND_DZ)
    return float(fit.z[0])


def run(args) -> int:
    out = fit_cube(args.path, args.z, args.psf_fwhm, args.aperture, args.n_perturb, args.seed)
    if args.json:
        print(json.dumps(out, allow_nan=True))
        return 0
    print(f"{out['object']} ({out['file']})")
    print(f"  z = {out['z']:.5f} ± {out['z_err']:.5f}" + ("" if out["z_guess"] is None else f"  (guess {out['z_guess']})"))
    print(f"  flux unit: {out['flux_unit']}")
    print(f"  Hα     {out['flux_halpha']:.4g} ± {out['flux_halpha_err']:.3g}  (S/N {out['snr_halpha']:.1f})")
    print(f"  [NII]  {out['flux_nii6583']:.4g} ± {out['flux_nii6583_err']:.3g}  ({out['nii_class']})")
    print(f"  intrinsic FWHM {out['fwhm_kms']:.0f} km/s; centre (x, y) = ({out['x_center']:.2f}, {out['y_center']:.2f})")
    line = f"  r½(Hα) = {out['r_half_arcsec']:.3f}\""
    if "r_half_corr_arcsec" in out:
        line += f"; PSF-corrected {out['r_half_corr_arcsec']:.3f}\" ({'resolved' if out['resolved'] else 'unresolved: upper limit'})"
    print(line)
    return 0
