"""Doubt is visible: flag cells, their summary sentence, and the flags the science tables
derive from hand-built upstream rows (issue 17 item 4)."""
import numpy as np
import pytest
from astropy.table import Table

from redshift1.flags import FLAG_WORDS, flag_summary, join_flags, split_flags
from redshift1.kmos.galaxy_size import constrained_kinematics, size_flags
from redshift1.science.kross_flags import metallicity_flags, resolved_flags, sfr_flags


def test_join_and_split_roundtrip_and_unknown_names_are_errors():
    cell = join_flags(["not_detected", "noise_rescaled", "not_detected"])
    assert cell == "not_detected,noise_rescaled"
    assert split_flags(cell) == ["not_detected", "noise_rescaled"]
    assert split_flags("") == []
    with pytest.raises(ValueError, match="unknown flag"):
        join_flags(["made_up"])


def test_summary_sentence_counts_rows_and_flags():
    t = Table({"flags": ["", "not_detected", "extrapolation_capped,unresolved", "not_detected", ""]})
    s = flag_summary(t, "galaxies")
    assert s == "3 of 5 galaxies are flagged: 2 not_detected, 1 extrapolation_capped, 1 unresolved."
    assert flag_summary(Table({"flags": ["", ""]})) == "0 of 2 galaxies are flagged."


def test_every_flag_has_words():
    assert all(isinstance(v, str) and len(v) > 10 for v in FLAG_WORDS.values())


def _size_row(**over):
    row = dict(status="ok", disc_ok=True, resolved=True, extrapolation_capped=False, inclination=50.0,
               inclination_err=5.0, pa=30.0, pa_err=3.0, v_max=150.0, v_max_err=20.0, psf_source="star")
    row.update(over)
    return row


@pytest.mark.parametrize("over, expected", [
    ({}, ""),
    ({"extrapolation_capped": True}, "extrapolation_capped"),
    ({"resolved": False}, "unresolved"),
    ({"disc_ok": False}, "no_disc_fit"),
    ({"inclination": 85.0}, "kinematics_unconstrained"),
    ({"v_max_err": 200.0}, "kinematics_unconstrained"),
    ({"psf_source": "spectrograph mean"}, "psf_fallback"),
    ({"v_max_source": "line_centres"}, "vmax_from_line_centres"),
    ({"v_max_source": "first_moments"}, ""),
    ({"v_max_source": "first_moments", "r_turn_at_bound": True}, "rturn_at_bound"),
    ({"disc_ok": False, "r_turn_at_bound": True}, "no_disc_fit"),
    ({"status": "not measured: Hα not detected"}, "not_detected"),
    ({"status": "skipped: unreadable"}, "not_measured"),
])
def test_size_flags(over, expected):
    assert size_flags(_size_row(**over)) == expected


def test_vmax_is_unconstrained_where_the_inclination_is():
    k = constrained_kinematics(_size_row(inclination_err=np.nan))
    assert not k["inclination"] and not k["v_max"] and k["pa"]


def test_science_table_flags_from_status_and_upstream():
    sizes = Table({"id": ["a", "b", "c", "d"], "flags": ["extrapolation_capped", "unresolved", "", ""]})
    sfr = Table({"id": ["a", "b", "c", "d"], "status": ["ok", "ok", "undetected: S/N(Hα) = 1.0 ≤ 3", "skipped: x"],
                 "halpha_detected": [True, True, False, False], "flux_recovered_fraction": [0.5, 1.0, 1.0, 1.0]})
    assert list(sfr_flags(sfr, sizes)) == ["extrapolation_capped", "flux_not_extrapolated",
                                          "not_detected,sfr_upper_limit", "not_measured"]
    res = Table({"id": ["a", "b", "c"], "status": ["ok", "lower_limit: unresolved", "no size: x"],
                 "halpha_detected": [True, True, True]})
    assert list(resolved_flags(res, sizes[:3])) == ["extrapolation_capped", "unresolved,sigma_sfr_lower_limit", "no_size"]
    met = Table({"nii_class": ["detected", "upper_limit", "near_sky_line", "no_halpha"]})
    assert list(metallicity_flags(met)) == ["", "metallicity_from_limit", "nii_near_sky_line,no_metallicity",
                                           "not_detected,no_metallicity"]


def test_walk_tables_carry_flags_and_notebooks_count_them(tiny_walk):
    """Notebooks 01-06: each product table has a ``flags`` column of known names, and each
    notebook prints how many objects are flagged, matching its table."""
    import json

    _, build, _ = tiny_walk
    products = build / "products"
    for nb, table in (("01_kmos_psf", "kmos_psf"), ("02_kmos_spectra", "kmos_spectra"),
                      ("03_kmos_sizes", "kmos_sizes"), ("04_main_sequence", "kross_sfr"),
                      ("05_resolved_ms", "kross_resolved"), ("06_metallicity", "kross_metallicity")):
        t = Table.read(products / f"{table}.ecsv")
        assert "flags" in t.colnames, table
        for cell in t["flags"]:
            assert set(split_flags(cell)) <= set(FLAG_WORDS), (table, cell)
        cells = json.loads((build / "notebooks" / f"{nb}.ipynb").read_text())["cells"]
        text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
        noun = "PSF stars" if table == "kmos_psf" else "galaxies"
        assert flag_summary(t, noun) in text, nb
    spectra = Table.read(products / "kmos_spectra.ecsv")
    undetected = ~np.asarray(spectra["halpha_detected"], bool)
    assert all(("not_detected" in split_flags(c)) == u for c, u in zip(spectra["flags"], undetected))
