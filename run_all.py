#!/usr/bin/env python
"""Execute the numbered notebooks in order; see ``python run_all.py --help``.

All logic lives in :mod:`redshift1.runner`.
"""
from redshift1.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
