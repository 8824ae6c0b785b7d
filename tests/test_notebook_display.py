"""What a reader sees: tables rendered with units and sensible precision, counts and dicts as
tables, Result sections built from the run's values, and figure helpers that pick what the
text promises. All inputs are built here by hand."""
from __future__ import annotations

import re

import astropy.units as u
import numpy as np
from astropy.table import Table

from redshift1.notebook import count_table, dict_table, show_result, show_table
from redshift1.plots.kross_spectra import size_check_ratios
from redshift1.plots.roles import pdf_example_picks
from redshift1.results import completeness_sentence, notes_table, size_check_sentence, validation_explanations


def _cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html)


def test_show_table_units_precision_missing_values_and_row_limit(tmp_path):
    t = Table({"id": [f"g{i}" for i in range(20)],
               "flux": np.r_[1.234567e-17, np.full(19, 2.5e-17)] * u.erg / u.s / u.cm ** 2,
               "r": np.r_[5.123456, np.nan, np.full(18, 4.0)] * u.kpc,
               "edge": np.r_[22.75, np.full(19, 23.0)],
               "ok": [True, False] * 10})
    html = show_table(t, n=15, caption="sizes", path=tmp_path / "products" / "x.ecsv").data
    assert "<th>r [kpc]</th>" in html and "<th>flux [erg s⁻¹ cm⁻²]</th>" in html
    cells = _cells(html)
    assert len(cells) == 15 * 5                       # 15 rows of 5 columns
    assert cells[:5] == ["g0", "1.23e-17", "5.12", "22.75", "yes"]
    assert cells[7] == "—"                            # the NaN radius
    assert "20 rows, the first 15 shown" in html
    assert 'href="../products/x.ecsv"' in html
    assert "1.234567" not in html and "nan" not in html.lower()


def test_show_table_respects_a_column_format():
    t = Table({"seconds": [0.123456, 2.5]})
    t["seconds"].format = ".1f"
    assert _cells(show_table(t).data) == ["0.1", "2.5"]


def test_count_table_counts_every_combination():
    t = Table({"mask": ["m1", "m1", "m2", "m1"], "status": ["ok", "bad", "ok", "ok"]})
    c = count_table(t, ["mask", "status"])
    assert [tuple(r) for r in c] == [("m1", "bad", 1), ("m1", "ok", 2), ("m2", "ok", 1)]


def test_dict_table_flattens_nested_dicts():
    t = dict_table({"CDFS": {"slits": 39, "artefacts": {"edge": 15}}, "FIRES": {"slits": 40, "artefacts": {"edge": 2}}},
                   "field")
    assert t.colnames == ["field", "slits", "artefacts: edge"]
    assert list(t["artefacts: edge"]) == [15, 2]
    assert dict_table({"a": 1, "b": 2}, "status", "n").colnames == ["status", "n"]


def test_show_result_puts_run_and_paper_side_by_side():
    md = show_result([("slope", "0.50", "0.91")], ["A sentence."]).data
    assert md.startswith("## Result")
    assert "| slope | 0.50 | 0.91 |" in md and md.rstrip().endswith("A sentence.")


def test_pdf_examples_are_three_different_galaxies():
    # two galaxies share the P nearest 0 and 0.5 would pick the same one twice without exclusion
    poii = Table({"id": ["a", "b", "c", "d"], "field": ["F"] * 4, "status": ["detected"] * 4,
                  "p_source": ["photoz"] * 4, "p_oii_photoz_raw": [0.98, 0.30, 0.31, 0.62]})
    picks = pdf_example_picks(poii)
    ids = [poii["id"][i] for i, _ in picks]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert ids[0] == "a" and ids[1] == "b"


def test_pdf_examples_skip_galaxies_without_a_photoz_or_detection():
    poii = Table({"id": ["a", "b"], "field": ["F"] * 2, "status": ["detected", "undetected"],
                  "p_source": ["photoz", "photoz"], "p_oii_photoz_raw": [0.5, 0.5]})
    assert [poii["id"][i] for i, _ in pdf_example_picks(poii)] == ["a"]


def _sizes(ratio_small, ratio_big):
    r = np.array([0.4, 0.5, 0.6, 1.2, 1.3, 1.4])
    model = r * np.r_[np.full(3, ratio_small), np.full(3, ratio_big)]
    return Table({"status": ["ok"] * 6, "r_half_arcsec": r, "r_half_centroid_arcsec": r * 1.0,
                  "r_half_model_arcsec": model})


def test_size_check_sentence_reports_the_run_and_explains_an_offset():
    s = _sizes(0.95, 0.75)
    med = size_check_ratios(s)["r_half_model_arcsec"][0]
    text = size_check_sentence(s, "disc").data
    assert f"median ratio {med:.3f}" in text
    assert "0.95 for the smaller half" in text and "0.75 for the larger half" in text
    assert "exponential discs" in text and 'extrapolation = "disc"' in text
    assert "no offset" in size_check_sentence(_sizes(1.0, 1.0), "gaussian").data


def test_completeness_sentence_explains_a_small_w():
    comp = Table({"field": ["CDFS", "CDFS"], "bin": ["22.50-24.00", "all"], "n_phot": [100, 2500], "n_slit": [3, 36],
                  "N_phot": [10.0, 267.0], "N_slit": [0.2, 6.2], "W": [0.02, 0.0233]})
    text = completeness_sentence(comp, {"CDFS": 1})
    assert "W = 0.02" in text and "6.2 of the 267" in text and "2500 galaxies" in text and "1 mask(s)" in text
    assert "0.85" in text and "unbiased" in text


def test_validation_explanations_only_for_questionable_rows():
    rec = Table({"survey": ["KROSS", "KROSS", "KROSS"], "quantity": ["PSF fwhm", "z", "inclination"],
                 "n": [3, 20, 16], "bias": [-0.0007, 0.0, -33.0], "scatter": [6e-5, 5e-5, 37.7],
                 "pull_median": [-4.7, 0.3, np.nan], "pull_width": [1.2, 1.1, np.nan]})
    notes = validation_explanations(rec)
    assert len(notes) == 2
    assert "-4.7" in notes[0] and "-33.0°" in notes[1]      # the run's own numbers, not fixed text


def test_notes_table_groups_shared_definitions():
    t = notes_table({"roles.sfrd.CDFS.1": "same", "roles.sfrd.CDFS.2": "same", "roles.sfrd.FIRES.1": "same",
                     "kross.n": "other"})
    assert sorted(t["rows"]) == ["kross.n", "roles.sfrd.* (3 rows)"]
