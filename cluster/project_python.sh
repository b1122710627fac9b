#!/usr/bin/env bash
# Runs the project's own Python on a Ray node: the entrypoint of every `make submit` job.
#
# A job's entrypoint runs in /bin/sh on the head with the raylet's environment, where
# `python` may be the system one (no TensorFlow, another Ray). This runs the interpreter
# of the virtualenv that the cluster YAML's setup_commands built, or says it is missing.
#   EEG_PYTHON   the interpreter to use (default: $HOME/eeg-tuning/.venv/bin/python)
# Usage: bash cluster/project_python.sh SCRIPT [ARGS...]
set -euo pipefail

python="${EEG_PYTHON:-$HOME/eeg-tuning/.venv/bin/python}"
if [ ! -x "$python" ]; then
  echo "error: the project's Python '$python' is missing on node $(hostname):" \
       "run 'make cluster-up' (its setup_commands build it) or set EEG_PYTHON" >&2
  exit 2
fi
exec "$python" "$@"
