"""Bad LDSS3/ROLES inputs (issue #7) end in a one-line error naming the file or object, or in
that one slit/object being flagged with its reason while the run goes on; every slit and
every observed object keeps a row with a ``status`` in the product tables."""
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from redshift1.errors import DataFormatError, MissingInputError, Redshift1Error
from redshift1.ldss3 import survey_files as lio
from redshift1.ldss3.catalogue import DetectParams
from redshift1.ldss3.reduce import reduce_mask, survey_trap_mask
from redshift1.science.poii import assign_poii, p_oii
from redshift1.science.roles import load_fields
from redshift1.steps.ldss3_detect import detect_lines
from redshift1.steps.ldss3_redshifts import line_identities
from redshift1.steps.ldss3_reduce import reduce_masks
from redshift1.steps.lf_sfrd import lf_and_sfrd

SEED = 11
ROWS = ("a_row_lo", "a_row_hi", "b_row_lo", "b_row_hi", "nod_a_row", "nod_b_row", "slit_center_row")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A tiny mock ROLES survey (one mask, two exposures, 11 slits) and its trap mask."""
    from redshift1.mock.population import Relations
    from redshift1.mock.roles import observe_roles
    base = tmp_path_factory.mktemp("roles_bad")
    observe_roles(base / "ldss3", "tiny", SEED, Relations(), base / "truth")
    bad, _ = survey_trap_mask(base / "ldss3")
    return base / "ldss3", bad


@pytest.fixture()
def survey(pristine, tmp_path):
    """A private copy of the survey: ``tmp_path/s/ldss3`` (``tmp_path/s`` is the data dir)."""
    dst = tmp_path / "s" / "ldss3"
    shutil.copytree(pristine[0], dst, ignore=shutil.ignore_patterns("truth"))
    return dst


def _mask(root):
    return root / "masks" / "mask4"


def _frames(root):
    return sorted((_mask(root) / "raw").glob("*.fits"))


def _edit_design(root, fn):
    path = _mask(root) / "design.ecsv"
    t = fn(Table.read(path))
    t.write(path, format="ascii.ecsv", overwrite=True)
    return t


def _one_line(exc, *names):
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for n in names:
        assert n in msg, (n, msg)
    return msg


def _walk(data, prod, detect_params=None):
    """Notebooks 07-10 as library calls."""
    red = reduce_masks(data_dir=data, products_dir=prod, progress=False)
    red.write(prod)
    det = detect_lines(data_dir=data, products_dir=prod, params=detect_params, progress=False)
    det.write(prod)
    z = line_identities(data_dir=data, products_dir=prod)
    z.write(prod)
    lf = lf_and_sfrd(data_dir=data, products_dir=prod)
    lf.write(prod)
    return {"slits": red["ldss3_slits.ecsv"], "exposures": red["ldss3_exposures.ecsv"], "det": det,
            "poii": z["roles_poii.ecsv"], "lf": lf}


def _every_target_has_a_status(root, prod):
    design = lio.read_design(_mask(root))
    keys = {("mask4", int(s)) for s in design["slit_id"]}
    for name in ("ldss3_slits.ecsv", "ldss3_slit_summary.ecsv"):
        t = Table.read(prod / name)
        assert {(m, int(s)) for m, s in zip(t["mask"], t["slit_id"])} == keys and len(t) == len(keys), name
        assert "status" in t.colnames and all(len(str(s)) for s in t["status"]), name
    poii = Table.read(prod / "roles_poii.ecsv")
    assert set(poii["id"]) == set(design["object_id"]) and len(poii) == len(set(design["object_id"]))
    assert all(len(str(s)) for s in poii["status"])
    for name in ("ldss3_lines.ecsv", "roles_galaxies.ecsv"):
        assert "status" in Table.read(prod / name).colnames, name
    return design, poii


# --------------------------------------------------------------------------- damaged / empty files
@pytest.mark.parametrize("which,damage", [
    ("raw", "truncated"), ("raw", "empty"), ("raw", "text"),
    ("dark", "empty"), ("bpm", "text"),
    ("design", "empty"), ("design", "text"), ("design", "truncated"),
    ("photometry", "empty"), ("pdf", "truncated"), ("pdf", "text"), ("standard", "empty"),
])
def test_damaged_or_empty_files_are_named(survey, which, damage):
    path = {"raw": _frames(survey)[1], "dark": survey / "calib" / "darks" / "nsdark_001.fits",
            "bpm": survey / "calib" / "bpm.fits", "design": _mask(survey) / "design.ecsv",
            "photometry": survey / "photometry" / "CDFS_photometry.ecsv",
            "pdf": survey / "photometry" / "CDFS_photoz_pdf.fits",
            "standard": survey / "calib" / "standard" / "standard_001.fits"}[which]
    raw = path.read_bytes()
    path.write_bytes({"truncated": raw[: len(raw) // 3], "empty": b"", "text": b"not a data file\n" * 50}[damage])
    read = {"photometry": lambda: lio.read_photometry(survey, "CDFS"),
            "pdf": lambda: lio.read_photoz_pdf(survey, "CDFS"),
            "standard": lambda: lio.read_standard(survey)}.get(which, lambda: lio.read_mask(_mask(survey)))
    with pytest.raises(DataFormatError) as e:
        read()
    _one_line(e, path.name)


@pytest.mark.parametrize("which", ["design", "raw_folder", "raw_frames", "darks", "photometry", "mask"])
def test_missing_inputs_are_named(survey, which):
    m = _mask(survey)
    if which == "design":
        (m / "design.ecsv").unlink()
        call, name = (lambda: lio.read_mask(m)), "design.ecsv"
    elif which == "raw_folder":
        shutil.rmtree(m / "raw")
        call, name = (lambda: lio.read_mask(m)), "raw"
    elif which == "raw_frames":
        for f in _frames(survey):
            f.unlink()
        call, name = (lambda: reduce_mask(m)), "no raw frames"
    elif which == "darks":
        shutil.rmtree(survey / "calib" / "darks")
        call, name = (lambda: lio.read_mask(m)), "darks"
    elif which == "photometry":
        (survey / "photometry" / "CDFS_photometry.ecsv").unlink()
        call, name = (lambda: lio.read_photometry(survey, "CDFS")), "CDFS_photometry.ecsv"
    else:
        call, name = (lambda: reduce_mask(survey / "masks" / "mask99")), "mask99"
    with pytest.raises(MissingInputError) as e:
        call()
    _one_line(e, name)


# --------------------------------------------------------------------------- raw-frame headers
@pytest.mark.parametrize("key,value,match", [
    ("NODPIX", None, "lacks keyword.*NODPIX"),
    ("AIRORVAC", None, "lacks keyword.*AIRORVAC"),
    ("DATE-OBS", None, "lacks keyword.*DATE-OBS"),
    ("GAIN", 2.0, "GAIN"),
    ("AIRORVAC", "air", "AIRORVAC"),
    ("SHUFFLE", "sixteen", "SHUFFLE"),
    ("SHUFFLE", 0, "SHUFFLE"),
    ("NODPIX", 20, "NODPIX"),
    ("NCYCLES", 2.5, "NCYCLES"),
    ("AIRMASS", 0.3, "AIRMASS"),
    ("NODTIME", -5.0, "NODTIME"),
    ("OBSTYPE", "FLAT", "OBSTYPE"),
    ("MASKNAME", "mask7", "MASKNAME"),
])
def test_bad_header_keywords_are_named(survey, key, value, match):
    path = _frames(survey)[0]
    with fits.open(path) as h:
        if value is None:
            del h[0].header[key]
        else:
            h[0].header[key] = value
        h.writeto(path, overwrite=True)
    with pytest.raises(DataFormatError, match=match) as e:
        lio.read_raw_frames(_mask(survey))
    _one_line(e, path.name)


def test_frame_that_is_not_a_2d_image(survey):
    path = _frames(survey)[0]
    with fits.open(path) as h:
        h[0].data = np.zeros((2, 4, 5), np.float32)
        h.writeto(path, overwrite=True)
    with pytest.raises(DataFormatError, match="2-D") as e:
        lio.read_frame(path)
    _one_line(e, path.name)


# --------------------------------------------------------------------------- design table
def _frac(t):
    t["a_row_lo"] = t["a_row_lo"].astype(float)
    t["a_row_lo"][4] += 0.5
    return t


def _masked(t):
    t["dispersion"] = MaskedColumn(t["dispersion"], mask=np.arange(len(t)) == 2)
    return t


@pytest.mark.parametrize("case,edit,match", [
    ("no_rows", lambda t: t[:0], "no slits"),
    ("missing_column", lambda t: (t.remove_column("dispersion"), t)[1], "lacks column.*dispersion"),
    ("duplicate_slit", lambda t: (t["slit_id"].__setitem__(1, 1), t)[1], "not unique"),
    ("fractional_pixel", _frac, r"a_row_lo.*slit\(s\) 5"),
    ("nan_wavelength", lambda t: (t["lambda_ref"].__setitem__(2, np.nan), t)[1], r"lambda_ref.*slit\(s\) 3"),
    ("masked_value", _masked, r"dispersion has no value for slit\(s\) 3"),
    ("empty_columns", lambda t: (t["x_hi"].__setitem__(0, t["x_lo"][0]), t)[1], r"x_hi <= x_lo.*slit\(s\) 1"),
    ("negative_dispersion", lambda t: (t["dispersion"].__setitem__(6, -2.7), t)[1], r"dispersion <= 0.*slit\(s\) 7"),
    ("string_flags", lambda t: (t.replace_column("is_filler", t["is_filler"].astype(str)), t)[1], "is_filler"),
    ("bad_frame_shape", lambda t: (t.meta.__setitem__("frame_shape", "big"), t)[1], "frame_shape"),
])
def test_design_problems_are_named(survey, case, edit, match):
    _edit_design(survey, edit)
    with pytest.raises(DataFormatError, match=match) as e:
        lio.read_design(_mask(survey))
    _one_line(e, "design.ecsv")


@pytest.mark.parametrize("case,match", [("shuffle", r"SHUFFLE = 16 for slit\(s\) 7"),
                                        ("frame_shape", "frame_shape")])
def test_design_inconsistent_with_the_frames(survey, pristine, case, match):
    def edit(t):
        if case == "shuffle":
            t["b_row_lo"][6] += 2
            t["b_row_hi"][6] += 2
        else:
            t.meta["frame_shape"] = [100, 100]
        return t
    _edit_design(survey, edit)
    with pytest.raises(DataFormatError, match=match) as e:
        reduce_mask(_mask(survey), pristine[1], progress=False)
    _one_line(e, "design.ecsv")


# --------------------------------------------------------------------------- exposures
@pytest.mark.parametrize("odd", [0, 1])
def test_exposures_of_different_shapes_name_the_odd_frame(survey, pristine, odd):
    f = _frames(survey)
    shutil.copy(f[1], _mask(survey) / "raw" / "mask4_003.fits")      # three frames: a majority exists
    with fits.open(f[odd]) as h:
        h[0].data = h[0].data[:-32]
        h.writeto(f[odd], overwrite=True)
    with pytest.raises(DataFormatError, match="shape") as e:
        reduce_mask(_mask(survey), pristine[1], progress=False)
    assert _one_line(e).startswith(f"{f[odd]}: shape")
    with pytest.raises(DataFormatError) as e:                           # the loader: against the bpm
        lio.read_mask(_mask(survey))
    assert _one_line(e).startswith(f"{f[odd]}: frame shape")


def test_exposure_with_another_shuffle_is_named(survey, pristine):
    f = _frames(survey)
    shutil.copy(f[1], _mask(survey) / "raw" / "mask4_003.fits")
    with fits.open(f[1], mode="update") as h:
        h[0].header["SHUFFLE"] = 14
    with pytest.raises(DataFormatError, match="SHUFFLE 14 instead of 16") as e:
        reduce_mask(_mask(survey), pristine[1], progress=False)
    assert _one_line(e).startswith(str(f[1]))


def test_single_exposure_is_reduced_with_the_right_noise(survey, pristine):
    bad = pristine[1]
    two = reduce_mask(_mask(survey), bad, progress=False)
    _frames(survey)[1].unlink()
    one = reduce_mask(_mask(survey), bad, progress=False)
    assert one.meta["n_exp"] == 1 and len(one.exposures) == 1
    assert (one.slits["status"] == "ok").all() and int(one.nexp.max()) == 1
    g = one.good
    pull = (one.sci / one.noise)[g]
    width = 1.4826 * np.median(np.abs(pull - np.median(pull)))
    assert 0.9 < width < 1.2                                     # ROLES eq. 1 of the one exposure
    both = one.good & two.good
    ratio = np.median(one.noise[both] / two.noise[both])
    assert ratio == pytest.approx(np.sqrt(2), rel=0.06)          # median of two = mean of two


def test_exposure_of_nan_is_survived(survey, pristine):
    with fits.open(_frames(survey)[1], mode="update") as h:
        h[0].data[:] = np.nan
    red = reduce_mask(_mask(survey), pristine[1], progress=False)
    assert (red.slits["status"] == "ok").all()
    assert int(red.nexp.max()) == 1 and len(red.exposures) == 2


# --------------------------------------------------------------------------- photo-z PDFs
def _pdf_edit(root, fn):
    path = root / "photometry" / "CDFS_photoz_pdf.fits"
    with fits.open(path) as h:
        pdf = h["PDF"].data.astype(np.float32)
        ids = [s.strip() for s in np.char.decode(h["IDS"].data["id"])] if h["IDS"].data["id"].dtype.kind == "S" \
            else [s.strip() for s in h["IDS"].data["id"]]
        fn(pdf, ids)
        h["PDF"].data = pdf
        h.writeto(path, overwrite=True)
    return path


def _target_rows(root, k=(0, 1)):
    design = lio.read_design(_mask(root))
    phot = lio.read_photometry(root, "CDFS")
    row = dict(zip(phot["id"], phot["pdf_row"]))
    return [(str(design["object_id"][i]), int(row[design["object_id"][i]])) for i in k]


@pytest.mark.parametrize("poison,match", [(-1e-3, "negative values"), (np.nan, "NaN or infinite"),
                                          (0.0, "zero everywhere")])
def test_invalid_pdfs_name_the_file_and_the_objects(survey, poison, match):
    (o1, r1), (o2, r2) = _target_rows(survey)

    def edit(pdf, ids):
        for r in (r1, r2):
            if poison == 0.0:
                pdf[r] = 0.0
            else:
                pdf[r, 50] = poison
    path = _pdf_edit(survey, edit)
    with pytest.raises(DataFormatError, match=match) as e:
        lio.read_photoz_pdf(survey, "CDFS")
    _one_line(e, path.name, o1, o2)


def test_unnormalised_pdf_is_renormalised_and_recorded(survey):
    (o1, r1), (o2, _) = _target_rows(survey)
    z0, pdf0, _ = lio.read_photoz_pdf(survey, "CDFS")
    _pdf_edit(survey, lambda pdf, ids: pdf.__setitem__(r1, pdf[r1] * 3.0))
    z, pdf, ids = lio.read_photoz_pdf(survey, "CDFS")
    assert ids.meta["renormalised"] == [o1]
    assert ids["pdf_norm"][r1] == pytest.approx(3.0, rel=1e-3) and ids["pdf_norm"][0 if r1 else 1] == 1.0
    assert np.sum(pdf[r1]) * (z[1] - z[0]) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(pdf[r1], pdf0[r1], rtol=1e-4, atol=1e-9)
    assert p_oii(z, pdf[r1])[0] == pytest.approx(p_oii(z0, pdf0[r1])[0])
    # ... and the object's row of roles_poii says so
    design = lio.read_design(_mask(survey))
    slits = design.copy()
    slits["mask"], slits["status"] = "mask4", "ok"
    empty = Table({"status": np.zeros(0, "U8"), "object_id": np.zeros(0, "U16")})
    ml = Table({"object_id": np.zeros(0, "U16"), "z_multi": np.zeros(0), "secure": np.zeros(0, bool)})
    phot, pdfs = load_fields(survey.parent, ["CDFS"])
    poii = assign_poii(slits, empty, ml, phot, pdfs)
    assert poii["pdf_norm"][poii["id"] == o1][0] == pytest.approx(3.0, rel=1e-3)
    assert poii["pdf_norm"][poii["id"] == o2][0] == 1.0


def test_photometry_problems_are_named(survey):
    path = survey / "photometry" / "CDFS_photometry.ecsv"
    t = Table.read(path)
    t["id"][1] = t["id"][0]
    t.write(path, overwrite=True)
    with pytest.raises(DataFormatError, match="duplicate id") as e:
        lio.read_photometry(survey, "CDFS")
    _one_line(e, path.name, str(t["id"][0]))
    t["id"][1] = "CDFS-X"
    t["pdf_row"][5] = 10 ** 6                       # beyond the PDF file
    t.write(path, overwrite=True)
    design = lio.read_design(_mask(survey))
    slits = design.copy()
    slits["mask"], slits["status"] = "mask4", "ok"
    slits["object_id"][0] = t["id"][5]
    empty = Table({"status": np.zeros(0, "U8"), "object_id": np.zeros(0, "U16")})
    ml = Table({"object_id": np.zeros(0, "U16"), "z_multi": np.zeros(0), "secure": np.zeros(0, bool)})
    phot, pdfs = load_fields(survey.parent, ["CDFS"])
    with pytest.raises(DataFormatError, match="pdf_row") as e:
        assign_poii(slits, empty, ml, phot, pdfs)
    _one_line(e, "CDFS_photometry.ecsv", str(t["id"][5]))


# --------------------------------------------------------------------------- the walk goes on
def test_off_frame_slits_and_objects_not_in_photometry_are_flagged(survey, tmp_path):
    def edit(t):
        for c in ROWS:
            t[c][-1] += 80                  # the last slit above the top of the frame
        t["object_id"][2] = "CDFS-99999"    # a slit whose object is in no catalogue
        return t
    design = _edit_design(survey, edit)
    prod = tmp_path / "products"
    w = _walk(survey.parent, prod)
    st = dict(zip(w["slits"]["slit_id"], w["slits"]["status"]))
    assert st[design["slit_id"][-1]] == "off_frame"
    assert sum(v == "ok" for v in st.values()) == len(design) - 1
    _, poii = _every_target_has_a_status(survey, prod)
    by_id = {r["id"]: r for r in poii}
    assert by_id[design["object_id"][-1]]["status"] == "no_good_slit"
    orphan = by_id["CDFS-99999"]
    assert orphan["status"] == "not_in_photometry" and not np.isfinite(orphan["p_oii"])
    assert "CDFS-99999" not in set(w["lf"]["roles_galaxies.ecsv"]["id"])
    lines = w["det"]["ldss3_lines.ecsv"]
    assert not np.any(lines["slit_id"] == design["slit_id"][-1])      # nothing detected off the frame
    # every slit off the frame: a clear error
    _edit_design(survey, lambda t: (t.__setitem__("x_lo", t["x_lo"] + 1000),
                                    t.__setitem__("x_hi", t["x_hi"] + 1000), t)[2])
    with pytest.raises(DataFormatError, match="every slit lies outside") as e:
        reduce_mask(_mask(survey), progress=False)
    _one_line(e, "design.ecsv")


def test_slit_partly_below_the_frame_is_off_frame(survey, pristine):
    _edit_design(survey, lambda t: ([t[c].__setitem__(0, t[c][0] - 40) for c in ROWS], t)[1])
    red = reduce_mask(_mask(survey), pristine[1], progress=False)
    assert red.slits["status"][0] == "off_frame" and not red.good[0].any() and np.isnan(red.sci[0]).all()
    assert (red.slits["status"][1:] == "ok").all() and len(red.slits) == red.sci.shape[0] == 11


def test_no_detections_at_all_still_gives_every_table(survey, tmp_path):
    """Frames of flat sky and noise only (no objects, no sky lines): zero detections."""
    rng = np.random.default_rng(3)
    for p in _frames(survey):
        with fits.open(p, mode="update") as h:
            shape = h[0].data.shape
            h[0].data[:] = rng.poisson(60.0, shape) + rng.normal(0, 3.4, shape)
    prod = tmp_path / "products"
    w = _walk(survey.parent, prod, DetectParams(raw_sigma=50.0, adopt_sigma=60.0))
    assert len(w["det"]["ldss3_lines.ecsv"]) == 0 and len(Table.read(prod / "ldss3_lines.ecsv")) == 0
    assert set(w["slits"]["status"]) == {"no_sky_registration"}          # no sky lines to register on
    _, poii = _every_target_has_a_status(survey, prod)
    assert set(poii["status"]) <= {"no_good_slit", "no_line"}
    assert len(w["lf"]["roles_galaxies.ecsv"]) == 0 and w["det"]["summary"]["multiline"]["slits"] == 0
    for name in ("ldss3_multiline.ecsv", "ldss3_repeats.ecsv", "ldss3_flux_limits.ecsv", "roles_completeness.ecsv",
                 "roles_lf.ecsv", "roles_sfrd.ecsv"):
        assert (prod / name).is_file(), name


def test_errors_are_one_redshift1_family(survey):
    """Every loader error above is a Redshift1Error: the CLI prints it in one line."""
    (_mask(survey) / "design.ecsv").write_text("# %ECSV 1.0\n# ---\n# datatype:\n#  - {name: slit_id\n")
    with pytest.raises(Redshift1Error) as e:
        lio.read_design(_mask(survey))
    _one_line(e, "design.ecsv")
