"""The KROSS steps (notebooks 01-06): each returns the products its notebook writes, and
``write`` writes exactly those files, which read back as the tables returned."""
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from redshift1.kmos.galaxy_size import SizeConfig
from redshift1.kmos.spectra import SpectraConfig
from redshift1.steps import kmos_psf, kmos_sizes, kmos_spectra, main_sequence, metallicity, resolved_ms
from redshift1.steps.result import StepResult

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FAST_FITS = dict(regression="ols", min_fit_points=2)


def _written(result: StepResult, folder: Path) -> list[str]:
    """Write into an empty folder; the names of the files that appeared."""
    folder.mkdir()
    paths = result.write(folder)
    assert [p.name for p in paths] == result.product_names
    return sorted(p.name for p in folder.iterdir())


def _values(col):
    """A column's values; ECSV reads empty strings back as masked entries."""
    if hasattr(col, "mask") and col.dtype.kind in "US":
        return np.asarray(col.filled(""))
    return np.asarray(col)


def _same_table(a: Table, b: Table):
    assert a.colnames == b.colnames
    for c in a.colnames:
        x, y = _values(a[c]), _values(b[c])
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=c)
        else:
            assert (x == y).all(), c


@pytest.fixture(scope="module")
def walk(tiny_kmos_survey, tmp_path_factory):
    """Notebooks 01-06's steps on the tiny survey, each written into the products folder as
    the notebooks do; returns (products folder, {step name: StepResult})."""
    data = tiny_kmos_survey
    products = tmp_path_factory.mktemp("products")
    out = {}
    out["psf"] = kmos_psf.measure_psf(data=data, progress=False)
    out["psf"].write(products)
    spec_in = kmos_spectra.read_inputs(data=data, products=products)
    out["spectra"] = kmos_spectra.measure_spectra(data=data, targets=spec_in["targets"], psf=spec_in["psf"],
                                                  config=SpectraConfig(n_perturb=5), keep_arrays=True,
                                                  progress=False)
    out["spectra"].write(products)
    size_in = kmos_sizes.read_inputs(data=data, products=products)
    out["sizes"] = kmos_sizes.measure_sizes(data=data, targets=size_in["targets"], spectra=size_in["spectra"],
                                            psf=size_in["psf"], hst=size_in["hst"], config=SizeConfig(),
                                            keep_maps=True, progress=False)
    out["sizes"].write(products)
    ms_in = main_sequence.read_inputs(data=data, products=products)
    out["sfr"] = main_sequence.star_formation_rates(targets=ms_in["targets"], spectra=ms_in["spectra"],
                                                    sizes=ms_in["sizes"])
    out["sfr"].write(products)
    res_in = resolved_ms.read_inputs(data=data, products=products)
    out["resolved"] = resolved_ms.surface_densities(sfr=res_in["sfr"], sizes=res_in["sizes"], hst=res_in["hst"],
                                                    targets=res_in["targets"])
    out["resolved"].write(products)
    met_in = metallicity.read_inputs(products=products)
    out["metallicity"] = metallicity.metallicities(spectra=met_in["spectra"], sfr=met_in["sfr"],
                                                   resolved=met_in["resolved"])
    out["metallicity"].write(products)
    return products, out


@pytest.mark.parametrize("step, names", [
    ("psf", ["kmos_psf.ecsv"]),
    ("spectra", ["kmos_spectra.ecsv"]),
    ("sizes", ["kmos_sizes.ecsv"]),
    ("sfr", ["kross_sfr.ecsv", "table2_kross.ecsv"]),
    ("resolved", ["kross_resolved.ecsv"]),
    ("metallicity", ["kross_metallicity.ecsv"]),
])
def test_step_returns_and_writes_exactly_its_products(walk, tmp_path, step, names):
    _, out = walk
    result = out[step]
    assert sorted(result.product_names) == names
    assert _written(result, tmp_path / "products") == names
    for name in names:
        _same_table(result[name], Table.read(tmp_path / "products" / name))


def test_one_row_per_target_or_star(walk, tiny_kmos_survey):
    _, out = walk
    targets = Table.read(tiny_kmos_survey / "kmos" / "targets.ecsv")
    stars = Table.read(tiny_kmos_survey / "kmos" / "psf_stars.ecsv")
    assert len(out["psf"]["kmos_psf.ecsv"]) == len(stars)
    for step, name in [("spectra", "kmos_spectra.ecsv"), ("sizes", "kmos_sizes.ecsv"), ("sfr", "kross_sfr.ecsv"),
                       ("resolved", "kross_resolved.ecsv"), ("metallicity", "kross_metallicity.ecsv")]:
        assert [str(i) for i in out[step][name]["id"]] == [str(i) for i in targets["id"]], step


def test_columns_are_the_contract(walk):
    _, out = walk
    assert tuple(out["spectra"]["kmos_spectra.ecsv"].colnames) == kmos_spectra.COLUMNS
    assert tuple(out["sizes"]["kmos_sizes.ecsv"].colnames) == kmos_sizes.SIZE_COLUMNS


def test_values_the_notebooks_show(walk):
    _, out = walk
    spectra = out["spectra"]["kmos_spectra.ecsv"]
    measured = [str(i) for i, s in zip(spectra["id"], spectra["status"]) if s == "ok"]
    assert sorted(out["spectra"]["arrays"]) == sorted(measured)          # one set of maps per measured cube
    sizes = out["sizes"]["kmos_sizes.ecsv"]
    assert sorted(out["sizes"]["maps"]) == sorted(str(i) for i, s in zip(sizes["id"], sizes["status"]) if s == "ok")
    counts = dict(zip(out["spectra"]["counts"]["quantity"], out["spectra"]["counts"]["compendium"]))
    assert counts["halpha_detected"] == int(np.sum(spectra["halpha_detected"]))
    assert len(out["sfr"]["unresolved"]) == len(out["sfr"]["kross_sfr.ecsv"])
    assert out["psf"]["per_spectrograph"]["n_ok"].sum() == np.sum(out["psf"]["kmos_psf.ecsv"]["status"] == "ok")


def test_summaries_are_json(walk):
    """What notebooks 04-06 merge into kross_fits.json serialises (no numpy or table types left)."""
    from redshift1.science.kross_tables import update_summary
    from redshift1.science.resolved import size_by_ms_position
    from redshift1.science.kross_metallicity import oh_size_trend

    products, out = walk
    res = out["resolved"]["kross_resolved.ecsv"]
    ms = resolved_ms.resolved_main_sequence(resolved=res, **FAST_FITS)
    sd = resolved_ms.sigma_sfr_along_ms(resolved=res, **FAST_FITS)
    met = out["metallicity"]["kross_metallicity.ecsv"]
    along = metallicity.metallicity_along_ms(metallicity=met, **FAST_FITS)
    parts = [out["sfr"]["kross_fits"],
             resolved_ms.summary(resolved_ms=ms, sigma_delta=sd, by_class=size_by_ms_position(res),
                                 size_summary=out["resolved"]["size_summary"], ms_prescription="speagle14"),
             metallicity.summary(metallicities=out["metallicity"], along_ms=along, size_trend=oh_size_trend(met),
                                 mass_min=9.5, mass_max=10.5)]
    path = products / "kross_fits_test.json"
    for part in parts:
        update_summary(path, part)
    merged = json.loads(path.read_text())
    assert {"sfr_n_halpha", "table2", "resolved_ms_slope", "spearman_p", "oh_delta_slope", "n_detected"} <= set(merged)


def test_missing_upstream_product_names_its_notebook(tiny_kmos_survey, tmp_path):
    from redshift1.errors import MissingInputError

    with pytest.raises(MissingInputError, match="01_kmos_psf"):
        kmos_spectra.read_inputs(data=tiny_kmos_survey, products=tmp_path)
    with pytest.raises(MissingInputError, match="02_kmos_spectra"):
        kmos_sizes.read_inputs(data=tiny_kmos_survey, products=tmp_path)


@pytest.mark.parametrize("notebook, module", [
    ("01_kmos_psf", "kmos_psf"), ("02_kmos_spectra", "kmos_spectra"), ("03_kmos_sizes", "kmos_sizes"),
    ("04_main_sequence", "main_sequence"), ("05_resolved_ms", "resolved_ms"), ("06_metallicity", "metallicity"),
])
def test_notebook_calls_its_step_and_writes_in_view(notebook, module):
    nb = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert f"from redshift1.steps import {module} as step" in code
    assert ".write(run.products)" in code
    assert "write_table(" not in code            # products are written by the step's result, in view
