"""Derive the compact sky tables the mock observatory ships from ../shared/reference.

The reference spectra themselves are not part of the compendium (see
../shared/reference/README.md); this script reduces them to a few hundred rows of
facts -- sky-line wavelengths and relative strengths, a smoothed continuum -- and
writes them, with their provenance, to ``lib/redshift1/data/``.

    python scripts/derive_sky_tables.py [--reference ../shared/reference]

Running it again on the same reference files reproduces the committed tables
(``tests/test_sky_tables.py`` checks this where the reference folder exists).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from redshift1.mock.sky import derive_kmos_oh_lines, derive_optical_sky, check_gmos_frame
from redshift1.paths import PACKAGE_DATA


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "reference"))
    parser.add_argument("--out", default=str(PACKAGE_DATA))
    args = parser.parse_args(argv)
    ref, out = Path(args.reference), Path(args.out)

    oh = derive_kmos_oh_lines(ref / "kmos_oh_spec_yj.fits")
    oh.write(out / "sky_oh_lines_kmos_yj.ecsv", overwrite=True)
    lines, cont = derive_optical_sky(ref / "paranal_sky.fits")
    lines.write(out / "sky_lines_optical.ecsv", overwrite=True)
    cont.write(out / "sky_continuum_optical.ecsv", overwrite=True)
    offset = check_gmos_frame(ref / "OH_GMOS_lines.dat", lines)
    print(f"KMOS OH lines: {len(oh)}; optical sky lines: {len(lines)}; continuum points: {len(cont)}")
    print(f"OH_GMOS_lines.dat minus Paranal (vacuum) line positions: median {offset:+.2f} A "
          "(near -2 A would mean air, near 0 vacuum)")


if __name__ == "__main__":
    main()
