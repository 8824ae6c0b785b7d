"""Notebook 11: every analysis choice of the walk as a widget, figures updated live.

Nothing is re-reduced: the explorer reads the products the walk wrote (notebooks 02–10)
and the input catalogues they were measured against, and recomputes only the science
steps downstream of each choice, with the same library functions the numbered notebooks
call.

* :mod:`.state` — :func:`load_products`: the products and catalogues, read once.
* :mod:`.kross` — pure recompute functions of the KROSS choices (S/N thresholds, the
  resolved criterion, PSF correction, main-sequence prescription, Δ(sSFR) bins, mass
  range of the Z trend, regression method).
* :mod:`.roles` — pure recompute functions of the ROLES choices (detection σ threshold,
  P([OII]) clamps, mass bins, [OII]-SFR estimator).
* :mod:`.choices` — the controls, the figures each one moves, and :class:`Choices`.
* :mod:`.compute` — the science of one set of choices, memoised on its inputs, so a change
  recomputes only what depends on it.
* :mod:`.panels` — the five live figures and the static summary figure.
* :mod:`.widgets` — :class:`Explorer`: the ipywidgets controls, their callbacks, the summary
  numbers and the layout.
"""
from .choices import CONTROLS, DEPENDS, PANELS, Choices, parse_edges
from .state import ExploreData, load_products
from .widgets import Explorer, build_explorer

__all__ = ["CONTROLS", "DEPENDS", "PANELS", "Choices", "ExploreData", "Explorer", "build_explorer", "load_products",
           "parse_edges"]
