"""examples/fleet.ipynb runs top to bottom, headless and offline."""

from __future__ import annotations

import nbformat
from conftest import ROOT
from nbclient import NotebookClient


def test_the_example_notebook_runs():
    path = ROOT / "examples" / "fleet.ipynb"
    nb = nbformat.read(path, as_version=4)
    # Shipped with its outputs cleared.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # The ingest counts, three frames and one chart.
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "'records': 537" in text
    assert "configUpdate" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
