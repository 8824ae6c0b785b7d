"""Reading and writing KMOS data cubes as the ESO KMOS pipeline writes them.

A reconstructed KMOS cube is a FITS file with an empty primary HDU and two image
extensions, ``<name>.DATA`` and ``<name>.NOISE`` (``DATA``/``NOISE`` are accepted too),
each (NAXIS3=λ, NAXIS2=y, NAXIS1=x) with a celestial TAN WCS on axes 1-2 and a linear
``WAVE`` axis (vacuum; ``AWAV``, air, is refused) on axis 3. The loader is the unit
boundary: whatever ``CUNIT3`` and ``BUNIT`` the file states, a :class:`KMOSCube` has its
wavelengths in µm and its flux density per spaxel in erg s⁻¹ cm⁻² µm⁻¹
(:data:`FLUX_DENSITY_UNIT`), so that line fluxes are always erg s⁻¹ cm⁻². Real products
carry no ``BUNIT``: the loader then reports the flux unit as unknown rather than guessing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..errors import DataFormatError, MissingInputError, Redshift1Error
from ..schema import flux_density_equivalencies

import warnings

#: what the loader reports when a cube carries no BUNIT
UNKNOWN_UNIT = u.dimensionless_unscaled
#: the flux density per spaxel of every cube with a BUNIT, after the loader's conversion
FLUX_DENSITY_UNIT = u.erg / u.s / u.cm**2 / u.um


@dataclass
class KMOSCube:
    """A KMOS cube in memory.

    Attributes
    ----------
    data, noise : ndarray (nλ, ny, nx)
        Flux density and its 1σ noise; invalid voxels are NaN in both.
    wavelength : Quantity (nλ,)
        Vacuum wavelength of each channel, in µm.
    wcs : astropy.wcs.WCS
        The celestial (2D) WCS of the spatial axes.
    unit : astropy.units.UnitBase
        Flux-density unit of ``data`` and ``noise``: :data:`FLUX_DENSITY_UNIT` whenever the
        file has a BUNIT (the loader converts), dimensionless when unknown.
    unit_known : bool
        False when the file carries no BUNIT (real ESO products).
    name : str
        Object name from the extension name (``<name>.DATA``) or OBJECT keyword.
    path : Path
    header : fits.Header
        The primary header (ESO keywords).
    """

    data: np.ndarray
    noise: np.ndarray
    wavelength: u.Quantity
    wcs: WCS
    unit: u.UnitBase
    unit_known: bool
    name: str
    path: Path
    header: fits.Header = field(repr=False)

    @property
    def shape(self):
        return self.data.shape

    @property
    def valid(self) -> np.ndarray:
        """Voxels with finite data and positive, finite noise."""
        return np.isfinite(self.data) & np.isfinite(self.noise) & (self.noise > 0)

    @property
    def pixel_scale(self) -> u.Quantity:
        """Spaxel size (arcsec) from the celestial WCS."""
        scales = u.Quantity(self.wcs.proj_plane_pixel_scales())
        return np.abs(scales).mean().to(u.arcsec)

    @property
    def channel_width(self) -> u.Quantity:
        return np.median(np.diff(self.wavelength))


def _find_extensions(hdul: fits.HDUList, path: Path) -> tuple[int, int, str]:
    names = [h.name.upper() for h in hdul]
    data_idx = [i for i, n in enumerate(names) if n == "DATA" or n.endswith(".DATA")]
    if not data_idx:
        raise DataFormatError(f"{path}: no DATA extension (expected 'DATA' or '<name>.DATA'; found {names})")
    i = data_idx[0]
    stem = names[i][: -len("DATA")]
    noise_name = stem + "NOISE"
    if noise_name not in names:
        raise DataFormatError(f"{path}: extension {hdul[i].name} has no matching {noise_name} extension")
    obj = hdul[i].name[: -len(".DATA")] if hdul[i].name.upper().endswith(".DATA") else ""
    return i, names.index(noise_name), obj


def _wavelengths(header: fits.Header, nchan: int, path: Path) -> u.Quantity:
    ctype = str(header.get("CTYPE3", "")).strip().upper()
    if ctype.startswith("AWAV"):
        raise DataFormatError(f"{path}: CTYPE3={ctype!r} is an air-wavelength axis; the contract requires vacuum "
                              f"(CTYPE3 = 'WAVE')")
    if not ctype.startswith("WAVE"):
        raise DataFormatError(f"{path}: axis 3 is not a spectral WCS axis (CTYPE3={ctype or 'missing'!r})")
    try:
        unit = u.Unit(str(header.get("CUNIT3", "um")).strip().lower().replace("micron", "um"), format="fits")
    except ValueError as exc:
        raise DataFormatError(f"{path}: unreadable CUNIT3 {header.get('CUNIT3')!r}") from exc
    if unit.physical_type != "length":
        raise DataFormatError(f"{path}: CUNIT3={header.get('CUNIT3')!r} is not a wavelength unit")
    step = header.get("CD3_3", header.get("CDELT3"))
    if step is None or "CRVAL3" not in header:
        raise DataFormatError(f"{path}: spectral axis lacks CRVAL3 and CDELT3/CD3_3")
    pix = np.arange(nchan) + 1 - header.get("CRPIX3", 1.0)
    return (header["CRVAL3"] + pix * step) * unit


def _flux_unit(header: fits.Header, path: Path) -> tuple[u.UnitBase, bool]:
    """The unit BUNIT states (dimensionless and ``False`` without one)."""
    bunit = header.get("BUNIT")
    if bunit is None or not str(bunit).strip():
        return UNKNOWN_UNIT, False
    try:
        return u.Unit(str(bunit).strip(), format="fits"), True
    except ValueError:
        try:
            return u.Unit(str(bunit).strip()), True
        except ValueError:
            raise DataFormatError(f"{path}: BUNIT {bunit!r} is not a unit astropy can read") from None


def _to_flux_density(data, noise, unit, wavelength, path: Path):
    """``data`` and ``noise`` in :data:`FLUX_DENSITY_UNIT` (per µm), from any flux density per
    wavelength or per frequency (converted at each channel's wavelength)."""
    if unit == FLUX_DENSITY_UNIT:
        return data, noise
    eq = flux_density_equivalencies(unit, wavelength[:, None, None])
    if not unit.is_equivalent(FLUX_DENSITY_UNIT, equivalencies=eq):
        raise DataFormatError(f"{path}: BUNIT {unit.to_string()!r} is not a flux density per spaxel "
                              f"(the contract needs {FLUX_DENSITY_UNIT.to_string()} or a unit convertible to it)")
    return ((data * unit).to_value(FLUX_DENSITY_UNIT, equivalencies=eq),
            (noise * unit).to_value(FLUX_DENSITY_UNIT, equivalencies=eq))


def _check_spec_frame(primary: fits.Header, path: Path) -> None:
    """An ESO product that states its spectral frame must state vacuum."""
    frame = primary.get("HIERARCH ESO PRO SPEC FRAME")
    if frame is not None and str(frame).strip().upper() != "VACUUM":
        raise DataFormatError(f"{path}: ESO PRO SPEC FRAME = {str(frame).strip()!r}; the contract requires "
                              f"vacuum wavelengths")


def read_kmos_cube(path: str | Path) -> KMOSCube:
    """Read a KMOS cube of either layout (mock or ESO pipeline product).

    Parameters
    ----------
    path : str or Path
        FITS file with ``DATA``/``NOISE`` or ``<name>.DATA``/``<name>.NOISE`` extensions.

    Returns
    -------
    KMOSCube
        Wavelengths in µm (vacuum); data and noise in :data:`FLUX_DENSITY_UNIT` when the
        file has a BUNIT (converted from the unit it states), in the file's own unknown unit
        (``unit_known = False``) otherwise; voxels with non-finite data or non-positive
        noise are set to NaN in both arrays.

    Raises
    ------
    MissingInputError
        The file does not exist.
    DataFormatError
        Not FITS, truncated, missing extensions, not a 3D cube, shapes differ, no
        spectral WCS, an air-wavelength axis, or a BUNIT that is unreadable or not a
        flux density. The one-line message names the file and the keyword.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: no such cube file")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("silentfix")
            i_data, i_noise, obj = _find_extensions(hdul, path)
            hd, hn = hdul[i_data], hdul[i_noise]
            if hd.data is None or hd.data.ndim != 3:
                ndim = None if hd.data is None else hd.data.ndim
                raise DataFormatError(f"{path}: {hd.name} is not a 3D cube (ndim={ndim})")
            if hn.data is None or hn.data.shape != hd.data.shape:
                raise DataFormatError(f"{path}: {hn.name} shape differs from {hd.name} shape {hd.data.shape}")
            data = np.array(hd.data, dtype=np.float64)
            noise = np.array(hn.data, dtype=np.float64)
            header = hd.header.copy()
            primary = hdul[0].header.copy()
    except Redshift1Error:
        raise
    except Exception as exc:  # astropy reports damaged files through many exception types
        raise DataFormatError(f"{path}: not a readable FITS cube ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''})") from exc
    if data.shape[0] < 2 or min(data.shape[1:]) < 1:
        raise DataFormatError(f"{path}: cube shape {data.shape} has too few channels or spaxels")
    try:
        wavelength = _wavelengths(header, data.shape[0], path).to(u.um)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{path}: unreadable spectral axis ({exc})") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header, naxis=2)
        except Exception as exc:  # astropy raises a zoo of errors for bad WCS
            raise DataFormatError(f"{path}: unreadable celestial WCS ({exc})") from exc
    _check_spec_frame(primary, path)
    unit, known = _flux_unit(header, path)
    if known:
        with np.errstate(all="ignore"):         # invalid voxels are set to NaN just below
            data, noise = _to_flux_density(data, noise, unit, wavelength, path)
        unit = FLUX_DENSITY_UNIT
    bad = ~(np.isfinite(data) & np.isfinite(noise) & (noise > 0))
    data[bad] = np.nan
    noise[bad] = np.nan
    name = obj or str(primary.get("OBJECT", path.stem))
    return KMOSCube(data=data, noise=noise, wavelength=wavelength, wcs=wcs, unit=unit,
                    unit_known=known, name=name, path=path, header=primary)


def cube_wcs_header(ra: float, dec: float, crpix: tuple[float, float], pixscale_arcsec: float,
                    lam0_um: float, dlam_um: float) -> fits.Header:
    """The WCS cards an ESO KMOS cube carries (TAN + linear WAVE in µm, CD matrix).

    Parameters
    ----------
    ra, dec : float
        Sky position of the reference pixel [deg].
    crpix : tuple of float
        Reference pixel (x, y), 1-based FITS convention.
    pixscale_arcsec : float
        Spaxel size [arcsec].
    lam0_um, dlam_um : float
        Wavelength of the first channel and channel width [µm, vacuum].

    Returns
    -------
    astropy.io.fits.Header
        The WCS cards with their comments.
    """
    h = fits.Header()
    scale = pixscale_arcsec / 3600.0
    cards = [
        ("CTYPE1", "RA---TAN", "TAN projection used"), ("CTYPE2", "DEC--TAN", "TAN projection used"),
        ("CTYPE3", "WAVE", "Coordinate system of z-axis"),
        ("CUNIT1", "deg", "Unit of x-axis"), ("CUNIT2", "deg", "Unit of y-axis"),
        ("CUNIT3", "um", "Unit of z-axis (vacuum)"),
        ("CRPIX1", crpix[0], "[pix] Reference pixel in x"), ("CRPIX2", crpix[1], "[pix] Reference pixel in y"),
        ("CRPIX3", 1.0, "[pix] Reference pixel in z"),
        ("CRVAL1", ra, "[deg] RA at ref. pixel"), ("CRVAL2", dec, "[deg] DEC at ref. pixel"),
        ("CRVAL3", lam0_um, "[um] Wavelength at ref. pixel"),
        ("CD1_1", -scale, ""), ("CD1_2", 0.0, ""), ("CD1_3", 0.0, ""),
        ("CD2_1", 0.0, ""), ("CD2_2", scale, ""), ("CD2_3", 0.0, ""),
        ("CD3_1", 0.0, ""), ("CD3_2", 0.0, ""), ("CD3_3", dlam_um, "[um] Spectral sampling"),
        ("SPECSYS", "TOPOCENT", ""), ("RADESYS", "FK5", ""), ("EQUINOX", 2000.0, ""),
    ]
    for k, v, c in cards:
        h[k] = (v, c)
    return h


def make_cube_hdulist(name: str, data: np.ndarray, noise: np.ndarray, primary: fits.Header,
                      wcs_header: fits.Header, bunit: str | None) -> fits.HDUList:
    """Assemble a cube file in the ESO layout: empty primary + ``<name>.DATA`` + ``<name>.NOISE``.

    Parameters
    ----------
    name : str
        Object name (the extensions' prefix).
    data, noise : numpy.ndarray
        (nλ, ny, nx) flux density and its 1σ noise (written as float32).
    primary : astropy.io.fits.Header
        Primary header (ESO keywords).
    wcs_header : astropy.io.fits.Header
        WCS cards of both extensions (:func:`cube_wcs_header`).
    bunit : str or None
        Flux-density unit; None writes no BUNIT (as real ESO products).

    Returns
    -------
    astropy.io.fits.HDUList
        The three HDUs.
    """
    hdus = [fits.PrimaryHDU(header=primary)]
    for kind, arr in (("DATA", data), ("NOISE", noise)):
        h = wcs_header.copy()
        h["EXTNAME"] = (f"{name}.{kind}", "FITS extension name")
        if bunit:
            h["BUNIT"] = (bunit, "flux density per spaxel")
        hdus.append(fits.ImageHDU(np.asarray(arr, dtype=np.float32), header=h))
    return fits.HDUList(hdus)
