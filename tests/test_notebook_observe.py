"""00_observe runs under papermill (through run_all) on the tiny preset and writes its products."""
import json

from astropy.table import Table

from redshift1.runner import main


def test_observe_notebook_on_tiny_preset(tmp_path):
    data, build, figs = tmp_path / "data", tmp_path / "build", tmp_path / "figures"
    code = main(["--preset", "tiny", "--only", "00", "--data-dir", str(data), "--out", str(build),
                 "-p", "figures_dir", str(figs)])
    assert code == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["preset"] == "tiny" and manifest["n_files"] == len(manifest["files"]) > 10
    assert len(Table.read(data / "kmos" / "targets.ecsv")) == 4
    assert (data / "truth" / "kmos_galaxies.ecsv").is_file()
    assert any((data / "ldss3").rglob("*.fits"))
    for name in ("fig00_population", "fig00_kmos_cube", "fig00_kmos_psf_star", "fig00_ldss3_frame"):
        assert (figs / f"{name}.png").stat().st_size > 10_000, name
    executed = build / "tiny" / "notebooks" / "00_observe.ipynb"
    assert executed.is_file() and (build / "tiny" / "site" / "index.html").is_file()
