"""``tune_cluster.py report``: every trial's progress, the summary and the pictures of an experiment."""
