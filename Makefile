# One target per user action; the README lists them in the same order.
PYTHON_BOOT ?= python3
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
RAY ?= $(VENV)/bin/ray
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: tune test test-fast train verify report dashboard bench bench-search bench-asha-settings bench-curves bench-overnight bench-pipeline bench-quick install clean down

# Create the virtualenv and install the project (re-runs only when pyproject.toml changes).
$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[cpu,test]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default: the guide's quick test (5 trials) on Ray Tune with a local Ray on
# synthetic EEG, then the final model with the best config, its test accuracy beside the majority baseline.
TUNE_ARGS ?= --max-trials 5 --max-epochs 8
tune: $(STAMP)
	$(PYTHON) tune_cluster.py --use-dummy-data $(TUNE_ARGS) --name quick-test-$$(date +%Y%m%d-%H%M%S)
	$(PYTHON) tune_cluster.py train --hparams models/best_hyperparameters.json --use-dummy-data

# Every test, the Ray smoke tunes included.
test: $(STAMP)
	$(PYTHON) -m pytest -q --durations=25 $(PYTEST_ARGS)

# The quick ones only (no Ray experiments, no real clusters).
test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not slow and not cluster" $(PYTEST_ARGS)

# Retrain the final model with the tuned hyperparameters and report test accuracy.
train: $(STAMP)
	$(PYTHON) tune_cluster.py train --hparams models/best_hyperparameters.json --use-dummy-data

# Default vs tuned config on the held-out test split over 3 seeds, beside the classical baselines;
# VERIFY_ARGS="--folds 5" instead compares them across subjects (subject-grouped folds).
VERIFY_ARGS ?= --seeds 3
verify: $(STAMP)
	$(PYTHON) tune_cluster.py verify --hparams models/best_hyperparameters.json --use-dummy-data $(VERIFY_ARGS)

# report and dashboard read the experiments under OUTPUT_DIR/tuning.
OUTPUT_DIR ?= models

# Summary and pictures of the newest experiment (running or finished); prints where each picture is.
report: $(STAMP)
	$(PYTHON) tune_cluster.py report --output-dir $(OUTPUT_DIR)

# optuna-dashboard on the newest experiment's Optuna study, on 127.0.0.1:8080 (DASHBOARD_ARGS="--port 8081").
DASHBOARD_ARGS ?=
dashboard: $(STAMP)
	$(PYTHON) tune_cluster.py dashboard --output-dir $(OUTPUT_DIR) $(DASHBOARD_ARGS)

# Measurements behind BENCHMARKS.md: every benchmark at full size into benchmarks/results.json and
# benchmarks/plots/ (about an hour on 2 CPUs); BENCH_ARGS="--only throughput,memory" runs some of them.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PYTHON) benchmarks/run_all.py $(BENCH_ARGS)

# Search efficiency at the scale of a night: every searcher x scheduler pairing against random search, 10 seeds x
# 100 trials each, on a surrogate of the recorded learning curves (Ray's own searchers and schedulers, simulated clock).
bench-search: $(STAMP)
	$(PYTHON) benchmarks/bench_search_efficiency.py $(BENCH_ARGS)

# The default pairing's grace period, reduction factor and epoch budget on the same surrogate (about 45 minutes on 2 CPUs).
bench-asha-settings: $(STAMP)
	$(PYTHON) benchmarks/bench_asha_settings.py $(BENCH_ARGS)

# Record (or continue recording) the real learning curves bench-search stands on: hours on 2 CPUs; resumable.
CURVES_ARGS ?= --configs 240 --epochs 40
bench-curves: $(STAMP)
	$(PYTHON) benchmarks/record_learning_curves.py $(CURVES_ARGS)

# The overnight run in miniature at full size: 200 trials on a 3-node cluster on this machine, a worker lost
# midway (about 20 minutes on 2 CPUs): wall time, trials per hour, retries and driver memory into results.json.
bench-overnight: $(STAMP)
	$(PYTHON) benchmarks/bench_overnight.py $(BENCH_ARGS)

# --space pipeline against the network-only space and the best fixed baseline: 2 splits x 3 seeds x 60 trials each
# (about 40 minutes on 2 CPUs); resumable (benchmarks/results/pipeline/runs.jsonl).
bench-pipeline: $(STAMP)
	$(PYTHON) benchmarks/bench_pipeline.py $(BENCH_ARGS)

# The same scripts with small numbers into benchmarks/quick/ (minutes; CI runs it so the scripts cannot rot).
bench-quick: $(STAMP)
	$(PYTHON) benchmarks/run_all.py --quick $(BENCH_ARGS)

clean:
	rm -rf .pytest_cache build *.egg-info

-include cluster/cluster.mk

# The issue's name for taking the cluster down (cluster/cluster.mk calls it cluster-down).
down: cluster-down
