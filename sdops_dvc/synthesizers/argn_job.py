"""The tabular_argn job: runs in the runtime's own interpreter (``runtime.run_job``), never
in sdops' environment, so it imports nothing of sdops.

Input: a JSON job (paths, seed, threads, rows, the column order and encodings, the model's
settings). It fits MOSTLY AI's TabularARGN on the train table with the columns in the job's
order (flexible generation off: the model generates them in that order), samples the rows,
and writes them as parquet, and the versions it ran with as JSON. The torch thread count is
fixed before anything runs: with it and the seed fixed, the bytes repeat across processes.
"""

from __future__ import annotations

import ast
import json
import logging
import sys
from typing import Any


class _Epochs(logging.Handler):
    """The engine's per-epoch records, one short line each on stderr (sdops logs them as
    the fit's progress); everything else the engine says is dropped."""

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if not msg.startswith("{'epoch'"):
            return
        try:
            row = ast.literal_eval(msg)
        except (ValueError, SyntaxError):
            return
        if not row.get("is_checkpoint") and row.get("val_loss") is None:
            return
        val = row.get("val_loss")
        print(
            f"epoch {row['epoch']:g}: train loss {row['trn_loss']:.4f}"
            + (f", validation loss {val:.4f}" if val is not None else "")
            + f" ({row.get('total_time', 0):.0f} s)",
            file=sys.stderr,
            flush=True,
        )


def main(job_path: str) -> None:
    with open(job_path, encoding="utf-8") as fh:
        job: dict[str, Any] = json.load(fh)
    import torch

    torch.set_num_threads(int(job["threads"]))
    torch.set_num_interop_threads(1)
    import importlib.metadata as md

    import pandas as pd
    from mostlyai.engine import TabularARGN

    columns = list(job["columns"])
    train = pd.read_parquet(job["train"])[columns]
    settings = dict(job["settings"])
    sampling = settings.pop("sampling_temperature", 1.0)
    model = TabularARGN(
        **settings,
        enable_flexible_generation=False,
        tgt_encoding_types={c: job["encodings"][c] for c in columns},
        workspace_dir=job["workspace"],
        random_state=int(job["seed"]),
        verbose=0,
    )
    engine_log = logging.getLogger("mostlyai.engine")
    engine_log.addHandler(_Epochs())
    engine_log.setLevel(logging.INFO)
    engine_log.propagate = False  # a root handler some dependency installs would repeat it
    model.fit(train)
    sample = model.sample(
        n_samples=int(job["rows"]),
        sampling_temperature=float(sampling),
        rare_category_replacement_method="SAMPLE",
    )
    sample[columns].to_parquet(job["out"], index=False)
    info = {p: md.version(p) for p in ("mostlyai-engine", "torch", "numpy", "pandas")}
    with open(job["info"], "w", encoding="utf-8") as fh:
        json.dump({"versions": info}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
