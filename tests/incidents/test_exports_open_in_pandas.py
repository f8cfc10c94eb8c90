"""Every incident export opens in pandas (a test-only dependency) with exactly the columns its data dictionary
documents, as CSV and as XLSX."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.coding.conftest import Bench
from tests.incidents.test_incident_exports import _code_everything
from tests.interviews.conftest import get


@pytest.mark.parametrize("kind", ["incidents", "reprisals", "persons", "summary"])
def test_the_export_opens_in_pandas_with_the_documented_columns(
    client: TestClient, bench: Bench, kind: str
) -> None:
    _code_everything(client, bench)
    url = f"/api/v1/projects/{bench.world.project.id}/exports/{kind}"
    xlsx = get(client, bench.coder, url, params={"format": "xlsx"})
    assert xlsx.status_code == 200, xlsx.text
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert "dictionary" in sheets
    documented = list(sheets["dictionary"]["column"])
    data = next(frame for name, frame in sheets.items() if name != "dictionary")
    assert list(data.columns) == documented
    csv = get(client, bench.coder, url, params={"format": "csv"})
    assert csv.status_code == 200
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert list(frame.columns) == documented
    assert len(frame) == len(data)
