"""The two papers' cosmologies, as astropy objects."""
from astropy.cosmology import FlatLambdaCDM

#: KROSS (Magdis et al. 2016): WMAP-7, Larson et al. 2011.
KROSS_COSMO = FlatLambdaCDM(H0=70.4, Om0=0.273, name="WMAP7-KROSS")

#: ROLES (Gilbank et al. 2010): h=0.7, Om=0.3, OL=0.7.
ROLES_COSMO = FlatLambdaCDM(H0=70.0, Om0=0.3, name="ROLES")
