"""ROLES / Magellan-LDSS3 nod-and-shuffle data: reading (:mod:`.survey_files`) and reducing.

The data contract is ``docs/data-format.md, section LDSS3``; :mod:`redshift1.ldss3.survey_files` reads any
folder laid out that way (the mock written by :mod:`redshift1.mock.roles`, or real data).
"""
from . import survey_files

__all__ = ["survey_files"]
