"""Ray Tune trainables: one per model, each wrapping ``eeg.training``'s building blocks."""

__all__ = ["train_cnn_lstm", "train_cnn_lstm_cv"]


def __getattr__(name: str):
    # Lazy, so importing the package does not import Ray in processes that do not need it.
    if name == "train_cnn_lstm":
        from trainables.cnn_lstm import train_cnn_lstm

        return train_cnn_lstm
    if name == "train_cnn_lstm_cv":
        from trainables.cnn_lstm_cv import train_cnn_lstm_cv

        return train_cnn_lstm_cv
    raise AttributeError(name)
