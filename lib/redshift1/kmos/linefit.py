"""Hα + [NII] fits of many spectra at once: a batched Levenberg–Marquardt in numpy.

The model (KROSS §2) is three pixel-integrated Gaussians sharing one redshift and one
intrinsic velocity dispersion, broadened by the instrumental resolution, with
[NII]6583/[NII]6548 = 3, on a constant continuum:

    f(λ) = c + F_Hα G(λ; λ_Hα(1+z), σ) + F_NII [G(λ; λ_6583(1+z), σ) + G(λ; λ_6548(1+z), σ)/3]

with σ² = (λ σ_v / c)² + (λ / 2.3548 R)². Fluxes are free to go negative, so a
non-detection is an unbiased flux with its error rather than a zero.

Every spectrum gets its own window of the same number of channels, cut around its
catalogue redshift; a coarse matched-filter search over ``z ± dz`` starts each fit, then
all spectra iterate together: one (N, 5, 5) linear solve per step instead of N Python
fits. ``benchmarks/bench_fitting.py`` compares it with a ``scipy.optimize.curve_fit`` loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate
from scipy.special import erf

from .. import constants as C

C_KMS = 299792.458
LINES_UM = np.array([C.HALPHA.to_value("um"), C.NII_6583.to_value("um"), C.NII_6548.to_value("um")])
PARAMS = ("z", "sigma_kms", "flux_halpha", "flux_nii6583", "continuum")
SIGMA_BOUNDS = (1.0, 600.0)


@dataclass
class LineFit:
    """Best fits of N spectra (arrays of length N; fluxes in the data unit × µm).

    ``sigma_kms`` is the intrinsic (instrument-corrected) dispersion; ``*_err`` are 1σ
    errors from the curvature of χ² (``perturbed_errors`` gives Monte Carlo ones).
    """

    params: np.ndarray          # (N, 5)
    errors: np.ndarray          # (N, 5)
    chi2: np.ndarray
    dof: np.ndarray
    converged: np.ndarray
    window: np.ndarray          # (N, M) channel indices used

    def __getattr__(self, name):
        if name in PARAMS:
            return self.params[:, PARAMS.index(name)]
        if name.endswith("_err") and name[:-4] in PARAMS:
            return self.errors[:, PARAMS.index(name[:-4])]
        raise AttributeError(name)

    @property
    def snr_halpha(self):
        return self.flux_halpha / self.flux_halpha_err

    @property
    def snr_nii6583(self):
        return self.flux_nii6583 / self.flux_nii6583_err

    @property
    def fwhm_kms(self):
        """Intrinsic FWHM of the lines (km/s)."""
        return 2.3548 * self.sigma_kms


def line_sigma_um(centre_um, sigma_kms, resolution):
    """Total Gaussian σ (µm) of a line: intrinsic dispersion ⊕ instrumental resolution."""
    return np.hypot(centre_um * sigma_kms / C_KMS, centre_um / (2.3548 * resolution))


def _profiles(z, sig_v, lo, hi, resolution, derivatives=False):
    """Unit-flux line profiles (N, M, 3) averaged over each channel, and optionally their
    derivatives with respect to z and σ_v (analytic: one erf and one exp per line).

    Adjacent channels share an edge (``hi[:, k] == lo[:, k+1]``), so erf and exp are
    evaluated once per edge, M+1 per spectrum rather than 2M.
    """
    width = hi - lo
    edges = np.concatenate([lo, hi[:, -1:]], axis=1)           # (N, M+1)
    prof = np.empty(lo.shape + (3,))
    if derivatives:
        d_z = np.empty_like(prof)
        d_s = np.empty_like(prof)
    for k, rest in enumerate(LINES_UM):
        mu = rest * (1 + z)                                   # (N, 1)
        sig = line_sigma_um(mu, sig_v, resolution)            # (N, 1)
        s2 = sig * np.sqrt(2)
        u = (edges - mu) / s2
        e = erf(u)
        prof[..., k] = 0.5 * (e[:, 1:] - e[:, :-1]) / width
        if derivatives:
            g = np.exp(-u**2)
            ug = u * g
            common = 1.0 / (np.sqrt(np.pi) * width)
            dmu = -common * (g[:, 1:] - g[:, :-1]) / s2       # d prof / d mu
            dsig = -common * (ug[:, 1:] - ug[:, :-1]) / sig   # d prof / d sigma
            # sigma depends on mu (both terms ∝ mu) and on sigma_v
            dsig_dmu = sig / mu
            dsig_dsv = mu**2 * sig_v / C_KMS**2 / sig
            d_z[..., k] = (dmu + dsig * dsig_dmu) * rest
            d_s[..., k] = dsig * dsig_dsv
    return (prof, d_z, d_s) if derivatives else prof


def _basis(prof):
    """Columns multiplying F_Hα, F_NII6583 and the continuum."""
    n, m, _ = prof.shape
    return np.stack([prof[..., 0], prof[..., 1] + prof[..., 2] / C.NII_RATIO, np.ones((n, m))], axis=-1)


def model_spectra(params: np.ndarray, edges_lo: np.ndarray, edges_hi: np.ndarray, resolution: float) -> np.ndarray:
    """Model flux density on channels [edges_lo, edges_hi) for each parameter row.

    params (N, 5); edges (N, M) in µm. Returns (N, M), the channel-averaged flux density.
    """
    prof = _profiles(params[:, 0:1], params[:, 1:2], edges_lo, edges_hi, resolution)
    return np.einsum("nmk,nk->nm", _basis(prof), params[:, 2:])


def _model_and_jacobian(params, lo, hi, resolution):
    """Model (N, M) and its Jacobian (N, M, 5), analytic."""
    prof, d_z, d_s = _profiles(params[:, 0:1], params[:, 1:2], lo, hi, resolution, derivatives=True)
    basis = _basis(prof)
    amps = np.column_stack([params[:, 2], params[:, 3], params[:, 3] / C.NII_RATIO])
    jac = np.empty(lo.shape + (5,))
    jac[..., 0] = np.einsum("nmk,nk->nm", d_z, amps)
    jac[..., 1] = np.einsum("nmk,nk->nm", d_s, amps)
    jac[..., 2:] = basis
    return np.einsum("nmk,nk->nm", basis, params[:, 2:]), jac


def _windows(wave_um: np.ndarray, z_guess: np.ndarray, dz: float, margin_um: float = 0.0035):
    """Channel indices (N, M) of equal-length windows covering each spectrum's lines."""
    lo = LINES_UM[2] * (1 + z_guess - dz) - margin_um
    hi = LINES_UM[1] * (1 + z_guess + dz) + margin_um
    dlam = np.median(np.diff(wave_um))
    m = int(np.ceil(np.max(hi - lo) / dlam)) + 1
    start = np.clip(np.searchsorted(wave_um, lo), 0, max(wave_um.size - m, 0))
    return start[:, None] + np.arange(min(m, wave_um.size))[None, :]


def _matched_filter_z(centres, y, w, z_guess, dz, resolution, nii_ratio=0.3, sigma_kms=60.0):
    """Coarse redshift by matched filtering: an Hα+[NII] template cross-correlated with each
    continuum-subtracted spectrum (FFT, one-channel steps), best Δχ² within ``z_guess ± dz``.

    Over ±0.01 in z the template's stretch (1+z) changes by <1%, far below a channel, so one
    fixed template serves all trial redshifts.
    """
    dlam = np.median(np.diff(centres[0]))
    z_ref = float(np.median(z_guess))
    ha = LINES_UM[0] * (1 + z_ref)
    offsets = (LINES_UM - LINES_UM[0]) * (1 + z_ref) / dlam           # channels from Hα
    sig = line_sigma_um(ha, sigma_kms, resolution) / dlam
    half = int(np.ceil(np.max(np.abs(offsets)) + 4 * sig))
    k = np.arange(-half, half + 1)
    amps = (1.0, nii_ratio, nii_ratio / C.NII_RATIO)
    tmpl = sum(a * np.exp(-0.5 * ((k - o) / sig) ** 2) for a, o in zip(amps, offsets))
    cont = np.nanmedian(np.where(w > 0, y, np.nan), axis=1)
    cont = np.where(np.isfinite(cont), cont, 0.0)
    yc = y - cont[:, None]
    num = correlate(w * yc, tmpl[None, :], mode="same", method="fft")
    den = correlate(w, (tmpl**2)[None, :], mode="same", method="fft")
    score = np.where((num > 0) & (den > 0), num**2 / np.where(den > 0, den, 1), -np.inf)
    z_of = centres / LINES_UM[0] - 1                                   # z if Hα sat at this channel
    score[np.abs(z_of - z_guess[:, None]) > dz] = -np.inf
    best = np.argmax(score, axis=1)
    found = np.isfinite(score[np.arange(len(best)), best])
    return np.where(found, z_of[np.arange(len(best)), best], z_guess)


def fit_halpha_nii(wave_um, flux, noise, z_guess, dz: float = 0.01, resolution: float = C.KMOS_RESOLUTION,
                   max_iter: int = 60, sigma_guess: float = 60.0, z_search: bool = True) -> LineFit:
    """Fit Hα + [NII] to N spectra sharing one wavelength grid.

    Parameters
    ----------
    wave_um : (M_all,) array
        Channel centres in µm (vacuum), uniformly sampled.
    flux, noise : (N, M_all) arrays
        Flux densities and 1σ noise; NaN or non-positive noise channels are ignored.
    z_guess : float or (N,) array
        Catalogue redshift; the fit stays within ``z_guess ± dz``.
    dz : float
        Half-width of the redshift search.
    resolution : float
        Spectral resolving power λ/Δλ (FWHM).
    z_search : bool
        Start from a matched-filter search over ``z ± dz`` (else from ``z_guess``).

    Returns
    -------
    LineFit
    """
    wave = np.asarray(wave_um, float)
    flux = np.atleast_2d(np.asarray(flux, float))
    noise = np.atleast_2d(np.asarray(noise, float))
    n = flux.shape[0]
    zg = np.broadcast_to(np.asarray(z_guess, float), (n,)).copy()
    idx = _windows(wave, zg, dz)
    dlam = np.median(np.diff(wave))
    centres = wave[idx]
    lo, hi = centres - dlam / 2, centres + dlam / 2
    rows = np.arange(n)[:, None]
    y, e = flux[rows, idx], noise[rows, idx]
    good = np.isfinite(y) & np.isfinite(e) & (e > 0)
    w = np.where(good, 1.0 / np.where(good, e, 1.0) ** 2, 0.0)
    y = np.where(good, y, 0.0)

    # scale fluxes to O(1) so the damping and step tests are unit-free
    scale = np.nanmedian(np.where(good, e, np.nan), axis=1)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    ys, ws = y / scale[:, None], w * scale[:, None] ** 2

    z0 = _matched_filter_z(centres, ys, ws, zg, dz, resolution) if z_search else zg
    p, chi2, converged = _levenberg_marquardt(z0, sigma_guess, lo, hi, ys, ws, zg, dz, resolution, max_iter)
    if z_search:
        # the template can lock onto [NII]6583 (or 6548) as if it were Hα: refit from the
        # aliases z ± Δ(Hα-[NII]) and keep whichever explains the spectrum best
        for shift in ((LINES_UM[1] - LINES_UM[0]) / LINES_UM[0], (LINES_UM[2] - LINES_UM[0]) / LINES_UM[0]):
            for sgn in (-1, 1):
                za = z0 + sgn * shift * (1 + z0)
                suspicious = (p[:, 2] <= 0) | (p[:, 3] > p[:, 2])
                inside = (np.abs(za - zg) <= dz) & suspicious
                if not inside.any():
                    continue
                sel = np.flatnonzero(inside)
                pa, ca, cv = _levenberg_marquardt(za[sel], sigma_guess, lo[sel], hi[sel], ys[sel], ws[sel],
                                                  zg[sel], dz, resolution, max_iter)
                better = ca < chi2[sel] - 1e-6
                p[sel[better]], chi2[sel[better]], converged[sel[better]] = pa[better], ca[better], cv[better]
    # fluxes and continuum are linear: solve them exactly at the final z and σ
    p = _linear_step(p, lo, hi, ys, ws, resolution)
    chi2 = _chi2(p, lo, hi, ys, ws, resolution)
    cov_err = _curvature_errors(p, lo, hi, ws, resolution)
    p_out = p.copy()
    p_out[:, 2:] *= scale[:, None]
    err = cov_err.copy()
    err[:, 2:] *= scale[:, None]
    dof = good.sum(1) - 5
    empty = dof < 5
    p_out[empty], err[empty], chi2[empty] = np.nan, np.nan, np.nan
    converged &= ~empty
    return LineFit(params=p_out, errors=err, chi2=chi2, dof=dof, converged=converged, window=idx)


def _levenberg_marquardt(z0, sigma_guess, lo, hi, ys, ws, zg, dz, resolution, max_iter):
    """Batched LM from redshifts ``z0``; fluxes and continuum start from their linear solution."""
    n = len(z0)
    p = np.column_stack([z0, np.full(n, sigma_guess), np.zeros(n), np.zeros(n), np.zeros(n)])
    p = _linear_step(p, lo, hi, ys, ws, resolution)
    lam = np.full(n, 1e-2)
    chi2 = _chi2(p, lo, hi, ys, ws, resolution)
    converged = np.zeros(n, bool)
    for _ in range(max_iter):
        active = ~converged
        if not active.any():
            break
        pa = p[active]
        base, jac = _model_and_jacobian(pa, lo[active], hi[active], resolution)
        r = ys[active] - base
        jtw = jac * ws[active][:, :, None]
        a = np.einsum("nmi,nmj->nij", jtw, jac)
        g = np.einsum("nmi,nm->ni", jtw, r)
        diag = np.einsum("nii->ni", a)
        a_damped = a + (lam[active][:, None, None] * np.eye(5)[None]) * np.maximum(diag, 1e-12)[:, :, None]
        step = np.linalg.solve(a_damped + _ridge(a_damped), g[:, :, None])[:, :, 0]
        trial = _clip(pa + step, zg[active], dz)
        chi_new = _chi2(trial, lo[active], hi[active], ys[active], ws[active], resolution)
        ok = chi_new <= chi2[active]
        idx_a = np.flatnonzero(active)
        improved = chi2[active] - chi_new
        p[idx_a[ok]] = trial[ok]
        # stop when χ² no longer moves, or when every step is a hundredth of that parameter's error
        # (the step actually taken: at a bound the proposed one can stay large forever)
        tiny = np.all(np.abs(trial - pa) * np.sqrt(np.maximum(diag, 0)) < 1e-3, axis=1)
        small = ok & ((improved < 1e-6) | tiny)
        chi2[idx_a[ok]] = chi_new[ok]
        lam[idx_a] = np.where(ok, lam[idx_a] * 0.3, lam[idx_a] * 10)
        converged[idx_a[small | (lam[idx_a] > 1e8)]] = True
    return p, chi2, converged


def _ridge(a):
    """A tiny diagonal load (relative to each matrix's scale) so that batched solves never
    meet a singular matrix; a spectrum with no usable channel solves to zeros."""
    k = a.shape[-1]
    scale = np.abs(np.einsum("nii->n", a)) / k
    return (1e-10 * scale + 1e-300)[:, None, None] * np.eye(k)[None]


def _clip(p, zg, dz):
    p = p.copy()
    p[:, 0] = np.clip(p[:, 0], zg - dz, zg + dz)
    p[:, 1] = np.clip(p[:, 1], *SIGMA_BOUNDS)
    return p


def _chi2(p, lo, hi, y, w, resolution):
    return (w * (y - model_spectra(p, lo, hi, resolution)) ** 2).sum(1)


def _linear_step(p, lo, hi, y, w, resolution):
    """Solve for fluxes and continuum at fixed z and σ (the model is linear in them)."""
    p = p.copy()
    jac = _basis(_profiles(p[:, 0:1], p[:, 1:2], lo, hi, resolution))
    a = np.einsum("nmi,nmj->nij", jac * w[:, :, None], jac)
    a = a + _ridge(a)
    b = np.einsum("nmi,nm->ni", jac * w[:, :, None], y)
    p[:, 2:] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    return p


def _curvature_errors(p, lo, hi, w, resolution):
    jac = _model_and_jacobian(p, lo, hi, resolution)[1]
    a = np.einsum("nmi,nmj->nij", jac * w[:, :, None], jac)
    cov = np.linalg.inv(a + _ridge(a))
    return np.sqrt(np.clip(np.einsum("nii->ni", cov), 0, None))


def perturbed_errors(wave_um, flux, noise, fit: LineFit, n_perturb: int = 50, dz: float = 0.01,
                     resolution: float = C.KMOS_RESOLUTION, rng: np.random.Generator | None = None) -> np.ndarray:
    """Monte Carlo errors (N, 5): perturb each spectrum within its noise ``n_perturb`` times and
    refit (KROSS §2: "perturbing the data points within their error bars, and repeating the fit").

    All N × n_perturb refits run as one batch, started at the best fit.
    """
    rng = rng or np.random.default_rng(0)
    flux = np.atleast_2d(flux)
    noise = np.atleast_2d(noise)
    n = flux.shape[0]
    reps = np.repeat(np.arange(n), n_perturb)
    draws = flux[reps] + np.nan_to_num(noise[reps]) * rng.standard_normal((reps.size, flux.shape[1]))
    refit = fit_halpha_nii(wave_um, draws, noise[reps], fit.params[reps, 0], dz=dz, resolution=resolution,
                           z_search=False)
    # keep each refit inside the original search window
    return refit.params.reshape(n, n_perturb, 5).std(axis=1, ddof=1)
