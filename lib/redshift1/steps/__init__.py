"""One module per notebook: the orchestration layer between the instruments/science code and
the notebooks.

Each ``steps`` module holds a few keyword-only functions that a notebook calls. They read the
inputs, call the algorithms in :mod:`redshift1.kmos`, :mod:`redshift1.ldss3` and
:mod:`redshift1.science`, and return a :class:`~redshift1.steps.result.StepResult` that the
notebook writes in view (``result.write(run.products)``). Steps never hold an algorithm and
never write a product out of the reader's sight.

=========================  ===========================
notebook                   steps module
=========================  ===========================
01_kmos_psf                :mod:`.kmos_psf`
02_kmos_spectra            :mod:`.kmos_spectra`
03_kmos_sizes              :mod:`.kmos_sizes`
04_main_sequence           :mod:`.main_sequence`
05_resolved_ms             :mod:`.resolved_ms`
06_metallicity             :mod:`.metallicity`
07_ldss3_reduce            :mod:`.ldss3_reduce`
08_ldss3_detect            :mod:`.ldss3_detect`
09_ldss3_redshifts         :mod:`.ldss3_redshifts`
10_lf_sfrd                 :mod:`.lf_sfrd`
12_validation              :mod:`.validation`
=========================  ===========================

Notebook 00 calls the mock observatory (:mod:`redshift1.mock.observe`) and notebook 11 the
explorer (:mod:`redshift1.explore`) directly: they are their own layers.
"""
