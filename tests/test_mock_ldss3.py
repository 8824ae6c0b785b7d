"""The mock ROLES / LDSS3 survey: determinism, nod-and-shuffle physics, flux scale,
charge traps, and the loaders of :mod:`redshift1.ldss3.survey_files` (tiny preset, seeded)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from scipy.ndimage import median_filter
from scipy.special import erf

from redshift1.errors import DataFormatError, MissingInputError
from redshift1.ldss3 import survey_files as lio
from redshift1.mock import ldss3 as L
from redshift1.mock.population import Relations
from redshift1.mock.roles import LINES, OII_DOUBLET, ROLES_PRESETS, observe_roles

SEED = 11
RDN = L.RDNOISE


def _run(base: Path, seed: int = SEED):
    out, truth = base / "ldss3", base / "truth"
    summary = observe_roles(out, "tiny", seed, Relations(), truth)
    return out, truth, summary


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("tiny_a"))


def _hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _truth(truth: Path, name: str) -> Table:
    return Table.read(truth / f"roles_{name}.ecsv")


def _injected(out, truth):
    """Design row, truth line and truth slit of the bright injected [OII] line."""
    gal = _truth(truth, "galaxies")
    oid = gal["id"][gal["injected"]][0]
    design = lio.read_design(out / "masks" / "mask4")
    slit = design[design["object_id"] == oid][0]
    lines = _truth(truth, "lines")
    line = lines[(lines["object_id"] == oid) & (lines["line"] == "OII_3727")][0]
    tslit = _truth(truth, "slits")
    tslit = tslit[tslit["object_id"] == oid][0]
    return slit, line, tslit


def _frame_without_cosmics(out, truth, fname):
    """A raw frame with the cosmic-ray electrons recorded in the truth removed."""
    data = fits.getdata(out / fname).astype(float)
    cr = _truth(truth, "cosmics")
    cr = cr[cr["file"] == fname]
    np.subtract.at(data, (np.asarray(cr["y"]), np.asarray(cr["x"])), np.asarray(cr["electrons"]))
    return data


def _defect_mask(out, truth, shape):
    """Bad pixels of the bpm plus the charge-trap streaks of the truth."""
    bad = lio.read_bpm(out).copy()
    for t in _truth(truth, "charge_traps"):
        bad[int(t["y"]) + 1:int(t["y"]) + 1 + L.SHUFFLE, int(t["x"])] = True
    assert bad.shape == shape
    return bad


# --------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_files_and_other_seed_differs(tiny, tmp_path):
    out, truth, summary = tiny
    out2, truth2, summary2 = _run(tmp_path / "again")
    h1, h2 = _hashes(out), _hashes(out2)
    assert h1 == h2, "same seed must give byte-identical raw data"
    assert _hashes(truth) == _hashes(truth2)
    assert len(h1) == summary["n_files"] >= 10
    out3, _, _ = _run(tmp_path / "other", seed=SEED + 1)
    h3 = _hashes(out3)
    raw = [k for k in h1 if k.startswith("masks/") and k.endswith(".fits")]
    assert raw and all(h1[k] != h3[k] for k in raw), "a different seed must change every raw frame"


def test_truth_stays_out_of_the_raw_data(tiny):
    out, truth, _ = tiny
    assert not any(p.name.startswith("roles_") for p in out.rglob("*"))
    for p in (out / "masks").rglob("*.fits"):
        h = fits.getheader(p)
        assert not {"FLEXX", "FLEXY", "SEEING", "DRIFT"} & set(h.keys())
        assert h["AIRORVAC"] == "vac" and h["FILTER"] == "KG750" and h["RDNOISE"] == RDN


# --------------------------------------------------------------------------- N&S physics
def test_shift_subtraction_gives_equal_and_opposite_nod_images(tiny):
    out, truth, _ = tiny
    slit, line, tslit = _injected(out, truth)
    ex = _truth(truth, "exposures")
    ex = ex[ex["expnum"] > 0]
    # the exposure whose objects sit closest to their nominal nod positions
    shift = np.abs(ex["flex_dy"] + ex["drift_dy"])
    e = ex[int(np.argmin(shift))]
    assert abs(e["flex_dy"] + e["drift_dy"]) < 1.5
    fname = str(e["file"])
    data = _frame_without_cosmics(out, truth, fname)
    bad = _defect_mask(out, truth, data.shape)
    a0, b0 = int(slit["a_row_lo"]), int(slit["b_row_lo"])
    diff = data[a0:a0 + 16] - data[b0:b0 + 16]                 # A - B: sky removed
    var = np.clip(data[a0:a0 + 16], 0, None) + np.clip(data[b0:b0 + 16], 0, None) + 2 * RDN**2
    badd = bad[a0:a0 + 16] | bad[b0:b0 + 16]
    dy = e["flex_dy"] + e["drift_dy"] + tslit["y_offset"]
    ya = float(slit["nod_a_row"]) - a0 + dy                    # nod A row within the slit
    xc = float(line["x_zero_flexure"]) + e["flex_dx"]
    cols = np.arange(int(round(xc)) - 9, int(round(xc)) + 10)
    ra = np.arange(int(round(ya)) - 3, int(round(ya)) + 4)
    rb = ra + L.NOD                                             # nod B is NODPIX rows up
    assert ra.min() >= 0 and rb.max() < 16
    ok = ~(badd[np.ix_(ra, cols)] | badd[np.ix_(rb, cols)])    # mirror the exclusions
    pos = diff[np.ix_(ra, cols)][ok].sum()
    neg = diff[np.ix_(rb, cols)][ok].sum()
    sig = np.sqrt(var[np.ix_(ra, cols)][ok].sum() + var[np.ix_(rb, cols)][ok].sum())
    assert pos > 20 * sig and neg < -20 * sig                   # a bright line: + at A, - at B
    assert abs(pos + neg) < 4 * sig, (pos, neg, sig)


def test_sky_cancels_to_the_noise_in_shift_subtraction(tiny):
    out, truth, _ = tiny
    design = lio.read_design(out / "masks" / "mask4")
    lines = _truth(truth, "lines")
    chis, chis_bright = [], []
    for e in _truth(truth, "exposures"):
        if e["expnum"] == 0:
            continue
        fname = str(e["file"])
        data = _frame_without_cosmics(out, truth, fname)
        bad = _defect_mask(out, truth, data.shape)
        for s in design:
            a0, b0 = int(s["a_row_lo"]), int(s["b_row_lo"])
            rows = slice(2, 14)                                  # away from the slit ends
            A, B = data[a0:a0 + 16][rows], data[b0:b0 + 16][rows]
            d = (A - B).sum(0)                                   # both nods of an object cancel too
            v = (np.clip(A, 0, None) + np.clip(B, 0, None)).sum(0) + 2 * RDN**2 * A.shape[0]
            keep = ~(bad[a0:a0 + 16][rows] | bad[b0:b0 + 16][rows]).any(0)
            x = np.arange(data.shape[1])
            for ln in lines[lines["slit_id"] == s["slit_id"]]:  # the objects' own lines
                keep &= np.abs(x - ln["x_zero_flexure"] - e["flex_dx"]) > 12
            keep &= (x > s["x_lo"] + 5) & (x < s["x_hi"] - 5)
            sky = np.median(A, 0)
            chis.append((d / np.sqrt(v))[keep])
            chis_bright.append((d / np.sqrt(v))[keep & (sky > 150)])
    chi = np.concatenate(chis)
    chib = np.concatenate(chis_bright)
    assert chi.size > 3000 and chib.size > 100
    assert abs(chi.mean()) < 4 / np.sqrt(chi.size) + 0.05
    assert 0.85 < chi.std() < 1.2, chi.std()
    assert 0.8 < chib.std() < 1.3, chib.std()                 # also under bright sky lines


def test_line_electrons_match_flux_times_exposure_times_sensitivity(tiny):
    out, truth, _ = tiny
    slit, line, tslit = _injected(out, truth)
    sens = _truth(truth, "sensitivity")
    gal = _truth(truth, "galaxies")
    g = gal[gal["injected"]][0]
    flux = float(g["f_OII_3727"])
    lam = float(line["obs_wave"])
    a0, b0 = int(slit["a_row_lo"]), int(slit["b_row_lo"])
    for e in _truth(truth, "exposures"):
        if e["expnum"] == 0:
            continue
        fname = str(e["file"])
        hdr = fits.getheader(out / fname)
        data = _frame_without_cosmics(out, truth, fname)
        bad = _defect_mask(out, truth, data.shape)
        rows = np.r_[a0:a0 + 16, b0:b0 + 16]
        img, badr = data[rows], bad[rows]
        xc = float(line["x_zero_flexure"]) + e["flex_dx"]
        x = np.arange(data.shape[1])
        box = np.abs(x - xc) <= 12
        side = (np.abs(x - xc) >= 14) & (np.abs(x - xc) <= 34)
        # sky + continuum under the line: a straight line per row through the side bands
        good_side = side & ~badr.any(0)
        coef = np.polyfit(x[good_side], img[:, good_side].T, 1)
        sky = np.outer(coef[0], x) + coef[1][:, None]
        col_ok = box & ~badr.any(0)
        measured = (img - sky)[:, col_ok].sum()
        # expected: flux x time x S(λ) x telluric x slit fraction, x the fraction of the line
        # profile in the kept columns (pixel-integrated Gaussians of the two doublet members)
        s_lam = np.interp(lam, sens["wavelength"], sens["sensitivity"])
        tell = np.exp(-e["airmass"] * np.interp(lam, sens["wavelength"], sens["telluric_tau"]))
        fwhm = np.hypot(e["seeing"], tslit["fwhm_int"])
        sfrac = erf(L.SLIT_WIDTH / 2 / (fwhm / 2.3548 * np.sqrt(2)))
        sx = np.hypot(L.RES_FWHM / 2.3548, lam * g["sigma_kms"] / 299792.458) / float(slit["dispersion"])
        frac = 0.0
        for rest in OII_DOUBLET:
            xm = xc + (lam * rest / LINES["OII_3727"] - lam) / float(slit["dispersion"])
            frac += 0.5 * (0.5 * (erf((x[col_ok] + 0.5 - xm) / (np.sqrt(2) * sx))
                                  - erf((x[col_ok] - 0.5 - xm) / (np.sqrt(2) * sx)))).sum()
        # light beyond the slit ends (±SLITLEN/2 about the slit centre, moved by the flexure) is lost
        sy = fwhm / 2.3548 / L.PIXSCALE
        half = L.SLIT_LENGTH / L.PIXSCALE / 2
        centre = float(slit["slit_center_row"]) - a0 + e["flex_dy"]
        inside = 0.0
        for nod in (slit["nod_a_row"], slit["nod_b_row"]):
            y = float(nod) - a0 + e["flex_dy"] + e["drift_dy"] + tslit["y_offset"]
            inside += 0.5 * 0.5 * (erf((centre + half - y) / (np.sqrt(2) * sy)) - erf((centre - half - y) / (np.sqrt(2) * sy)))
        expected = 2 * hdr["NODTIME"] * flux * s_lam * tell * sfrac * frac * inside
        n_box, n_side = col_ok.sum(), good_side.sum()
        var = np.clip(img[:, col_ok], 0, None).sum() + img[:, col_ok].size * RDN**2 \
            + len(rows) * n_box**2 * np.median(np.clip(img[:, good_side], 0, None) + RDN**2) / n_side * 4
        assert expected > 5000
        assert abs(measured - expected) < 4 * np.sqrt(var), (measured, expected, np.sqrt(var))


def test_noise_free_rendering_conserves_line_electrons():
    lay = L.Layout(1, 1)
    slit = {"x_lo": 0, "x_hi": 400, "x_ref": 200.0, "lambda_ref": L.LAMBDA_REF, "dispersion": 2.7,
            "a_row_lo": int(lay.a_row_lo(0))}
    src = L.SlitSource(np.array([7300.0]), np.array([1e-16]), np.array([1.0]), fwhm_int=0.2)
    cond = L.Conditions(seeing=0.7, airmass=1.0)
    sky, oa, ob = L.render_illumination(lay, [slit], [src], cond, 1200.0)
    expected = 1e-16 * 1200 * L.sensitivity(7300.0) * L.telluric_transmission(7300.0, 1.0) \
        * L.slit_fraction(np.hypot(0.7, 0.2))
    assert oa.sum() == pytest.approx(expected, rel=0.01)
    assert ob.sum() == pytest.approx(expected, rel=0.01)
    # the read-out puts the nod-B image NODPIX rows above nod A, shuffled into region B
    ro = L.shuffle_readout(oa, ob)
    a0 = slit["a_row_lo"]
    prof_a = ro[a0:a0 + 16].sum(1)
    prof_b = ro[a0 + 16:a0 + 32].sum(1)
    assert np.argmax(prof_b) - np.argmax(prof_a) == L.NOD
    # sky between the lines (7150 Å): ~SKY_CONT_E electrons per pixel (scaled by the relative
    # sensitivity) in the middle of the slit, nothing outside the slit
    col = int(round(200 + (7150 - L.LAMBDA_REF) / 2.7))
    rel = L.sensitivity(7150.0) / L.sensitivity(7500.0)
    assert sky[a0 + 8, col] == pytest.approx(L.SKY_CONT_E * rel, rel=0.1)
    assert sky[a0 + 20, col] == 0 and sky[a0 - 3, col] < 1e-6 * sky[a0 + 8, col]


# --------------------------------------------------------------------------- calibrations
def test_ns_darks_show_the_charge_traps(tiny):
    out, truth, _ = tiny
    darks = lio.read_darks(out)
    bpm = lio.read_bpm(out)
    assert all(d.data.shape == bpm.shape for d in darks)
    raw = lio.read_raw_frames(out / "masks" / "mask4")
    assert bpm.shape == raw[0].data.shape
    # ROLES §2.3.2: compare each dark with its 1x3 median (across the shuffle direction);
    # a trap is deviant in every dark (cosmic rays are not)
    flagged = np.ones(bpm.shape, bool)
    for d in darks:
        resid = d.data - median_filter(d.data, size=(1, 3))
        noise = 1.4826 * np.median(np.abs(resid - np.median(resid)))
        flagged &= resid > 6 * noise
    flagged &= ~bpm
    traps = _truth(truth, "charge_traps")
    strong = traps[2 * ROLES_PRESETS["tiny"].n_cycles * traps["q"] > 150]
    assert len(strong) >= 2
    for t in strong:
        col = flagged[int(t["y"]) + 1:int(t["y"]) + 4, int(t["x"])]
        assert col.all(), f"trap at x={t['x']} y={t['y']} not visible in the N&S darks"
    # streaks (>= 3 flagged pixels in a column, along the shuffle direction) are the traps
    runs = flagged[:-2] & flagged[1:-1] & flagged[2:]
    cols = np.unique(np.nonzero(runs)[1])
    assert set(cols) <= set(int(x) for x in traps["x"])
    assert len(cols) >= len(strong)


def test_standard_star_frame_and_spectrum(tiny):
    out, truth, _ = tiny
    frames, spec = lio.read_standard(out)
    h = frames[0].header
    design = lio.read_design(out / "masks" / h["MASKNAME"])
    s = design[design["slit_id"] == h["STDSLIT"]][0]
    assert s["is_standard_slit"]
    a0 = int(s["a_row_lo"])
    counts = frames[0].data[a0:a0 + 16].sum(0)
    x = np.arange(counts.size)
    lam = s["lambda_ref"] + s["dispersion"] * (x - s["x_ref"])
    # the O2 A band absorbs the star: the counts dip near 7605 Å relative to 7550/7680 Å
    def at(w):
        return np.median(counts[np.abs(lam - w) < 6])
    assert at(7608) < 0.7 * 0.5 * (at(7550) + at(7690))
    assert spec["flux"].unit.is_equivalent("erg / (s cm2 Angstrom)")


# --------------------------------------------------------------------------- loaders
def test_loaders_read_what_the_mock_writes(tiny):
    out, truth, summary = tiny
    assert lio.list_masks(out) == ["mask4"]
    m = lio.read_mask(out / "masks" / "mask4")
    assert len(m.design) == summary["n_slits"]
    assert len(m.frames) == ROLES_PRESETS["tiny"].n_exp
    for f in m.frames:
        assert f.data.dtype == np.float32 and f.data.shape == m.bpm.shape
        assert f.header["NODPIX"] == L.NOD and f.header["SHUFFLE"] == L.SHUFFLE
        assert f.header["EXPTIME"] == 2 * f.header["NODTIME"] == 2400
    assert m.design["ra"].unit == "deg" and m.design["lambda_ref"].unit == "Angstrom"
    assert (m.design["b_row_lo"] - m.design["a_row_lo"] == L.SHUFFLE).all()
    phot = lio.read_photometry(out, "CDFS")
    z, pdf, ids = lio.read_photoz_pdf(out, "CDFS")
    assert len(phot) == pdf.shape[0] == len(ids) and pdf.shape[1] == z.size
    assert np.allclose(pdf.sum(1) * (z[1] - z[0]), 1, atol=1e-3)
    assert set(m.design["object_id"]) <= set(phot["id"])
    comp = lio.read_comparison(out)
    assert comp.meta["survey_area_arcmin2"] == pytest.approx(554.7)
    assert ((comp["z"] > 0.889) & (comp["z"] < 1.149)).all()
    assert lio.read_manifest(out)["masks"]["mask4"]["n_exposures"] == len(m.frames)


def test_loaders_name_the_file_for_bad_input(tiny, tmp_path):
    out, _, _ = tiny
    bad = tmp_path / "ldss3"
    shutil.copytree(out, bad)
    frame = sorted((bad / "masks" / "mask4" / "raw").glob("*.fits"))[0]
    frame.write_bytes(frame.read_bytes()[: frame.stat().st_size // 2])
    with pytest.raises(DataFormatError, match=frame.name):
        lio.read_mask(bad / "masks" / "mask4")
    design = bad / "masks" / "mask4" / "design.ecsv"
    t = Table.read(design)
    t.remove_column("x_ref")
    t.write(design, overwrite=True)
    with pytest.raises(DataFormatError, match=r"design\.ecsv.*x_ref"):
        lio.read_design(bad / "masks" / "mask4")
    with pytest.raises(MissingInputError, match="nomask"):
        lio.read_mask(bad / "masks" / "nomask")
    with pytest.raises(DataFormatError, match="bpm.fits"):
        (bad / "calib" / "bpm.fits").write_bytes(b"SIMPLE  =  garbage")
        lio.read_bpm(bad)
