"""What the gates write: DVC metrics and plots, reports, review notes, and no real rows."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import yaml

from tests.conftest import dvc, git, sdops, set_params

REQUIRED = [
    "quality.column_shapes",
    "quality.column_pair_trends",
    "quality.detection_auc",
    "utility.tstr",
    "utility.trtr",
    "privacy.exact_match_train",
    "privacy.exact_match_holdout",
    "privacy.dcr_share",
    "privacy.mia_auc",
    "privacy.mia_tpr_at_1pct_fpr",
    "privacy.singling_out_risk",
    "privacy.linkability_risk",
    "privacy.inference_risk",
    "subgroup.worst_group_gap",
]


def _outputs(root: Path) -> dict[str, str]:
    files = [*(root / "reports").rglob("*"), *(root / "release").rglob("*"), root / "dvc.lock"]
    return {str(p.relative_to(root)): p.read_text() for p in files if p.is_file()}


def test_no_real_row_or_precise_value_in_any_output(pipeline_outputs: Path) -> None:
    root = pipeline_outputs
    source = pd.read_csv(root / "data/source/credit.csv")
    raw_lines = (root / "data/source/credit.csv").read_text().splitlines()[1:]
    texts = _outputs(root)
    assert any(name.endswith("report.html") for name in texts)
    # values with 7+ significant decimals identify individual rows of this table
    precise = {
        str(v)
        for c in ("share", "expenditure", "age")
        for v in source[c]
        if len(str(v).split(".")[-1]) >= 7
    }
    assert len(precise) > 100
    for name, text in texts.items():
        for line in raw_lines:
            assert line not in text, f"{name} contains a source row"
        numbers = set(re.findall(r"\d+\.\d{7,}", text))
        leaked = numbers & precise
        assert not leaked, f"{name} contains real values {sorted(leaked)[:3]}"


def test_metrics_are_dvc_metrics_and_plots_render(pipeline_outputs: Path, tmp_path: Path) -> None:
    root = pipeline_outputs
    shown = json.loads(dvc("metrics", "show", "--json", cwd=root).stdout)
    data = next(iter(shown.values()))["data"]["reports/metrics.json"]["data"]
    for key in REQUIRED:
        section, name = key.split(".")
        assert name in data[section], key
    plots = json.loads(dvc("plots", "show", "--json", cwd=root).stdout)
    assert not plots.get("errors")
    names = " ".join(plots["data"])
    assert "reports/plots/dcr.csv" in names and "marginals" in names and "subgroups" in names
    gate = json.loads((root / "reports/gate.json").read_text())
    assert set(gate) >= {"approved", "failures", "gates"}
    for g in ("schema", "quality", "privacy", "subgroup", "policy"):
        assert set(gate["gates"][g]) >= {"passed", "failures"}
    md = (root / "reports/report.md").read_text()
    assert "APPROVED" in md and len(md) < 65_000  # fits a pull-request comment
    manifest = json.loads((root / "release/manifest.json").read_text())
    assert manifest["gates"]["thresholds"]["privacy"]["max_dcr_share"] == 0.55
    assert set(manifest["metrics"]) >= set(REQUIRED)

    # metrics diff across commits works like any DVC metric
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    set_params(copy, {"generator.seed": 21})
    dvc("repro", cwd=copy)
    diff = json.loads(dvc("metrics", "diff", "--json", cwd=copy).stdout)
    assert "reports/metrics.json" in diff


def test_thresholds_changed_with_data_are_flagged_for_review(
    pipeline_outputs: Path, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(pipeline_outputs, root, symlinks=True)
    git("checkout", "-q", "-b", "loosen", cwd=root)
    # thresholds only
    set_params(root, {"gates.privacy.max_mia_auc": 0.7})
    proc = sdops("gate", "reports/metrics.json", cwd=root)
    notes = json.loads((root / "reports/gate.json").read_text())["review_notes"]
    assert len(notes) == 1 and notes[0].startswith("Gate thresholds changed against merge base")
    assert "gates.privacy.max_mia_auc: 0.6 -> 0.7 (LOOSENED)" in notes[0]
    # thresholds and data together
    set_params(root, {"generator.seed": 99})
    proc = sdops("gate", "reports/metrics.json", cwd=root)
    gate = json.loads((root / "reports/gate.json").read_text())
    assert gate["review_notes"][0].startswith("THRESHOLDS AND DATA CHANGED TOGETHER")
    assert "generator" in gate["review_notes"][0]
    assert "THRESHOLDS AND DATA CHANGED TOGETHER" in (root / "reports/report.md").read_text()
    assert "class='review'" in (root / "reports/report.html").read_text()
    assert "THRESHOLDS AND DATA" in proc.stderr
    # nothing changed against main: no note
    git("checkout", "-q", "--", "params.yaml", cwd=root)
    sdops("gate", "reports/metrics.json", cwd=root)
    assert json.loads((root / "reports/gate.json").read_text())["review_notes"] == []


def test_a_raised_budget_cap_is_flagged_for_review(pipeline_outputs: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(pipeline_outputs, root, symlinks=True)
    set_params(root, {"budget.epsilon": 2.0})
    git("commit", "-qam", "Cap the privacy budget", cwd=root)
    git("checkout", "-q", "-b", "raise", cwd=root)

    seed = yaml.safe_load((root / "params.yaml").read_text())["generator"]["seed"]

    def notes() -> list[str]:
        sdops("gate", "reports/metrics.json", cwd=root)
        gate = json.loads((root / "reports/gate.json").read_text())
        return [n for n in gate["review_notes"] if "budget" in n.lower()]

    assert notes() == []
    # a raise on its own: said prominently, as its own change
    set_params(root, {"budget.epsilon": 5.0})
    (note,) = notes()
    assert note.startswith("PRIVACY BUDGET CAP RAISED (") and "as its own change" in note
    assert "budget.epsilon 2.0 -> 5.0" in note
    assert "PRIVACY BUDGET CAP RAISED" in (root / "reports/report.md").read_text()
    # a larger delta loosens the cap too; together with a generator change it is called out
    set_params(root, {"budget.epsilon": 2.0, "budget.delta": 1e-4, "generator.seed": seed + 1})
    (note,) = notes()
    assert note.startswith("PRIVACY BUDGET CAP RAISED IN ONE CHANGE WITH OTHER PARAMS")
    assert "also changed: generator" in note and "budget.delta 1e-05 -> 0.0001" in note
    # lowering it is a plain note
    set_params(root, {"budget.delta": 1e-5, "generator.seed": seed, "budget.epsilon": 1.0})
    (note,) = notes()
    assert note.startswith("Privacy budget cap changed against merge base")


def test_no_plotted_bin_or_metadata_value_describes_fewer_than_k_records(
    pipeline_outputs: Path,
) -> None:
    """Issue 11.9: bins pooled until each holds at least report.min_bin_count real (train)
    records, no edge on a real extreme; metadata.json without per-record ranges."""
    from sdops_dvc.domain.config import load_params

    root = pipeline_outputs
    k = load_params(root / "params.yaml").report.min_bin_count
    train = pd.read_parquet(root / "data/split/train.parquet")
    source = pd.read_csv(root / "data/source/credit.csv")
    checked = numeric_columns = 0
    for f in sorted((root / "reports/plots/marginals").glob("*.csv")):
        rows = pd.read_csv(f, dtype={"bin": str})
        col = f.stem
        n = int(train[col].notna().sum())
        for share in rows["real"]:
            if share > 0:
                assert round(share * n) >= k, f"{f.name}: a bin holds {round(share * n)} < {k}"
                checked += 1
        binned = all(str(b).startswith(("<", "[", ">=", "all")) for b in rows["bin"])
        if binned:  # a numeric column (categorical ones list categories held by >= k)
            numeric_columns += 1
            edges = {
                float(x)
                for label in rows["bin"]
                for x in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", label)
            }
            extremes = {float(source[col].min()), float(source[col].max())}
            assert not edges & extremes, f"{f.name}: an edge sits on a real extreme"
    assert checked > 20 and numeric_columns >= 4
    meta = json.loads((root / "metadata.json").read_text())
    text = json.dumps(meta)
    assert "range_min" not in text and "range_max" not in text and "range_values" not in text


def test_numeric_bins_hold_k_on_every_real_table() -> None:
    import numpy as np

    from sdops_dvc.metrics.plots import numeric_bins

    data = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"
    tables = sorted(data.glob("*.csv")) or [
        Path(__file__).resolve().parents[2] / "data" / "credit_card.csv"
    ]
    for path in tables:
        df = pd.read_csv(path)
        for col in df.select_dtypes("number").columns:
            v = df[col].dropna().to_numpy(dtype=float)
            edges = numeric_bins(v, 10)
            counts = np.histogram(v, [-np.inf, *edges, np.inf])[0]
            assert (counts >= 10).all(), (path.name, col, counts.min())
            assert v.min() not in edges and v.max() not in edges


MARKUP = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x.invalid","click")'


def test_markup_and_formulas_in_category_values_reach_no_report_unescaped(
    repo: Path, tmp_path: Path
) -> None:
    """Issue 25: category values are data, not markup: the HTML and Markdown reports show
    them as text, and the plot CSVs a spreadsheet may open do not run them as formulas."""
    import pandas as pd

    from tests.conftest import CREDIT, make_pipeline

    df = pd.read_csv(CREDIT).head(400)
    df["owner"] = df["owner"].map({"yes": MARKUP, "no": FORMULA})
    src = tmp_path / "incoming" / "credit.csv"
    src.parent.mkdir(parents=True)
    df.to_csv(src, index=False)
    root = make_pipeline(repo, src)
    dvc("repro", cwd=root, check=False)
    html = (root / "reports/report.html").read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in (root / "reports/report.md").read_text()
    cells = [
        line.split(",", 1)[0]
        for f in (root / "reports/plots").rglob("*.csv")
        for line in f.read_text().splitlines()
    ]
    assert any("HYPERLINK" in c for c in cells)  # the value is plotted...
    assert not any(c.startswith(("=", '"=')) for c in cells)  # ...as text, not a formula
