"""Per-galaxy stages give identical tables serially, on local processes and on a Dask cluster."""
import numpy as np
import pytest
from astropy.table import Table

from redshift1.errors import ParameterError
from redshift1.kmos.spectra import SpectraConfig
from redshift1.parallel import map_objects
from redshift1.steps.kmos_spectra import measure_spectra

CFG = SpectraConfig(n_perturb=8)


def _same(a: Table, b: Table):
    assert a.colnames == b.colnames
    for c in a.colnames:
        x, y = np.asarray(a[c]), np.asarray(b[c])
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=c)   # bit-identical, NaN where NaN
        else:
            assert (x == y).all(), c


def _square(x):
    return x * x


def test_map_objects_keeps_order():
    assert map_objects(_square, range(20), workers=2) == [x * x for x in range(20)]
    with pytest.raises(ParameterError, match="workers"):
        map_objects(_square, [1], workers=0)


@pytest.fixture(scope="module")
def serial(tiny_kmos_survey):
    targets = Table.read(tiny_kmos_survey / "kmos" / "targets.ecsv")
    table = measure_spectra(data=tiny_kmos_survey, targets=targets, config=CFG)["kmos_spectra.ecsv"]
    return targets, table


def test_local_processes_match_serial(tiny_kmos_survey, serial):
    targets, table = serial
    _same(table, measure_spectra(data=tiny_kmos_survey, targets=targets, config=CFG, workers=2)["kmos_spectra.ecsv"])


def test_dask_local_cluster_matches_serial(tiny_kmos_survey, serial):
    distributed = pytest.importorskip("dask.distributed")
    targets, table = serial
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        _same(table, measure_spectra(data=tiny_kmos_survey, targets=targets, config=CFG,
                                     scheduler=client)["kmos_spectra.ecsv"])
