"""``python -m redshift1 fit-cube PATH``: fit one KMOS cube of either layout (mock or ESO)."""
from __future__ import annotations

import json

import numpy as np
import astropy.units as u
from scipy.ndimage import median_filter

from ..constants import MAD_TO_SIGMA
from ..errors import ParameterError
from .cube import read_kmos_cube
from .galaxy import PSFInfo, measure_galaxy
from .linefit import fit_halpha_nii
from .galaxy_size import SizeConfig
from .channels import band_edge_channels
from .linemaps import integrated_spectrum
from .spectra import LINE_PROFILES, SpectraConfig
from ..flags import flag_sentences

#: without --z, Hα anywhere in the YJ band (1.01-1.35 µm)
BLIND_Z, BLIND_DZ = 0.79, 0.27
#: the fit after a blind search stays within this of the redshift it found
BLIND_DZ_FIT = 0.002


def add_parser(sub) -> None:
    """Register ``fit-cube`` and its options on the ``python -m redshift1`` sub-parsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The sub-parsers of the main parser.

    Returns
    -------
    None
    """
    p = sub.add_parser("fit-cube", help="measure one KMOS cube as notebooks 02 and 03 do: Hα+[NII], detection, size, kinematics",
                       description="Measure one KMOS cube (mock or ESO product, <name>.DATA/<name>.NOISE or "
                                   "DATA/NOISE) with exactly the per-galaxy functions and defaults of notebooks 02 "
                                   "and 03: continuum subtraction, integrated spectrum, Hα+[NII] fit and detection "
                                   "tests, then velocity field, disc model, dynamical centre, elliptical curve of "
                                   "growth, extrapolation beyond the IFU and PSF-corrected r½. Doubtful results "
                                   "carry flags (see docs/flags.md).")
    p.add_argument("path", help="cube FITS file")
    p.add_argument("--z", type=float, help="catalogue redshift (the line is searched within ±0.01). "
                   "Without it the whole band is searched, which sky residuals can mislead")
    p.add_argument("--psf-fwhm", type=float, metavar="ARCSEC", help="optical PSF FWHM: also report the PSF-corrected r½")
    p.add_argument("--psf-r-half", type=float, metavar="ARCSEC",
                   help="the PSF star's curve-of-growth r½ (notebook 01's r_half); default: that of a Gaussian "
                        "of --psf-fwhm sampled by the cube's spaxels")
    p.add_argument("--psf-ellipticity", type=float, default=0.0,
                   help="PSF ellipticity 1-b/a (notebook 01's): shapes the extraction's disc model and enters the size "
                        "error budget")
    p.add_argument("--psf-pa", type=float, default=None, metavar="DEG",
                   help="PSF major axis, degrees counter-clockwise from the cube's +x axis (notebook 01's pa); "
                        "with --psf-ellipticity the disc models use the elliptical PSF, without it a round one")
    p.add_argument("--extraction", choices=("optimal", "paper"), default=SpectraConfig.extraction,
                   help="integrated spectrum: 'optimal' (the aperture whose flux, scaled to the IFU by disc models of "
                        "the Hα map, is known best; S/N judged where the models peak in S/N; default) or 'paper' "
                        "(KROSS: every valid spaxel, or --aperture)")
    p.add_argument("--line-profile", choices=LINE_PROFILES, default=SpectraConfig.line_profile,
                   help="profile of the fluxes: 'rotation' (two Gaussians at ±Δv, a rotating disc's flat-topped "
                        "line; default) or 'gaussian' (KROSS: one Gaussian)")
    p.add_argument("--aperture", type=float, default=SpectraConfig.aperture_radius, metavar="ARCSEC",
                   help="with --extraction paper: radius of the aperture around the Hα centroid (default: every "
                        "valid spaxel)")
    p.add_argument("--axis-ratio", type=float, nargs=2, metavar=("Q", "Q_ERR"),
                   help="axis ratio measured elsewhere (e.g. HST) and its error: fixes the inclination "
                        "(default: the Hα disc model's)")
    p.add_argument("--n-perturb", type=int, default=SpectraConfig.n_perturb,
                   help=f"noise realisations for the flux errors (default {SpectraConfig.n_perturb})")
    p.add_argument("--mcmc-seed", "--seed", dest="seed", type=int, default=SpectraConfig.seed,
                   help="seed of the Monte-Carlo error draws (perturbed spectra, with the object name, "
                        f"as notebook 02's mcmc_seed; default {SpectraConfig.seed})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _finite_or_none(v):
    if v is None or isinstance(v, (bool, np.bool_, str)):
        return bool(v) if isinstance(v, np.bool_) else v
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if np.isfinite(v) else None


def fit_cube(path, z=None, psf_fwhm=None, aperture=SpectraConfig.aperture_radius, n_perturb=SpectraConfig.n_perturb,
             seed=SpectraConfig.seed, psf_r_half=None, psf_ellipticity=0.0,
             extraction=SpectraConfig.extraction, axis_ratio=None, psf_pa=None,
             line_profile=SpectraConfig.line_profile) -> dict:
    """Everything ``fit-cube`` reports: one cube through :func:`redshift1.kmos.galaxy.measure_galaxy`
    with notebooks 02 and 03's defaults.

    Parameters
    ----------
    path : path-like
        The cube (mock or ESO layout).
    z : float, optional
        Catalogue redshift; None searches the whole band (:func:`blind_redshift`, flag
        ``blind_redshift``).
    psf_fwhm : float, optional
        Optical PSF FWHM, arcsec; without it the size is not PSF-corrected (flag ``no_psf``).
    aperture : float
        With ``extraction="paper"``: aperture radius, arcsec (0: every valid spaxel).
    n_perturb, seed : int
        Noise realisations of the flux errors and their seed.
    psf_r_half : float, optional
        The PSF star's curve-of-growth r½, arcsec (default: a sampled Gaussian's).
    psf_ellipticity : float
        The PSF's 1 − b/a: shapes the extraction's disc model, enters the size error budget.
    extraction : {"optimal", "paper"}
        The integrated spectrum's spaxels.
    axis_ratio : (float, float), optional
        An axis ratio measured elsewhere and its error, fixing the inclination.
    psf_pa : float, optional
        The PSF's major axis, degrees counter-clockwise from +x (None: the disc models take
        the PSF round).
    line_profile : {"rotation", "gaussian"}
        The profile the fluxes are measured with.

    Returns
    -------
    dict
        The JSON keys of ``--json`` (``None`` where a value is not measured or not
        constrained) and ``flags`` (a list).

    Raises
    ------
    ParameterError
        For a non-positive ``psf_fwhm``, ``psf_r_half`` without ``psf_fwhm``, fewer than two
        noise realisations or an axis ratio outside (0, 1].
    """
    if psf_fwhm is not None and not psf_fwhm > 0:
        raise ParameterError(f"--psf-fwhm must be positive, got {psf_fwhm}")
    if psf_r_half is not None and (psf_fwhm is None or not psf_r_half > 0):
        raise ParameterError("--psf-r-half needs --psf-fwhm and must be positive")
    if n_perturb < 2:
        raise ParameterError(f"--n-perturb must be at least 2, got {n_perturb}")
    cube = read_kmos_cube(path)
    blind = z is None
    pix = cube.pixel_scale.to_value(u.arcsec)
    scfg = SpectraConfig(aperture_radius=aperture, n_perturb=n_perturb, seed=seed, extraction=extraction,
                         line_profile=line_profile,
                         **({"dz": BLIND_DZ_FIT} if blind else {}))
    psf = PSFInfo.from_fwhm(psf_fwhm, pix, psf_ellipticity, psf_r_half, psf_pa) if psf_fwhm is not None else None
    if axis_ratio is not None and not (0 < axis_ratio[0] <= 1 and axis_ratio[1] > 0):
        raise ParameterError(f"--axis-ratio needs 0 < Q <= 1 and Q_ERR > 0, got {axis_ratio}")
    g = measure_galaxy(cube, blind_redshift(cube) if blind else z, psf, scfg, SizeConfig(),
                       axis_ratio_prior=tuple(axis_ratio) if axis_ratio is not None else None)
    size = g["size"]
    unit = (cube.unit * u.um).to_string() if cube.unit_known else "unknown: the cube has no BUNIT (flux density unit x um)"
    kin = g["kinematics_constrained"]
    out = {
        "file": str(cube.path), "object": cube.name, "z": g["z"], "z_err": g["z_err"],
        "z_guess": None if blind else z, "flux_unit": unit,
        "flux_halpha": g["flux_halpha"], "flux_halpha_err": g["flux_halpha_err"], "snr_halpha": g["snr_halpha"],
        "flux_nii6583": g["flux_nii6583"], "flux_nii6583_err": g["flux_nii6583_err"],
        "snr_nii6583": g["snr_nii6583"], "fwhm_kms": g["fwhm_kms"], "sigma_kms": g["sigma_kms"],
        "halpha_detected": g["halpha_detected"], "nii_class": g["nii_class"],
        "x_center": g["x_center"], "y_center": g["y_center"], "n_spaxels": g["n_spaxels"],
        "extraction": g["extraction"], "flux_halpha_aperture": g["flux_halpha_aperture"],
        "aperture_correction": g["aperture_correction"], "aperture_correction_err": g["aperture_correction_err"],
        "profile_dv_kms": g["profile_dv_kms"], "noise_scale": g["noise_scale"],
        "n_masked_channels": g["n_masked_channels"],
        "flux_halpha_total": g["flux_halpha_total"], "flux_halpha_total_err": g["flux_halpha_total_err"],
        "recovered_fraction": g["recovered_fraction"],
        "r_half_arcsec": size["r_half_arcsec"] if size else None,
        "r_half_err_arcsec": size["r_half_err_arcsec"] if size else None,
        "x_dyn": size["x_dyn"] if size else None, "y_dyn": size["y_dyn"] if size else None,
        "axis_ratio": size["axis_ratio"] if size else None, "axis_ratio_err": size["axis_ratio_err"] if size else None,
        "inclination_morph": size["inclination_morph"] if size else None,
        "inclination_morph_err": size["inclination_morph_err"] if size else None,
        "size_status": size["size_status"] if size else g.get("size_status"),
    }
    for key in ("inclination", "pa", "v_max"):
        ok = size is not None and kin[key]
        out[key] = size[key] if ok else None
        out[f"{key}_err"] = size[f"{key}_err"] if ok else None
    # v_max's interval is asymmetric (profiled over the turnover radius): v_max_err is its mean half-width
    for side in ("lo", "hi"):
        out[f"v_max_err_{side}"] = size[f"v_max_err_{side}"] if size is not None and kin["v_max"] else None
    out["v_max_source"] = size["v_max_source"] if size is not None and kin["v_max"] else None
    if psf is not None:
        out["psf_r_half_arcsec"] = psf.r_half
        out["r_half_corr_arcsec"] = size["r_half_corr_arcsec"] if size else None
        out["r_half_corr_err_arcsec"] = size["r_half_corr_err_arcsec"] if size else None
        out["r_half_corr_kpc"] = size["r_half_corr_kpc"] if size else None
        out["resolved"] = bool(size["resolved"]) if size else None
    flags = list(g["flags"])
    if blind:
        flags.append("blind_redshift")
    out = {k: _finite_or_none(v) for k, v in out.items()}
    out["flags"] = flags
    return out


def blind_redshift(cube) -> float:
    """Hα redshift with no catalogue guess (best effort): the whole-IFU spectrum, its
    continuum removed by a 101-channel running median and its errors scaled by the local
    empirical noise, searched for Hα+[NII] anywhere in the band. Sky residuals summed over
    every spaxel can outshine a compact line: give ``--z`` when a redshift is known.

    Parameters
    ----------
    cube : `~redshift1.kmos.cube.KMOSCube`
        The cube.

    Returns
    -------
    float
        The fitted redshift.
    """
    valid2d = np.any(cube.valid, axis=0)
    spec, err = integrated_spectrum(cube.data, cube.noise, valid2d)
    filled = np.where(np.isfinite(spec), spec, np.nanmedian(spec))
    spec = spec - median_filter(filled, size=101, mode="nearest")
    pull = np.nan_to_num(np.abs(spec / err), nan=0.0)
    err = err * np.maximum(MAD_TO_SIGMA * median_filter(pull, size=51, mode="nearest"), 1.0)
    lam = cube.wavelength.to_value(u.um)
    err = np.where(band_edge_channels(spec, lam, SpectraConfig.edge_mask_um), np.nan, err)
    fit = fit_halpha_nii(cube.wavelength.to_value(u.um), spec[None], err[None], BLIND_Z, dz=BLIND_DZ)
    return float(fit.z[0])


def run(args) -> int:
    """Run ``fit-cube`` on parsed arguments and print the result (text or ``--json``).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0).
    """
    out = fit_cube(args.path, args.z, args.psf_fwhm, args.aperture, args.n_perturb, args.seed,
                   args.psf_r_half, args.psf_ellipticity, args.extraction, args.axis_ratio, args.psf_pa,
                   args.line_profile)
    if args.json:
        print(json.dumps(out, allow_nan=True))
        return 0
    print("\n".join(text_report(out)))
    return 0


def _num(v, fmt):
    return "n/a" if v is None else format(v, fmt)


def text_report(out: dict) -> list[str]:
    """The text output of ``fit-cube``: the numbers, then every flag in words.

    Parameters
    ----------
    out : dict
        :func:`fit_cube`'s result.

    Returns
    -------
    list of str
        The lines to print.
    """
    lines = [f"{out['object']} ({out['file']})",
             f"  z = {_num(out['z'], '.5f')} ± {_num(out['z_err'], '.5f')}"
             + ("  (blind search, no --z)" if out["z_guess"] is None else f"  (guess {out['z_guess']})"),
             f"  flux unit: {out['flux_unit']}",
             f"  extraction: {out['extraction']}"]
    if out["halpha_detected"]:
        lines += [f"  Hα     {out['flux_halpha']:.4g} ± {out['flux_halpha_err']:.3g}  (S/N {out['snr_halpha']:.1f})",
                  f"  Hα total (beyond the IFU) {_num(out['flux_halpha_total'], '.4g')} ± "
                  f"{_num(out['flux_halpha_total_err'], '.3g')}  (recovered fraction {_num(out['recovered_fraction'], '.2f')})",
                  f"  [NII]  {out['flux_nii6583']:.4g} ± {out['flux_nii6583_err']:.3g}  ({out['nii_class']})",
                  f"  intrinsic FWHM {out['fwhm_kms']:.0f} km/s; centre (x, y) = ({out['x_center']:.2f}, {out['y_center']:.2f})"]
        line = f"  r½(Hα) = {_num(out['r_half_arcsec'], '.3f')}\" ± {_num(out['r_half_err_arcsec'], '.3f')}\""
        if "r_half_corr_arcsec" in out and out["r_half_corr_arcsec"] is not None:
            line += (f"; PSF-corrected {out['r_half_corr_arcsec']:.3f}\""
                     + (f" ± {_num(out['r_half_corr_err_arcsec'], '.3f')}\"" if out["resolved"] else " (upper limit)"))
        lines.append(line)
        kin = [f"{k} {_num(out[k], '.0f')} ± {_num(out[k + '_err'], '.0f')} {unit}"
               for k, unit in (("inclination", "deg"), ("pa", "deg")) if out[k] is not None]
        if out["v_max"] is not None:
            kin.append(f"v_max {_num(out['v_max'], '.0f')} +{_num(out['v_max_err_hi'], '.0f')}/"
                       f"−{_num(out['v_max_err_lo'], '.0f')} km/s")
        missing = [k for k in ("inclination", "pa", "v_max") if out[k] is None]
        lines.append("  kinematics: " + ("; ".join(kin) if kin else "none constrained")
                     + (f" ({', '.join(missing)} not constrained by the data)" if kin and missing else ""))
    else:
        lines += [f"  Hα NOT DETECTED: best fit {_num(out['flux_halpha'], '.3g')} ± {_num(out['flux_halpha_err'], '.3g')} "
                  f"(S/N {_num(out['snr_halpha'], '.1f')}); no size"]
    if out["flags"]:
        lines.append("  flags:")
        lines += [f"    - {s}" for s in flag_sentences(out["flags"])]
    else:
        lines.append("  flags: none")
    return lines
