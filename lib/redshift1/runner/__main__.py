"""``python -m redshift1.runner``: the same as ``python run_all.py``."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
