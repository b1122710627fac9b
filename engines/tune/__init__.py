"""``tune_cluster.py tune``: the run lifecycle (:mod:`engines.tune.run`), its summary and its output files."""
