"""One experiment's state, shared by every wing: settings, layout, storage, data, trial records and files."""
