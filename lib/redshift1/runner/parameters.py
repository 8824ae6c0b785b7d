"""The notebooks' parameters: what each declares, and what the runner passes to each.

Every notebook has a cell tagged ``parameters``. Four names in it are a contract
(:data:`CONTRACT`): ``preset``, ``data_dir``, ``products_dir`` and ``figures_dir``. The runner
passes each of them, as an absolute path where it is a path, to the notebooks that declare it,
and forwards ``-p NAME VALUE`` only to the notebooks that declare ``NAME`` -- after checking,
before anything runs, that some selected notebook declares it and that the value's type
matches the declared default.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import DataFormatError, ParameterError
from ..paths import project_root, resolve
from .notebooks import DEFAULT_KERNEL, notebook_kernel

__all__ = ["CONTRACT", "PATH_PARAMETERS", "NotebookParameter", "build_parameters", "forwarded_options",
           "notebook_parameters", "parse_value"]

#: Parameter names every notebook's ``parameters`` cell is expected to declare.
CONTRACT = ("preset", "data_dir", "products_dir", "figures_dir")
#: The contract parameters that are paths (passed as absolute paths).
PATH_PARAMETERS = ("data_dir", "products_dir", "figures_dir")

#: Python types accepted for a declared type name (``int`` is fine for ``float``).
_ACCEPTED_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "complex": (complex, float, int),
    "list": (list,),
    "tuple": (tuple,),
    "dict": (dict,),
    "set": (set,),
    "bytes": (bytes,),
    "none": (type(None),),
    "nonetype": (type(None),),
}


@dataclass(frozen=True)
class NotebookParameter:
    """One name declared in a notebook's ``parameters`` cell.

    Parameters
    ----------
    name : str
        The variable name.
    type_name : str or None
        The declared type: the annotation if there is one, else the type of the
        default when the default is a Python literal; ``None`` when unknown
        (a ``None`` default or an expression such as ``np.pi``), in which case
        any value is accepted.
    default : str
        The default as written in the notebook (source text).
    help : str
        The trailing ``# comment`` on the parameter's line.
    """

    name: str
    type_name: str | None
    default: str
    help: str = ""

    @property
    def accepted_types(self) -> tuple[type, ...] | None:
        """Python types a value may have, or ``None`` if anything goes.

        Returns
        -------
        tuple of type or None
            ``None`` when the declared type is unknown or not a simple builtin.
        """
        if self.type_name is None:
            return None
        accepted: list[type] = []
        for part in _split_annotation(self.type_name):
            types = _ACCEPTED_TYPES.get(part)
            if types is None:
                return None  # a type we do not model: do not second-guess it
            accepted.extend(types)
        return tuple(dict.fromkeys(accepted)) or None

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has a type compatible with the declared one.

        Parameters
        ----------
        value : object
            A parsed ``-p`` value.

        Returns
        -------
        bool
            ``True`` if the type matches (``int`` is accepted for ``float``,
            but ``bool`` is never accepted for a number).
        """
        accepted = self.accepted_types
        if accepted is None:
            return True
        if isinstance(value, bool):
            return bool in accepted
        return isinstance(value, accepted)


def _split_annotation(annotation: str) -> list[str]:
    """Reduce an annotation to lower-case builtin base names.

    ``"Optional[int]"`` gives ``["int", "none"]``, ``"float | None"`` gives
    ``["float", "none"]`` and ``"list[int]"`` gives ``["list"]``.
    """
    text = annotation.strip().replace("typing.", "")
    match = re.fullmatch(r"Optional\[(.*)\]", text)
    if match:
        return _split_annotation(match.group(1)) + ["none"]
    match = re.fullmatch(r"Union\[(.*)\]", text)
    parts = match.group(1).split(",") if match else text.split("|")
    names = []
    for part in parts:
        base = part.strip().split("[", 1)[0].strip().lower()
        names.append("none" if base in ("none", "nonetype") else base)
    return names


def _type_name_of_default(inferred: str | None, default: str) -> str | None:
    """Declared type of a parameter: annotation first, else the default's type."""
    if inferred and inferred != "None":
        return inferred
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if value is None:
        return None
    return type(value).__name__



def notebook_parameters(path: str | os.PathLike) -> dict[str, NotebookParameter]:
    """Read the parameters a notebook declares in its ``parameters`` cell.

    Parameters
    ----------
    path : path-like
        The source notebook.

    Returns
    -------
    dict of str to NotebookParameter
        In the order of the cell; empty if the notebook has no cell tagged
        ``parameters``.

    Raises
    ------
    DataFormatError
        If the file is not a readable notebook.
    """
    import nbformat
    from papermill.translators import papermill_translators

    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise DataFormatError(f"{path}: not a readable notebook ({exc})") from exc
    cell = next(
        (c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])),
        None,
    )
    if cell is None:
        return {}
    # Same as papermill.inspect_notebook, but tolerant of a missing kernelspec.
    kernel = notebook_kernel(nb) or DEFAULT_KERNEL
    language = (
        nb.metadata.get("kernelspec", {}).get("language")
        or nb.metadata.get("language_info", {}).get("name")
        or "python"
    )
    translator = papermill_translators.find_translator(kernel, language)
    params = {}
    for raw in translator.inspect(cell):
        p = raw._asdict()
        params[p["name"]] = NotebookParameter(
            name=p["name"],
            type_name=_type_name_of_default(p.get("inferred_type_name"), p["default"]),
            default=p["default"],
            help=p.get("help") or "",
        )
    return params


def parse_value(text: str) -> Any:
    """Parse a ``-p`` value: a Python literal if possible, else the text.

    Parameters
    ----------
    text : str
        The value as typed on the command line.

    Returns
    -------
    object
        ``"3"`` gives ``3``, ``"[1, 2]"`` a list, ``"'x'"`` the string ``x``,
        ``"quick"`` the string ``quick``.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def build_parameters(
    declared: Mapping[str, Mapping[str, NotebookParameter]],
    contract: Mapping[str, Any],
    overrides: Sequence[tuple[str, str]] = (),
    root: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Work out the parameters to pass to each notebook, checking ``-p`` values.

    Parameters
    ----------
    declared : mapping
        ``{notebook name: {parameter name: NotebookParameter}}`` for the
        selected notebooks, as from :func:`notebook_parameters`.
    contract : mapping
        Values of the contract parameters (``preset`` and the absolute
        ``data_dir``, ``products_dir``, ``figures_dir``).
    overrides : sequence of (str, str)
        ``-p NAME VALUE`` pairs as typed; the last of a repeated name wins.
        A path parameter given with ``-p`` is anchored at ``root``.
    root : Path, optional
        The project root for relative paths (default: ``project_root()``).

    Returns
    -------
    dict of str to dict
        ``{notebook name: {parameter: value}}``, holding only the names each
        notebook declares.

    Raises
    ------
    ParameterError
        If ``-p`` sets ``preset`` (use ``--preset``), names a parameter no
        selected notebook declares, or gives a value of the wrong type.
    """
    root = root or project_root()
    values: dict[str, tuple[str, Any]] = {}
    for name, text in overrides:
        if name == "preset":
            raise ParameterError("-p preset: set the preset with --preset, not -p")
        if not name.isidentifier():
            raise ParameterError(f"-p {name}: not a valid parameter name")
        values[name] = (text, parse_value(text))

    known = sorted({n for params in declared.values() for n in params})
    unknown = [n for n in values if n not in known]
    if unknown:
        raise ParameterError(
            f"-p {', '.join(unknown)}: not declared by any selected notebook "
            f"(declared: {', '.join(known) or 'none'})"
        )

    result: dict[str, dict[str, Any]] = {}
    for nb_name, params in declared.items():
        chosen: dict[str, Any] = {}
        for name, param in params.items():
            if name in values:
                text, value = values[name]
                if name in PATH_PARAMETERS:
                    value = str(resolve(text, root))
                chosen[name] = _checked(nb_name, param, text, value)
            elif name in contract:
                chosen[name] = contract[name]
        result[nb_name] = chosen
    return result


def _checked(nb_name: str, param: NotebookParameter, text: str, value: Any) -> Any:
    """Check a ``-p`` value against one notebook's declaration; return the value to pass."""
    if param.accepts(value):
        names = _split_annotation(param.type_name) if param.type_name else []
        if "float" in names and "int" not in names \
                and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # a float parameter given as 3 becomes 3.0
        return value
    accepted = param.accepted_types or ()
    if str in accepted:
        return text  # e.g. -p field 2020 for a str parameter means the text "2020"
    raise ParameterError(
        f"-p {param.name}: notebook {nb_name} declares {param.name} as "
        f"{param.type_name} (default {param.default}), got {type(value).__name__} {value!r}"
    )


def forwarded_options(parameters: Sequence[Sequence[str]], workers: int | None, scheduler: str | None,
                      declared_names: set[str]) -> list[list[str]]:
    """The ``-p`` pairs to forward: those typed, then ``--workers``/``--scheduler`` as parameters.

    ``workers`` and ``scheduler`` reach only the notebooks that declare them, and are dropped
    silently when no selected notebook does (they are run options, not notebook parameters).

    Parameters
    ----------
    parameters : sequence of (str, str)
        ``-p NAME VALUE`` pairs as typed.
    workers : int or None
        ``--workers``.
    scheduler : str or None
        ``--scheduler``.
    declared_names : set of str
        Every parameter some selected notebook declares.

    Returns
    -------
    list of [str, str]

    Raises
    ------
    ParameterError
        If ``workers`` is not a positive integer.
    """
    extra = []
    if workers is not None:
        if workers < 1:
            raise ParameterError(f"--workers must be a positive integer, got {workers}")
        extra.append(["workers", str(workers)])
    if scheduler:
        extra.append(["scheduler", repr(scheduler)])
    return list(parameters) + [pv for pv in extra if pv[0] in declared_names]
