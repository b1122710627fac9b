"""The trials table: one row per trial of an experiment, whatever method ran it (Parquet, and CSV beside it).

Columns are the :class:`engines.experiment.records.TrialRecord` fields, the per-epoch history
and the nodes as JSON text, and one ``config/<name>`` column per hyperparameter.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from engines.experiment.files import replace_atomically
from engines.experiment.records import TrialRecord

__all__ = ["TABLE_FILE", "read_trials_table", "write_trials_table"]

TABLE_FILE = "trials.parquet"


def _table_rows(records: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        row = {k: v for k, v in asdict(record).items() if k not in ("params", "val_accuracy_history", "nodes",
                                                                     "fold_val_accuracy")}
        row["val_accuracy_history"] = json.dumps(record.val_accuracy_history)
        # --cv K: one column per fold (the score at the best fold-mean epoch), empty without --cv.
        row.update({f"fold_{i}/val_accuracy": v for i, v in enumerate(record.fold_val_accuracy)})
        row["nodes"] = json.dumps(record.nodes or ([record.node_id] if record.node_id else []))
        row.update({f"config/{k}": v for k, v in sorted(record.params.items())})
        rows.append(row)
    return rows


def write_trials_table(records: Sequence[TrialRecord], experiment_dir: Path) -> tuple[Path, Path]:
    """Every trial with config, metrics, status, failure reason, node and wall time: Parquet and CSV."""
    import pandas as pd

    frame = pd.DataFrame(_table_rows(records))
    # Config columns mix types across trials (None for inactive knobs); keep them as text-safe objects.
    for column in frame.columns:
        if column.startswith("config/") and frame[column].map(type).nunique() > 1:
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    parquet = Path(experiment_dir) / TABLE_FILE
    csv = Path(experiment_dir) / "trials.csv"
    with replace_atomically(parquet, ".parquet") as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
    with replace_atomically(csv, ".csv") as tmp:
        frame.to_csv(tmp, index=False)
    return parquet, csv


def read_trials_table(experiment_dir: Path):
    """The trials table as a pandas DataFrame."""
    import pandas as pd

    return pd.read_parquet(Path(experiment_dir) / TABLE_FILE, engine="pyarrow")
