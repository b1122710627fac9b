"""The overnight run in miniature, on a real 3-node Ray cluster on this machine (see cluster/overnight.py).

40 short trials go in with ``make submit``; a worker node is SIGKILLed once a quarter of them
have reported and a fresh one joins later. Every trial must end (none failed, none left
running), the trial on the lost node retries from its checkpoint on another node,
the best config is written, and the driver's memory does not grow with the trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cluster.overnight import figures, run_overnight, trial_reports

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(1500)]


def test_forty_trials_survive_a_lost_worker_node_and_all_are_accounted_for(tmp_path):
    # Five epochs a trial, not two or three: the node is killed under a trial whose first report has reached the
    # storage and that has three epochs to go; shorter trials (0.6 s an epoch) ended inside that window on CI.
    result = run_overnight(tmp_path, trials=40, epochs=5)
    assert result.returncode == 0, result.output[-6000:]
    assert result.killed_node is not None, "the job ended before a node could be killed"
    table = pd.read_parquet(result.experiment / "trials.parquet")
    assert len(table) == 40, table["status"].value_counts()
    assert set(table["status"]) <= {"complete", "stopped_early"}, table[["trial_id", "status", "failure_reason"]]
    assert (result.out_dir / "best_hyperparameters.json").is_file()

    retried = table[table["retries"] > 0]
    continued = []
    seen = {}  # each retried trial's reports, shown when an assertion fails
    for _, row in retried.iterrows():
        reports = trial_reports(Path(result.out_dir.parent) / "storage" / "overnight" / f"trial_{row['trial_id']}")
        seen[row["trial_id"]] = [(r["epoch"], r["iterations_since_restore"], r["node_id"][:8],
                                  bool(r.get("checkpoint_dir_name"))) for r in reports]
        epochs = [r["epoch"] for r in reports]
        restart = next((i for i, r in enumerate(reports) if i > 0 and r["iterations_since_restore"] == 1), None)
        if restart is None:
            continue  # its first node died before it reported: nothing to continue from, nothing trained twice
        continued.append(f"trial_{row['trial_id']}")
        assert len(json.loads(row["nodes"])) >= 2, row  # moved off the lost node
        before, after = epochs[:restart], epochs[restart:]
        # The retry continued from the last checkpoint its first node saved (the first epoch always saves; Ray
        # names a report's checkpoint in checkpoint_dir_name), not from scratch: it trained again only the
        # epochs reported after that checkpoint, and left none out.
        saved = [r["epoch"] for r in reports[:restart] if r.get("checkpoint_dir_name")]
        assert saved and after[0] == max(saved) + 1 >= 2, (epochs, saved)
        assert after == list(range(after[0], after[0] + len(after))) and before == list(range(1, restart + 1)), epochs
    # The node was killed under a trial that had reported its first epoch: that one continued elsewhere.
    assert result.killed_trial in continued, (result.killed_node, result.killed_trial, seen)

    numbers = figures(result)
    print(json.dumps(numbers, indent=2))
    growth = numbers["driver_rss_mb_last_quarter"] - numbers["driver_rss_mb_first_quarter"]
    assert growth < 150, numbers  # the driver keeps no per-trial state that grows with the run
