"""How a search is run, one lifecycle for every method, in wings (each imports only the ones below it):

* :mod:`engines.experiment`: settings, where files live, storage, data, trial records, atomic files, the trials table;
* :mod:`engines.backends`: one interface and one module per search engine (Ray Tune, Optuna, Keras Tuner);
* :mod:`engines.tune`: ``tune``: validate, refuse or resume, search, summary, outputs, exit code;
* :mod:`engines.final_model`: ``train`` and ``verify``: the final model on the held-out test split, beside the baselines;
* :mod:`engines.report`: ``report``: progress of every trial, the summary and the pictures.
"""
