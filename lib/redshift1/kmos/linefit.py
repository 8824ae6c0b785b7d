"""Hα + [NII] fits of many spectra at once: a batched Levenberg–Marquardt in numpy.

The model (KROSS §2) is three pixel-integrated Gaussians sharing one redshift and one
intrinsic velocity dispersion, broadened by the instrumental resolution, with
[NII]6583/[NII]6548 = 3, on a constant continuum:

    f(λ) = c + F_Hα G(λ; λ_Hα(1+z), σ) + F_NII [G(λ; λ_6583(1+z), σ) + G(λ; λ_6548(1+z), σ)/3]

with σ² = (λ σ_v / c)² + (λ / 2.3548 R)² (2.3548 = 2√(2 ln 2), ``constants.SIGMA_TO_FWHM``).
Fluxes are free to go negative, so a non-detection is an unbiased flux with its error
rather than a zero.

Every spectrum gets its own window of the same number of channels, cut around its
catalogue redshift; a coarse matched-filter search over ``z ± dz`` starts each fit, then
all spectra iterate together: one (N, 5, 5) linear solve per step instead of N Python
fits. ``benchmarks/bench_fitting.py`` compares it with ``scipy.optimize.curve_fit``, lmfit and
specutils loops started from the same redshift (:func:`fit_start`) on the same channels.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np
from scipy.signal import correlate
from scipy.special import erf

from .. import constants as C

C_KMS = C.C_KMS
LINES_UM = np.array([C.HALPHA.to_value("um"), C.NII_6583.to_value("um"), C.NII_6548.to_value("um")])
PARAMS = ("z", "sigma_kms", "flux_halpha", "flux_nii6583", "continuum")
SIGMA_BOUNDS = (1.0, 600.0)
# half-width in z of the window the LM works in, around its start: ±~470 km/s at z≈0.9,
# many times the matched filter's one-channel error, so fits see 100 channels, not 160
FIT_HALF_DZ = 0.003
# A fit is at its χ² minimum when a full Gauss–Newton step would gain less than 0.01 in χ²
# (Newton decrement < 0.02): its parameters lie within ~0.1σ of the minimum and χ² within
# 0.01 of it, below anything a Δχ² test could tell apart. Only fits further away are
# flagged not converged; iterations still stop at the far stricter ``tol`` when they can.
AT_MINIMUM = 0.02


@dataclass
class LineFit:
    """Best fits of N spectra (arrays of length N; fluxes in the data unit × µm).

    Each name of :data:`PARAMS` (``z``, ``sigma_kms``, ``flux_halpha``, ``flux_nii6583``,
    ``continuum``) and its ``*_err`` is an attribute (a column of ``params``/``errors``);
    ``snr_halpha``, ``snr_nii6583`` and ``fwhm_kms`` are derived.

    Attributes
    ----------
    params : numpy.ndarray
        (N, 5) best-fit parameters in the order of :data:`PARAMS`; ``sigma_kms`` is the
        intrinsic (instrument-corrected) dispersion.
    errors : numpy.ndarray
        (N, 5) 1σ errors from the curvature of χ² (Monte Carlo ones: :mod:`redshift1.kmos.line_errors`).
    chi2, dof : numpy.ndarray
        χ² and degrees of freedom of each fit.
    converged : numpy.ndarray
        bool, the optimiser met its tolerance.
    window : numpy.ndarray
        (N, M) channel indices used by each fit.
    flux_correlation : numpy.ndarray or None
        (N,) correlation of the Hα and [NII]6583 flux errors (curvature of χ²; shared z and width).
    """

    params: np.ndarray          # (N, 5)
    errors: np.ndarray          # (N, 5)
    chi2: np.ndarray
    dof: np.ndarray
    converged: np.ndarray
    window: np.ndarray          # (N, M) channel indices used
    flux_correlation: np.ndarray | None = None

    def rows(self, index) -> "LineFit":
        """The fits of the spectra ``index`` (a slice or index array) as a LineFit."""
        return LineFit(**{f.name: (None if getattr(self, f.name) is None else getattr(self, f.name)[index])
                          for f in fields(self)})

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
        return C.SIGMA_TO_FWHM * self.sigma_kms


def line_sigma_um(centre_um, sigma_kms, resolution):
    """Total Gaussian σ of a line: intrinsic dispersion ⊕ instrumental resolution.

    Parameters
    ----------
    centre_um : float or numpy.ndarray
        Observed line centre [µm].
    sigma_kms : float or numpy.ndarray
        Intrinsic velocity dispersion [km/s].
    resolution : float
        Spectral resolving power λ/FWHM.

    Returns
    -------
    float or numpy.ndarray
        σ [µm].
    """
    return np.hypot(centre_um * sigma_kms / C_KMS, centre_um / (C.SIGMA_TO_FWHM * resolution))


# erf(5) = 1 − 1.5e-12: a channel whose edges both lie beyond 5√2 σ of a line holds none of it
BAND_U = 5.0


def _line_bands(z, sig_v, lo, hi, resolution, derivatives=False):
    """Each line's channel-averaged unit-flux profile on the channels near it, as sparse
    pieces: a list over the three lines of (flat channel index into (N, M), rows,
    profile, and with ``derivatives`` d/dz and d/dσ_v), all analytic.

    Adjacent channels share an edge, so erf and exp are evaluated once per edge, and only
    on the band of edges within ``BAND_U``·√2σ of each line (a few tens of a window's
    ~100): the profile is zero to double precision beyond it. Windows are cut from a
    uniform grid, so band edges follow from the first edge and the channel width.
    """
    n, m = lo.shape
    dlam = (hi[:, -1] - lo[:, 0]) / m
    out = []
    # the three lines share σ_v, so one grouping (set by the widest, [NII]6583) serves all
    sig_widest = line_sigma_um(LINES_UM[1] * (1 + z[:, 0]), sig_v[:, 0], resolution)
    groups = _band_groups(sig_widest / dlam, m + 1)
    for k, rest in enumerate(LINES_UM):
        mu = rest * (1 + z)                                   # (N, 1)
        sig = line_sigma_um(mu, sig_v, resolution)            # (N, 1)
        for rows, length in groups:
            centre = (mu[rows, 0] - lo[rows, 0]) / dlam[rows]
            start = np.clip(np.round(centre - length / 2).astype(int), 0, m + 1 - length)
            j = start[:, None] + np.arange(length)[None, :]
            mr, sg = mu[rows], sig[rows]
            s2 = sg * np.sqrt(2)
            u = (lo[rows, :1] + j * dlam[rows, None] - mr) / s2
            e = erf(u)
            inv_w = 1.0 / dlam[rows, None]
            piece = [(rows[:, None] * m + j[:, :-1]).ravel(), rows, 0.5 * (e[:, 1:] - e[:, :-1]) * inv_w]
            if derivatives:
                g = np.exp(-u**2)
                ug = u * g
                common = inv_w / np.sqrt(np.pi)
                dmu = (g[:, :-1] - g[:, 1:]) * (common / s2)      # d prof / d mu
                dsig = (ug[:, :-1] - ug[:, 1:]) * (common / sg)   # d prof / d sigma
                # sigma depends on mu (both terms ∝ mu) and on sigma_v
                piece += [(dmu + dsig * (sg / mr)) * rest, dsig * (mr**2 * sig_v[rows] / C_KMS**2 / sg)]
            out.append((k, piece))
    return out


def _band_groups(sig_channels, n_edges):
    """(rows, band length in edges) covering ±BAND_U·√2σ. Nine rows in ten share one band
    length; the broadest tenth (fits wandering to a large σ among them) take the whole
    window, so a few outliers do not widen the band of the batch."""
    n = sig_channels.size
    if n == 0:
        return []
    need = 2 * np.ceil(BAND_U * np.sqrt(2) * sig_channels) + 3
    q = int(0.9 * (n - 1))
    length = int(min(n_edges, np.partition(need, q)[q]))
    narrow = need <= length
    return [(r, ln) for r, ln in ((np.flatnonzero(narrow), length), (np.flatnonzero(~narrow), n_edges)) if r.size]


def _dense(pieces, n, m, value):
    """Sum sparse band pieces into an (N, M) array; ``value(k, piece)`` gives the weights."""
    idx = np.concatenate([pc[0] for _, pc in pieces])
    w = np.concatenate([value(k, pc).ravel() for k, pc in pieces])
    return np.bincount(idx, weights=w, minlength=n * m).reshape(n, m)


def _profiles(z, sig_v, lo, hi, resolution):
    """Unit-flux line profiles (3, N, M) averaged over each channel."""
    n, m = lo.shape
    prof = np.zeros((3, n * m))
    for k, pc in _line_bands(z, sig_v, lo, hi, resolution):
        np.put(prof[k], pc[0], pc[2])
    return prof.reshape(3, n, m)


def _basis(prof):
    """Rows (N, 3, M) multiplying F_Hα, F_NII6583 and the continuum."""
    return np.stack([prof[0], prof[1] + prof[2] / C.NII_RATIO, np.ones(prof.shape[1:])], axis=1)


def model_spectra(params: np.ndarray, edges_lo: np.ndarray, edges_hi: np.ndarray, resolution: float) -> np.ndarray:
    """Model flux density on channels [edges_lo, edges_hi) for each parameter row.

    Parameters
    ----------
    params : numpy.ndarray
        (N, 5) parameter rows in the order of :data:`PARAMS`.
    edges_lo, edges_hi : numpy.ndarray
        (N, M) channel edges [µm].
    resolution : float
        Spectral resolving power λ/FWHM.

    Returns
    -------
    numpy.ndarray
        (N, M) channel-averaged flux density.
    """
    prof = _profiles(params[:, 0:1], params[:, 1:2], edges_lo, edges_hi, resolution)
    a = params[:, 2:3]
    return a * prof[0] + params[:, 3:4] * (prof[1] + prof[2] / C.NII_RATIO) + params[:, 4:5]


def _model_and_jacobian(params, lo, hi, resolution):
    """Model (N, M) and its Jacobian (N, 5, M), analytic."""
    n, m = lo.shape
    pieces = _line_bands(params[:, 0:1], params[:, 1:2], lo, hi, resolution, derivatives=True)
    amp = np.column_stack([params[:, 2], params[:, 3], params[:, 3] / C.NII_RATIO])
    jac = np.empty((n, 5, m))
    jac[:, 0] = _dense(pieces, n, m, lambda k, pc: amp[pc[1], k, None] * pc[3])
    jac[:, 1] = _dense(pieces, n, m, lambda k, pc: amp[pc[1], k, None] * pc[4])
    jac[:, 2] = _dense([pk for pk in pieces if pk[0] == 0], n, m, lambda k, pc: pc[2])
    jac[:, 3] = _dense([pk for pk in pieces if pk[0] > 0], n, m, lambda k, pc: pc[2] / (1.0 if k == 1 else C.NII_RATIO))
    jac[:, 4] = 1.0
    model = params[:, 2:3] * jac[:, 2] + params[:, 3:4] * jac[:, 3] + params[:, 4:5]
    return model, jac


def _windows(wave_um: np.ndarray, z_guess: np.ndarray, dz: float, margin_um: float = 0.0035):
    """Channel indices (N, M) of equal-length windows covering each spectrum's lines."""
    lo = LINES_UM[2] * (1 + z_guess - dz) - margin_um
    hi = LINES_UM[1] * (1 + z_guess + dz) + margin_um
    dlam = np.median(np.diff(wave_um))
    m = int(np.ceil(np.max(hi - lo) / dlam)) + 1
    start = np.clip(np.searchsorted(wave_um, lo), 0, max(wave_um.size - m, 0))
    return start[:, None] + np.arange(min(m, wave_um.size))[None, :]


def _row_median(values, usable, empty):
    """Median of each row's usable values; ``empty`` for a row with none (no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(usable, values, np.nan), axis=1)
    return np.where(np.isfinite(med), med, empty)


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
    cont = _row_median(y, w > 0, empty=0.0)
    yc = y - cont[:, None]
    num = correlate(w * yc, tmpl[None, :], mode="same", method="fft")
    den = correlate(w, (tmpl**2)[None, :], mode="same", method="fft")
    score = np.where((num > 0) & (den > 0), num**2 / np.where(den > 0, den, 1), -np.inf)
    z_of = centres / LINES_UM[0] - 1                                   # z if Hα sat at this channel
    score[np.abs(z_of - z_guess[:, None]) > dz] = -np.inf
    best = np.argmax(score, axis=1)
    found = np.isfinite(score[np.arange(len(best)), best])
    return np.where(found, z_of[np.arange(len(best)), best], z_guess)


def fit_start(wave_um, flux, noise, z_guess, dz: float = 0.01,
              resolution: float = C.KMOS_RESOLUTION) -> tuple[np.ndarray, np.ndarray]:
    """Where :func:`fit_halpha_nii` starts: the matched-filter redshift of each spectrum and
    the channels of the window its fit works in.

    Parameters
    ----------
    wave_um : (M_all,) array
        Channel centres in µm (vacuum), uniformly sampled.
    flux, noise : (N, M_all) arrays
        Flux densities and 1σ noise; NaN or non-positive noise channels are ignored.
    z_guess : float or (N,) array
        Catalogue redshift; the search covers ``z_guess ± dz``.
    dz : float
        Half-width of the redshift search.
    resolution : float
        Spectral resolving power λ/Δλ (FWHM).

    Returns
    -------
    z0 : (N,) array
        The matched-filter redshift (``z_guess`` where no channel scores).
    window : (N, M) int array
        Channel indices of each spectrum's fitting window around ``z0``; other fitters
        given ``z0`` and these channels do the same work (``benchmarks/bench_fitting.py``).
    """
    wave = np.asarray(wave_um, float)
    flux = np.atleast_2d(np.asarray(flux, float))
    noise = np.atleast_2d(np.asarray(noise, float))
    zg = np.broadcast_to(np.asarray(z_guess, float), (flux.shape[0],)).copy()
    search = _cut(wave, flux, noise, zg, dz)
    z0 = _matched_filter_z(search.centres, search.y, search.w, zg, dz, resolution)
    return z0, _windows(wave, z0, min(dz, FIT_HALF_DZ))


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
    max_iter : int
        Levenberg-Marquardt iterations at most (``converged`` is False when they run out).
    sigma_guess : float
        Starting intrinsic dispersion [km/s].
    z_search : bool
        Start from a matched-filter search over ``z ± dz`` (else from ``z_guess``).

    Returns
    -------
    LineFit
        The best fit of each spectrum.
    """
    wave = np.asarray(wave_um, float)
    flux = np.atleast_2d(np.asarray(flux, float))
    noise = np.atleast_2d(np.asarray(noise, float))
    n = flux.shape[0]
    zg = np.broadcast_to(np.asarray(z_guess, float), (n,)).copy()
    search = _cut(wave, flux, noise, zg, dz)
    scale = search.scale
    half = min(dz, FIT_HALF_DZ)
    z0 = _matched_filter_z(search.centres, search.y, search.w, zg, dz, resolution) if z_search else zg
    centre = z0.copy()                 # where each spectrum's fitting window is centred
    win = _cut(wave, flux, noise, centre, half, scale)
    p, chi2, converged = _levenberg_marquardt(z0, sigma_guess, win, zg, dz, resolution, max_iter)
    if z_search:
        # the template can lock onto [NII]6583 (or 6548) as if it were Hα: a fit with no Hα,
        # or with [NII] above it, is refitted from the aliases z ± Δ(Hα−[NII]), all in one
        # batch, and the alias kept if it explains the spectrum better
        suspicious = (p[:, 2] <= 0) | (p[:, 3] > p[:, 2])
        shifts = (LINES_UM[1:] - LINES_UM[0]) / LINES_UM[0]
        za = np.concatenate([z0 + sgn * sh * (1 + z0) for sh in shifts for sgn in (-1, 1)])
        of = np.tile(np.arange(n), 2 * shifts.size)           # the spectrum each alias belongs to
        sel = np.flatnonzero(suspicious[of] & (np.abs(za - zg[of]) <= dz))
        if sel.size:
            za, of = za[sel], of[sel]
            pa, _, cv = _levenberg_marquardt(za, sigma_guess, _cut(wave, flux[of], noise[of], za, half, scale[of]),
                                             zg[of], dz, resolution, max_iter)
            # the two fits saw different windows: compare them on one that holds both
            both = _cut(wave, flux[of], noise[of], 0.5 * (p[of, 0] + pa[:, 0]),
                        0.5 * np.abs(p[of, 0] - pa[:, 0]) + half, scale[of])
            gain = (_chi2(_linear_step(p[of], both, resolution), both, resolution)
                    - _chi2(_linear_step(pa, both, resolution), both, resolution))
            # the best alias of each spectrum, if it beats the first fit
            order = np.lexsort((-gain, of))
            first = order[np.r_[True, of[order][1:] != of[order][:-1]]]
            win_ = first[gain[first] > 1e-6]
            tgt = of[win_]
            p[tgt], converged[tgt], centre[tgt] = pa[win_], cv[win_], za[win_]
    # fluxes and continuum are linear: solve them exactly at the final z and σ, on the
    # window each winning fit was made on
    win = _cut(wave, flux, noise, centre, half, scale)
    p = _linear_step(p, win, resolution)
    chi2 = _chi2(p, win, resolution)
    cov = _curvature_covariance(p, win, resolution)
    err = np.sqrt(np.clip(np.einsum("nii->ni", cov), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cov[:, 2, 3] / (err[:, 2] * err[:, 3])
    p_out = p.copy()
    p_out[:, 2:] *= scale[:, None]
    err[:, 2:] *= scale[:, None]
    dof = win.good.sum(1) - 5
    empty = dof < 5
    p_out[empty], err[empty], chi2[empty], rho[empty] = np.nan, np.nan, np.nan, np.nan
    converged &= ~empty
    return LineFit(params=p_out, errors=err, chi2=chi2, dof=dof, converged=converged, window=win.idx,
                   flux_correlation=rho)


@dataclass
class _Window:
    """Channels of N spectra cut around their lines, fluxes scaled to O(1) noise."""

    idx: np.ndarray       # (N, M) channel indices
    centres: np.ndarray   # (N, M) µm
    lo: np.ndarray
    hi: np.ndarray
    y: np.ndarray         # scaled flux, 0 where unusable
    w: np.ndarray         # scaled inverse variance, 0 where unusable
    good: np.ndarray
    scale: np.ndarray     # (N,) the flux unit the fit works in


def _cut(wave, flux, noise, z, dz, scale=None) -> _Window:
    """Equal-length windows around each spectrum's lines at ``z ± dz``. ``scale`` (default:
    the median noise in the window) puts fluxes at O(1) so the damping and the convergence
    test are unit-free; windows of one fit share it so their χ² compare."""
    idx = _windows(wave, z, dz)
    dlam = np.median(np.diff(wave))
    centres = wave[idx]
    rows = np.arange(flux.shape[0])[:, None]
    y, e = flux[rows, idx], noise[rows, idx]
    good = np.isfinite(y) & np.isfinite(e) & (e > 0)
    w = np.where(good, 1.0 / np.where(good, e, 1.0) ** 2, 0.0)
    y = np.where(good, y, 0.0)
    if scale is None:
        scale = _row_median(e, good, empty=1.0)
        scale = np.where(scale > 0, scale, 1.0)
    return _Window(idx, centres, centres - dlam / 2, centres + dlam / 2, y / scale[:, None],
                   w * scale[:, None] ** 2, good, scale)


def _levenberg_marquardt(z0, sigma_guess, win, zg, dz, resolution, max_iter, tol=1e-4):
    """Batched LM from redshifts ``z0``; fluxes and continuum start from their linear solution.

    A spectrum stops iterating when its Newton decrement gᵀA⁻¹g (the χ² a full Gauss–Newton
    step would still gain, ×2) falls below ``tol``: its parameters then sit within ~1% of
    their errors of the minimum, however damped the last steps were. A fit that stops
    otherwise (``max_iter`` reached while crawling along a curved low-S/N valley, or no
    damped step lowering χ² any more) is still flagged converged when it sits at the χ²
    minimum to within what the data distinguish (:data:`AT_MINIMUM`), and failed only
    when it does not. Each trial point is
    evaluated with its Jacobian, so an accepted step needs no second evaluation (erf
    dominates the cost). The spectra still iterating are kept as one compact working set,
    shrunk when some finish, rather than gathered from the full arrays at every step.
    """
    n = len(z0)
    p = np.column_stack([z0, np.full(n, sigma_guess), np.zeros(n), np.zeros(n), np.zeros(n)])
    p = _linear_step(p, win, resolution)
    chi2 = np.empty(n)
    converged = np.zeros(n, bool)
    eye = np.eye(5)[None]
    # the working set: indices into the batch and their arrays
    act = np.arange(n)
    lo, hi, y, w, zw = win.lo, win.hi, win.y, win.w, zg
    pw, lam = p, np.full(n, 1e-2)
    model, jac = _model_and_jacobian(pw, lo, hi, resolution)
    chiw = (w * (y - model) ** 2).sum(1)
    for _ in range(max_iter):
        a, g, dec = _newton_decrement(pw, model, jac, y, w, zw, dz)
        now = dec < tol
        stop = now | (lam > 1e8)
        if stop.any():
            p[act[stop]], chi2[act[stop]] = pw[stop], chiw[stop]
            converged[act[stop]] = dec[stop] < AT_MINIMUM
            keep = ~stop
            act, lo, hi, y, w, zw = act[keep], lo[keep], hi[keep], y[keep], w[keep], zw[keep]
            pw, lam, model, jac, chiw, a, g = pw[keep], lam[keep], model[keep], jac[keep], chiw[keep], a[keep], g[keep]
            if act.size == 0:
                break
        # step in σ_v² rather than σ_v: the line width σ² = (λσ_v/c)² + σ_inst² is linear in
        # it, so Gauss–Newton does not overshoot and oscillate when σ_v is near or below the
        # instrumental width
        d = 0.5 / pw[:, 1]
        a[:, 1, :] *= d[:, None]
        a[:, :, 1] *= d[:, None]
        g[:, 1] *= d[:, None]
        diag = np.maximum(np.einsum("nii->ni", a), 1e-12)
        a_damped = a + lam[:, None, None] * eye * diag[:, :, None]
        step = np.linalg.solve(a_damped + _ridge(a_damped), g)[:, :, 0]
        trial = pw + step
        trial[:, 1] = np.sqrt(np.maximum(pw[:, 1] ** 2 + step[:, 1], SIGMA_BOUNDS[0] ** 2))
        trial = _clip(trial, zw, dz)
        m_new, j_new = _model_and_jacobian(trial, lo, hi, resolution)
        chi_new = (w * (y - m_new) ** 2).sum(1)
        ok = chi_new <= chiw
        if ok.all():
            pw, model, jac, chiw = trial, m_new, j_new, chi_new
        else:
            pw, model, jac, chiw = pw.copy(), model.copy(), jac.copy(), chiw.copy()
            pw[ok], model[ok], jac[ok], chiw[ok] = trial[ok], m_new[ok], j_new[ok], chi_new[ok]
        lam = np.where(ok, lam * 0.3, lam * 10)
    if act.size:                                                           # max_iter reached
        p[act], chi2[act] = pw, chiw
        converged[act] = _newton_decrement(pw, model, jac, y, w, zw, dz)[2] < AT_MINIMUM
    return p, chi2, converged


def _newton_decrement(p, model, jac, y, w, zg, dz):
    """Gauss–Newton normal matrix (n, 5, 5) and gradient (n, 5, 1) in the free parameters,
    and the Newton decrement gᵀA⁻¹g (n,): twice the χ² a full Gauss–Newton step would gain."""
    jtw = jac * w[:, None, :]                                             # (n, 5, M)
    a = jtw @ np.swapaxes(jac, 1, 2)
    g = jtw @ (y - model)[:, :, None]
    # a parameter pinned at a bound by a gradient pushing outwards takes no step: solving
    # in the free subspace keeps the others from chasing a step that the clip undoes
    free = _free(p, zg, dz, g[:, :, 0])
    a = a * (free[:, :, None] & free[:, None, :]) + np.eye(5)[None] * ~free[:, :, None]
    g = g * free[:, :, None]
    dec = (g[:, :, 0] * np.linalg.solve(a + _ridge(a), g)[:, :, 0]).sum(1)
    return a, g, dec


def _free(p, zg, dz, grad):
    """(n, 5) mask of parameters not held at a bound by a gradient pushing outwards."""
    free = np.ones(p.shape, bool)
    free[:, 0] = ~(((p[:, 0] <= zg - dz) & (grad[:, 0] < 0)) | ((p[:, 0] >= zg + dz) & (grad[:, 0] > 0)))
    free[:, 1] = ~(((p[:, 1] <= SIGMA_BOUNDS[0]) & (grad[:, 1] < 0)) | ((p[:, 1] >= SIGMA_BOUNDS[1]) & (grad[:, 1] > 0)))
    return free


def _ridge(a):
    """A tiny diagonal load so that batched solves never meet a singular matrix (a spectrum
    with no usable channel solves to zeros). It is relative to each diagonal element: the
    parameters' curvatures differ by ~10¹⁰ (z against σ_v), so a load scaled to the trace
    would damp σ_v steps and shrink its error."""
    k = a.shape[-1]
    return (1e-10 * np.abs(np.einsum("nii->ni", a)) + 1e-300)[:, :, None] * np.eye(k)[None]


def _clip(p, zg, dz):
    p = p.copy()
    p[:, 0] = np.clip(p[:, 0], zg - dz, zg + dz)
    p[:, 1] = np.clip(p[:, 1], *SIGMA_BOUNDS)
    return p


def _chi2(p, win, resolution):
    return (win.w * (win.y - model_spectra(p, win.lo, win.hi, resolution)) ** 2).sum(1)


def _linear_step(p, win, resolution):
    """Solve for fluxes and continuum at fixed z and σ (the model is linear in them)."""
    p = p.copy()
    lo, hi, y, w = win.lo, win.hi, win.y, win.w
    jac = _basis(_profiles(p[:, 0:1], p[:, 1:2], lo, hi, resolution))
    a = np.einsum("nim,njm->nij", jac * w[:, None, :], jac)
    a = a + _ridge(a)
    b = np.einsum("nim,nm->ni", jac * w[:, None, :], y)
    p[:, 2:] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
    return p


def _curvature_covariance(p, win, resolution):
    """(N, 5, 5) parameter covariance from the curvature of χ² (inverse Fisher matrix)."""
    lo, hi, w = win.lo, win.hi, win.w
    jac = _model_and_jacobian(p, lo, hi, resolution)[1]
    a = np.einsum("nim,njm->nij", jac * w[:, None, :], jac)
    return np.linalg.inv(a + _ridge(a))
