"""Regenerate the column and keyword tables of docs/data-format.md from the readers' schemas.

    python scripts/update_contract.py [docs/data-format.md]

The tables sit between ``<!-- BEGIN schema NAME -->`` / ``<!-- END schema NAME -->`` markers;
the schemas are in ``redshift1.kmos.catalogue`` and ``redshift1.ldss3.survey_files``.
"""
import sys
from pathlib import Path

from redshift1.contract import update

if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "data-format.md"
    changed = update(path)
    print(f"{path}: " + (f"regenerated {', '.join(changed)}" if changed else "up to date"))
