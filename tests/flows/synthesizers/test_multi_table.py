"""HMA on real related rows (airlines and a sample of their January flights): the seed
decides the rows, in this process and in another one; the output is referentially clean."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "nycflights13"
COLUMNS = ["carrier", "origin", "dep_delay", "distance", "air_time"]
METADATA = {
    "tables": {
        "airlines": {
            "primary_key": "carrier",
            "columns": {"carrier": {"sdtype": "id"}, "name": {"sdtype": "categorical"}},
        },
        "flights": {
            "columns": {
                "carrier": {"sdtype": "id"},
                "origin": {"sdtype": "categorical"},
                "dep_delay": {"sdtype": "numerical"},
                "distance": {"sdtype": "numerical"},
                "air_time": {"sdtype": "numerical"},
            }
        },
    },
    "relationships": [
        {
            "parent_table_name": "airlines",
            "parent_primary_key": "carrier",
            "child_table_name": "flights",
            "child_foreign_key": "carrier",
        }
    ],
}
SCRIPT = """
import hashlib, json, sys
import pandas as pd
from sdops_dvc.synthesizers.multi_table import generate_tables
tables = {t: pd.read_csv(f"{sys.argv[1]}/{t}.csv") for t in ("airlines", "flights")}
tables["flights"] = tables["flights"][json.loads(sys.argv[3])].head(400)
out = generate_tables(tables, json.loads(sys.argv[2]), 7)
print(json.dumps({t: hashlib.md5(df.to_csv(index=False).encode()).hexdigest() for t, df in out.items()}))
"""


def _tables() -> dict[str, pd.DataFrame]:
    tables = {t: pd.read_csv(DATA / f"{t}.csv") for t in ("airlines", "flights")}
    tables["flights"] = tables["flights"][COLUMNS].head(400)
    return tables


def _md5(out: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {t: hashlib.md5(df.to_csv(index=False).encode()).hexdigest() for t, df in out.items()}


@pytest.mark.slow
def test_hma_follows_its_seed_across_processes_and_keeps_keys_clean() -> None:
    from sdops_dvc.metrics.relational import orphan_share
    from sdops_dvc.synthesizers.multi_table import generate_tables

    tables = _tables()
    first = generate_tables(tables, METADATA, 7)
    assert _md5(generate_tables(tables, METADATA, 7)) == _md5(first)
    assert _md5(generate_tables(tables, METADATA, 8))["flights"] != _md5(first)["flights"]
    other = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DATA), json.dumps(METADATA), json.dumps(COLUMNS)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(other.stdout.strip().splitlines()[-1]) == _md5(first)
    assert set(first) == {"airlines", "flights"} and len(first["flights"]) > 0
    assert orphan_share(first["airlines"]["carrier"], first["flights"]["carrier"]) == 0.0
    assert first["airlines"]["carrier"].is_unique
