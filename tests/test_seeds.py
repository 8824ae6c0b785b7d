"""Distinct seeds (issue 17): survey_seed is what the sky is, noise_seed the noise realisation,
mcmc_seed the analysis' random draws; ``-p NAME`` changes exactly what it names."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from redshift1.errors import ParameterError
from redshift1.mock.observe import observe
from redshift1.runner import build_parameters, notebook_parameters

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    """Tiny surveys: (survey 1, noise 1), (survey 1, noise 2), (survey 2, noise 1)."""
    base = tmp_path_factory.mktemp("seeds")
    out = {}
    for name, s, n in (("a", 1, 1), ("noise", 1, 2), ("sky", 2, 1)):
        observe(base / name, preset="tiny", survey_seed=s, noise_seed=n)
        out[name] = base / name
    return out


TRUTH = ("truth/kmos_galaxies.ecsv", "truth/kmos_psf.ecsv", "truth/roles_galaxies.ecsv", "truth/roles_lines.ecsv")
CATALOGUES = ("kmos/targets.ecsv", "kmos/pointings.ecsv", "kmos/hst_morphology.ecsv")


def _raw_frames(survey: Path) -> list[Path]:
    return sorted((survey / "kmos" / "cubes").rglob("*.fits")) + sorted((survey / "ldss3" / "masks").rglob("raw/*.fits"))


def _pixels(path: Path) -> np.ndarray:
    """The first image of a FITS file (a KMOS cube's DATA, an LDSS3 frame's primary)."""
    with fits.open(path) as hdul:
        return np.asarray(next(h.data for h in hdul if h.data is not None), float)


def test_noise_seed_changes_the_noise_not_the_truth(surveys):
    a, b = surveys["a"], surveys["noise"]
    for rel in TRUTH + CATALOGUES:
        assert _sha(a / rel) == _sha(b / rel), f"{rel} changed with the noise seed"
    for design in sorted((a / "ldss3" / "masks").glob("*/design.ecsv")):
        assert _sha(design) == _sha(b / design.relative_to(a))
    frames = _raw_frames(a)
    assert frames
    for f in frames:
        diff = _pixels(f) - _pixels(b / f.relative_to(a))
        assert np.nanstd(diff) > 0, f"{f.name}: the same noise under another noise seed"
    # the noise changed, not the signal: the mean of the difference is consistent with zero
    cube = next(f for f in frames if "cubes" in f.parts)
    d = _pixels(cube) - _pixels(b / cube.relative_to(a))
    d = d[np.isfinite(d)]
    assert abs(d.mean()) < 5 * d.std() / np.sqrt(d.size)


def test_survey_seed_changes_the_truth(surveys):
    a, c = surveys["a"], surveys["sky"]
    for rel in ("truth/kmos_galaxies.ecsv", "truth/roles_galaxies.ecsv", "kmos/targets.ecsv"):
        assert _sha(a / rel) != _sha(c / rel), f"{rel} did not change with the survey seed"


def test_manifest_records_both_seeds(surveys):
    import json
    m = json.loads((surveys["noise"] / "manifest.json").read_text())
    assert (m["survey_seed"], m["noise_seed"]) == (1, 2) and "seed" not in m


def test_seed_shorthand_is_both_seeds(tmp_path):
    a = observe(tmp_path / "a", preset="tiny", seed=3, instruments=("kmos",))
    b = observe(tmp_path / "b", preset="tiny", survey_seed=3, noise_seed=3, instruments=("kmos",))
    assert [f["sha256"] for f in a["files"]] == [f["sha256"] for f in b["files"]]


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seed_is_a_parameter_error(tmp_path, bad):
    with pytest.raises(ParameterError, match="noise_seed"):
        observe(tmp_path / "s", preset="tiny", noise_seed=bad)
    assert not (tmp_path / "s").exists()


def _declared():
    return {p.stem: notebook_parameters(p) for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}


def test_notebooks_name_their_seeds():
    """No notebook declares a bare ``seed``; 00 declares survey_seed and noise_seed, and every
    notebook that runs MCMC (or Monte-Carlo error draws) declares mcmc_seed."""
    declared = _declared()
    assert not [n for n, p in declared.items() if "seed" in p]
    assert {"survey_seed", "noise_seed"} <= set(declared["00_observe"])
    for name, params in declared.items():
        src = (NOTEBOOKS / f"{name}.ipynb").read_text()
        uses_mcmc = "nwalkers" in src or "emcee" in src or "n_perturb" in src or "seed=" in src
        if name != "00_observe" and uses_mcmc:
            assert "mcmc_seed" in params, f"{name} runs MCMC but declares no mcmc_seed"
    assert {n for n, p in declared.items() if "mcmc_seed" in p} >= {"05_resolved_ms", "06_metallicity",
                                                                    "11_explore", "12_validation"}


def test_p_changes_exactly_what_it_names():
    declared = _declared()
    contract = {"preset": "tiny", "data_dir": "/d", "products_dir": "/p", "figures_dir": "/f"}
    per = build_parameters(declared, contract, [("noise_seed", "7")])
    assert [n for n, p in per.items() if "noise_seed" in p] == ["00_observe"]
    assert per["00_observe"]["noise_seed"] == 7
    assert "survey_seed" not in per["00_observe"]          # keeps its default
    per = build_parameters(declared, contract, [("mcmc_seed", "9")])
    assert "mcmc_seed" not in per["00_observe"]
    assert all(p["mcmc_seed"] == 9 for n, p in per.items() if "mcmc_seed" in declared[n])
    with pytest.raises(ParameterError, match="-p seed"):
        build_parameters(declared, contract, [("seed", "7")])


def test_cli_takes_both_seeds(tmp_path, capsys):
    import json
    from redshift1.__main__ import main
    assert main(["observe", "--preset", "tiny", "--instruments", "kmos", "--survey-seed", "3", "--noise-seed", "4",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 0
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert (m["survey_seed"], m["noise_seed"], m["instruments"]) == (3, 4, ["kmos"])
    assert "survey_seed=3 noise_seed=4" in capsys.readouterr().out
    assert main(["observe", "--preset", "tiny", "--instruments", "kmos", "--seed", "5", "--noise-seed", "6",
                 "--out", str(tmp_path / "t"), "--quiet"]) == 0
    m = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert (m["survey_seed"], m["noise_seed"]) == (5, 6)
