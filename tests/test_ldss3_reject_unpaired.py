"""reject_unpaired flags a lonely pixel's outlier exactly as the whole-frame definition does."""
import warnings

import numpy as np

from redshift1.ldss3.nodshuffle import reject_unpaired


def reference(stack, bad, noise, nsigma, reach):
    """The definition, frame by frame: compare each pixel only one exposure sees with the
    other exposures' nearest good columns of the same row (whole shifted stacks)."""
    x = np.where(bad, np.nan, stack.astype(np.float32))
    out = bad.copy()
    n, ny, nx = x.shape
    lonely = np.isfinite(x).sum(0) == 1
    for e in range(n):
        others = np.delete(x, e, axis=0)
        hi = np.full((ny, nx), np.nan)
        lo = np.full((ny, nx), np.nan)
        for d in range(1, reach + 1):
            sh = np.full((2 * (n - 1), ny, nx), np.nan)
            sh[:n - 1, :, d:] = others[:, :, :-d]
            sh[n - 1:, :, :-d] = others[:, :, d:]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN columns
                need = ~np.isfinite(hi)
                hi = np.where(need, np.nanmax(sh, 0), hi)
                lo = np.where(need, np.nanmin(sh, 0), lo)
        tol = nsigma * np.sqrt(2.0) * noise
        with np.errstate(invalid="ignore"):
            out[e] |= lonely & np.isfinite(x[e]) & np.isfinite(hi) & ((x[e] - hi > tol) | (lo - x[e] > tol))
    return out


def test_matches_the_whole_frame_definition():
    rng = np.random.default_rng(11)
    n, ny, nx = 5, 40, 60
    noise = np.full((ny, nx), 2.0, np.float32)
    stack = rng.normal(0, 2.0, (n, ny, nx)).astype(np.float32)
    stack[:, 10:13, 20:24] += 30.0                              # a real line, in every exposure
    bad = rng.random((n, ny, nx)) < 0.5                         # many pixels seen by one exposure only
    bad[:, :, :2] = True
    hits = rng.integers(0, [n, ny, nx], (800, 3))
    stack[hits[:, 0], hits[:, 1], hits[:, 2]] += rng.choice([-1, 1], 800) * 200.0   # cosmic rays (and holes)
    got, n_flag = reject_unpaired(stack, bad, noise, 5.0, reach=2)
    want = reference(stack, bad, noise, 5.0, 2)
    assert n_flag > 0                                           # the test exercises the rejection
    assert n_flag == int((want & ~bad).sum())
    np.testing.assert_array_equal(got, want)
