"""redshift-one: rebuild KROSS (VLT/KMOS) and ROLES (Magellan/LDSS3) from raw pixels.

The package holds every piece of logic the numbered notebooks call:

* :mod:`redshift1.mock` -- the mock observatory (population, sky, KMOS, LDSS3);
* :mod:`redshift1.kmos` -- reading and measuring KMOS cubes;
* :mod:`redshift1.ldss3` -- reducing nod-and-shuffle frames;
* :mod:`redshift1.science` -- the papers' conversions (SFR, main sequence, metallicity);
* :mod:`redshift1.paths` -- every path of the compendium, in one place.
"""
from .errors import Redshift1Error

__version__ = "0.1.0"
__all__ = ["Redshift1Error", "__version__"]
