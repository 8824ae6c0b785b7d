"""Hypothesis damages valid LDSS3 raw frames, mask designs and photo-z PDF files: the loaders
of :mod:`redshift1.ldss3.survey_files` either read them or raise :class:`redshift1.errors.Redshift1Error`
naming the file, never anything else; ``detect-lines`` on a damaged mask folder prints one
line to stderr and exits non-zero."""
import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from hypothesis import HealthCheck, given, settings, strategies as st

from redshift1.__main__ import main
from redshift1.errors import Redshift1Error
from redshift1.ldss3 import survey_files as lio

SETTINGS = dict(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = dict(SETTINGS, max_examples=20)
REQUIRED = list(lio.RAW_KEYWORDS)
VALUES = st.one_of(st.none(), st.text(max_size=8), st.floats(allow_nan=False, allow_infinity=False, width=32),
                   st.integers(-40, 40), st.booleans())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny mock ROLES survey (``<base>/s/ldss3``) and the bytes of its files, to restore them."""
    from redshift1.mock.population import Relations
    from redshift1.mock.roles import observe_roles
    base = tmp_path_factory.mktemp("roles_fuzz")
    root = base / "s" / "ldss3"
    observe_roles(root, "tiny", 5, Relations(), base / "truth")
    mask = root / "masks" / "mask4"
    return root, mask, sorted((mask / "raw").glob("*.fits"))


@pytest.fixture(scope="module")
def small_frame(tiny, tmp_path_factory):
    """A raw frame with the mock's header and a 64 x 48 image, in a ``masks/mask4/raw`` folder."""
    _, _, frames = tiny
    with fits.open(frames[0]) as h:
        hdr, data = h[0].header.copy(), h[0].data[100:164, 100:148].copy()
    buf = io.BytesIO()
    fits.PrimaryHDU(data, header=hdr).writeto(buf)
    mask = tmp_path_factory.mktemp("small") / "masks" / "mask4"
    (mask / "raw").mkdir(parents=True)
    return buf.getvalue(), mask / "raw" / "mask4_001.fits"


@pytest.fixture(scope="module")
def small_pdf(tiny, tmp_path_factory):
    """A photo-z PDF file of the contract's layout with 12 galaxies, in a survey-like folder."""
    root, _, _ = tiny
    z, pdf, ids = lio.read_photoz_pdf(root, "CDFS")
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(z, name="ZGRID"),
                         fits.ImageHDU(pdf[:12].astype(np.float32), name="PDF"),
                         fits.table_to_hdu(Table({"id": np.asarray(ids["id"][:12]).astype("S16"),
                                                  "pdf_row": np.arange(12)}))])
    hdus[3].name = "IDS"
    buf = io.BytesIO()
    hdus.writeto(buf)
    folder = tmp_path_factory.mktemp("pdf")
    (folder / "masks").mkdir()
    (folder / "photometry").mkdir()
    return buf.getvalue(), folder, folder / "photometry" / "CDFS_photoz_pdf.fits"


def _check(path, *calls):
    """Each call either succeeds or raises Redshift1Error whose one-line message names ``path``."""
    for call in calls:
        try:
            out = call()
        except Redshift1Error as exc:
            msg = str(exc)
            assert path.name in msg and "\n" not in msg, msg
        else:
            yield out


class _Restore:
    """Write mutated bytes into a file of the shared survey and put the original back afterwards."""

    def __init__(self, path):
        self.path, self.orig = path, path.read_bytes()

    def __enter__(self):
        return self

    def write(self, data: bytes):
        self.path.write_bytes(data)

    def __exit__(self, *exc):
        self.path.write_bytes(self.orig)


def _frame_ok(f):
    assert f.data.ndim == 2 and f.data.dtype == np.float32


# --------------------------------------------------------------------------- raw frames
@settings(**SETTINGS)
@given(frac=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_frame(small_frame, frac):
    base, path = small_frame
    path.write_bytes(base[: int(frac * len(base))])
    for f in _check(path, lambda: lio.read_frame(path)):
        _frame_ok(f)
    list(_check(path, lambda: lio.read_frame(path, load_data=False), lambda: lio.read_raw_frames(path.parent.parent)))


@settings(**SETTINGS)
@given(flips=st.lists(st.tuples(st.integers(0, 2 * 2880 - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_header_bytes_flipped(small_frame, flips):
    base, path = small_frame
    b = bytearray(base)
    for pos, val in flips:
        b[pos] = val
    path.write_bytes(bytes(b))
    for f in _check(path, lambda: lio.read_frame(path)):
        _frame_ok(f)
    list(_check(path, lambda: lio.read_frame(path, load_data=False), lambda: lio.read_raw_frames(path.parent.parent)))


@settings(**SETTINGS)
@given(key=st.sampled_from(REQUIRED), value=VALUES, k=st.integers(0, 1))
def test_required_keyword_removed_or_changed(tiny, key, value, k):
    _, mask, frames = tiny
    path = frames[k]
    with fits.open(io.BytesIO(path.read_bytes())) as h:
        hdr = h[0].header
        if value is None:
            del hdr[key]
        else:
            try:
                hdr[key] = value
            except (ValueError, KeyError):
                return
        buf = io.BytesIO()
        try:
            h.writeto(buf, output_verify="silentfix")
        except Exception:  # astropy refused to write the mutation at all: nothing to read
            return
    with _Restore(path) as r:
        r.write(buf.getvalue())
        for f in _check(path, lambda: lio.read_frame(path)):
            _frame_ok(f)
        list(_check(path, lambda: lio.read_mask(mask, load_data=False)))


@settings(**FEW)
@given(shape=st.sampled_from([(416, 400), (416, 399), (400, 416), (64,), (2, 416, 400), (1, 1)]),
       dtype=st.sampled_from([np.float32, np.float64, np.int16, np.uint8, np.int32]))
def test_shapes_and_dtypes(tiny, shape, dtype):
    _, mask, frames = tiny
    path = frames[1]
    with fits.open(io.BytesIO(path.read_bytes())) as h:
        h[0].data = np.ones(shape, dtype=dtype)
        buf = io.BytesIO()
        h.writeto(buf, output_verify="silentfix")
    with _Restore(path) as r:
        r.write(buf.getvalue())
        for f in _check(path, lambda: lio.read_frame(path)):
            _frame_ok(f)
        for m in _check(path, lambda: lio.read_mask(mask)):
            assert shape == (416, 400) and all(f.data.shape == m.bpm.shape for f in m.frames)


# --------------------------------------------------------------------------- mask design
@settings(**SETTINGS)
@given(how=st.sampled_from(["truncate", "drop_column", "drop_line", "garble"]), frac=st.floats(0, 1, exclude_max=True),
       column=st.sampled_from(list(lio.DESIGN_COLUMNS)), junk=st.text(max_size=6))
def test_design_damaged(tiny, how, frac, column, junk):
    _, mask, _ = tiny
    path = mask / "design.ecsv"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if how == "truncate":
        new = text[: int(frac * len(text))]
    elif how == "drop_column":
        t = Table.read(path)
        t.remove_column(column)
        buf = io.StringIO()
        t.write(buf, format="ascii.ecsv")
        new = buf.getvalue()
    elif how == "drop_line":
        k = int(frac * len(lines))
        new = "".join(lines[:k] + lines[k + 1:])
    else:
        k = int(frac * len(text))
        new = text[:k] + junk + text[k + len(junk):]
    with _Restore(path) as r:
        r.write(new.encode())
        for t in _check(path, lambda: lio.read_design(mask)):
            assert len(t) > 0 and set(lio.DESIGN_COLUMNS) <= set(t.colnames)
        list(_check(path, lambda: lio.read_mask(mask, load_data=False)))


# --------------------------------------------------------------------------- photo-z PDFs
@settings(**SETTINGS)
@given(how=st.sampled_from(["truncate", "flip", "poison"]), frac=st.floats(0, 1, exclude_max=True),
       flips=st.lists(st.tuples(st.integers(0, 4 * 2880 - 1), st.integers(0, 255)), min_size=1, max_size=6),
       value=st.floats(allow_nan=True, allow_infinity=True, width=32), row=st.integers(0, 11),
       col=st.integers(0, 400))
def test_photoz_pdf_damaged(small_pdf, how, frac, flips, value, row, col):
    base, folder, path = small_pdf
    if how == "truncate":
        path.write_bytes(base[: int(frac * len(base))])
    elif how == "flip":
        b = bytearray(base)
        for pos, val in flips:
            b[pos] = val
        path.write_bytes(bytes(b))
    else:
        with fits.open(io.BytesIO(base)) as h:
            h["PDF"].data[row, col] = value
            h.writeto(path, overwrite=True)
    for z, pdf, ids in _check(path, lambda: lio.read_photoz_pdf(folder, "CDFS")):
        assert pdf.shape == (len(ids), z.size) and np.all(np.isfinite(pdf)) and np.all(pdf >= 0)
        assert np.allclose(pdf @ np.gradient(z), 1.0, atol=lio.PDF_NORM_TOLERANCE + 1e-6)


# --------------------------------------------------------------------------- the command line
def _damage(survey, how, k, frac, key):
    mask = survey / "masks" / "mask4"
    frames = sorted((mask / "raw").glob("*.fits"))
    if how == "truncate_frame":
        p = frames[k]
        p.write_bytes(p.read_bytes()[: int(frac * p.stat().st_size)])
    elif how == "drop_keyword":
        p = frames[k]
        with fits.open(p) as h:
            del h[0].header[key]
            h.writeto(p, overwrite=True)
    elif how == "truncate_design":
        p = mask / "design.ecsv"
        p.write_text(p.read_text()[: int(frac * 2000)])     # inside the YAML header
    elif how == "other_shape":
        p = frames[k]
        with fits.open(p) as h:
            h[0].data = h[0].data[:, :-8]
            h.writeto(p, overwrite=True)
    elif how == "empty_dark":
        p = survey / "calib" / "darks" / "nsdark_002.fits"
        p.write_bytes(b"")
    return mask, p


DAMAGES = ["truncate_frame", "drop_keyword", "truncate_design", "other_shape", "empty_dark"]


@settings(**FEW)
@given(how=st.sampled_from(DAMAGES), k=st.integers(0, 1), frac=st.floats(0, 1, exclude_max=True),
       key=st.sampled_from(REQUIRED))
def test_cli_on_a_damaged_mask_folder(tiny, tmp_path, capsys, how, k, frac, key):
    survey = tmp_path / "ldss3"
    if survey.exists():
        shutil.rmtree(survey)
    shutil.copytree(tiny[0], survey)
    mask, damaged = _damage(survey, how, k, frac, key)
    capsys.readouterr()
    assert main(["detect-lines", str(mask)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and damaged.name in err, err


@pytest.mark.parametrize("how", ["truncate_frame", "drop_keyword", "truncate_design"])
def test_cli_process_prints_one_line(tiny, tmp_path, how):
    """The real command in its own process: exit status 2, one line on stderr, no traceback."""
    survey = tmp_path / "ldss3"
    shutil.copytree(tiny[0], survey)
    mask, damaged = _damage(survey, how, 1, 0.5, "SHUFFLE")
    res = subprocess.run([sys.executable, "-m", "redshift1", "detect-lines", str(mask)], capture_output=True,
                         text=True, timeout=300)
    err = res.stderr.strip()
    assert res.returncode == 2 and res.stdout == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err and damaged.name in err, err
