"""The one exception family the compendium raises on bad input.

Every message names the file or object at fault and what is wrong with it, on one
line, so that the command line can print it without a traceback.
"""


class Redshift1Error(Exception):
    """Base class: bad input, named, one line."""


class DataFormatError(Redshift1Error):
    """A file exists but does not follow the data contract (docs/data-format.md)."""


class MissingInputError(Redshift1Error):
    """A file or directory the contract requires is absent."""


class ParameterError(Redshift1Error):
    """A run or notebook parameter has the wrong name, type or value."""


class ForeignDataError(Redshift1Error):
    """A command would replace a folder holding files the project did not write."""
