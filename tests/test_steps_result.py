"""StepResult writes exactly its products, atomically, and nothing else."""
import json

from astropy.table import Table

from redshift1.steps.result import StepResult


def test_write_writes_tables_and_documents_only(tmp_path):
    res = StepResult(tables={"a.ecsv": Table({"x": [1.5, 2.5]})}, documents={"b.json": {"k": 1}},
                     values={"figure_input": [1, 2]})
    written = res.write(tmp_path / "products")
    assert [p.name for p in written] == ["a.ecsv", "b.json"]
    assert sorted(p.name for p in (tmp_path / "products").iterdir()) == ["a.ecsv", "b.json"]
    assert list(Table.read(tmp_path / "products" / "a.ecsv")["x"]) == [1.5, 2.5]
    assert json.loads((tmp_path / "products" / "b.json").read_text()) == {"k": 1}
    assert res["figure_input"] == [1, 2] and res["a.ecsv"] is res.tables["a.ecsv"]
