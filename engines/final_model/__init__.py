"""``train`` and ``verify``: the final model, its test accuracy, the folds and the comparison with the baselines."""
