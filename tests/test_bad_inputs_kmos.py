"""Bad KMOS inputs end in a clear error naming the file, or in that one object flagged and skipped."""
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from redshift1.errors import DataFormatError, MissingInputError, ParameterError
from redshift1.kmos.catalogue import orphan_cubes, read_targets
from redshift1.kmos.spectra import SpectraConfig
from redshift1.notebook import run_paths
from redshift1.steps.kmos_spectra import measure_spectra

CFG = SpectraConfig(n_perturb=5)


@pytest.fixture()
def survey(tiny_kmos_survey, tmp_path):
    dst = tmp_path / "survey"
    shutil.copytree(tiny_kmos_survey / "kmos", dst / "kmos")
    return dst / "kmos"


def _edit_targets(kmos, fn):
    t = Table.read(kmos / "targets.ecsv")
    t = fn(t)
    t.write(kmos / "targets.ecsv", overwrite=True)
    return t


@pytest.mark.parametrize("case,match", [
    ("missing_column", "missing column"),
    ("wrong_unit", "unit"),
    ("duplicate", "duplicate id"),
    ("empty", "empty"),
    ("bad_z", "z_cat"),
])
def test_catalogue_problems_are_named(survey, case, match):
    def mutate(t):
        if case == "missing_column":
            t.remove_column("z_cat")
        elif case == "wrong_unit":
            t["k_ab"].unit = "km"
        elif case == "duplicate":
            t["id"][1] = t["id"][0]
        elif case == "empty":
            t = t[:0]
        elif case == "bad_z":
            t["z_cat"][0] = -1
        return t
    _edit_targets(survey, mutate)
    with pytest.raises(DataFormatError, match=match) as e:
        read_targets(survey)
    assert "targets.ecsv" in str(e.value)


def test_units_are_converted_when_equivalent(survey):
    _edit_targets(survey, lambda t: (t.__setitem__("sfr_sed", t["sfr_sed"].quantity.to("Msun/Gyr")), t)[1])
    t = read_targets(survey)
    assert str(t["sfr_sed"].unit) == "solMass / yr"


def test_missing_catalogue(tmp_path):
    with pytest.raises(MissingInputError, match="targets.ecsv"):
        read_targets(tmp_path)


def test_row_without_cube_and_cube_without_row(survey):
    t = read_targets(survey)
    gone = survey / t["cube"][0]
    gone.unlink()                                           # a catalogue row with no cube
    extra = survey / "cubes" / "ORPHAN.fits"
    shutil.copy(survey / t["cube"][1], extra)               # a cube no row names
    table = measure_spectra(data=survey.parent, targets=t, config=CFG)["kmos_spectra.ecsv"]
    assert len(table) == len(t)                             # every target keeps its row
    assert table["status"][0].startswith("skipped") and gone.name in table["status"][0]
    assert (table["status"][1:] == "ok").all()
    assert orphan_cubes(survey, t) == ["cubes/ORPHAN.fits"]


@pytest.mark.parametrize("poison", ["all_nan", "zero_noise", "negative_noise", "nan_spaxels"])
def test_poisoned_cubes_are_skipped_or_survive(survey, poison):
    t = read_targets(survey)
    path = survey / t["cube"][0]
    with fits.open(path, mode="update") as h:
        if poison == "all_nan":
            h[1].data[:] = np.nan
        elif poison == "zero_noise":
            h[2].data[:] = 0.0
        elif poison == "negative_noise":
            h[2].data[:] = -1.0
        elif poison == "nan_spaxels":
            h[1].data[:, :3, :] = np.nan
            h[1].data[:, :, -2:] = np.inf
    table = measure_spectra(data=survey.parent, targets=t, config=CFG)["kmos_spectra.ecsv"]
    if poison == "nan_spaxels":
        assert table["status"][0] == "ok"                   # the rest of the cube is measured
    else:
        assert "no valid spaxels" in table["status"][0]
    assert (table["status"][1:] == "ok").all()


def test_a_data_dir_that_does_not_exist(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        run_paths("quick", str(tmp_path / "nowhere"), str(tmp_path / "p"), str(tmp_path / "f"), require_data=True)
    with pytest.raises(ParameterError, match="preset"):
        run_paths("huge")
