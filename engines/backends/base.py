"""What a search engine must say for itself; the run lifecycle (:mod:`engines.tune.run`) does the rest.

A backend checks the settings only it understands, names a new experiment, tells whether an
experiment needs nothing more, runs the search and turns its trials into
:class:`engines.experiment.records.TrialRecord` rows. Settings, experiment layout, the existence and
resume refusals, data, summary, outputs and exit codes are shared.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Iterator, Protocol

from engines.experiment.layout import ExperimentPaths
from engines.experiment.records import TrialRecord
from engines.experiment.settings import Settings, flag

__all__ = ["Backend", "Run", "SearchOutcome", "RAY_ONLY", "hostname", "no_session", "note_ignored"]

# Settings only the Ray engine reads: an engine on this machine notes a non-default value, never refuses it.
RAY_ONLY = ("address", "storage", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "memory_per_trial",
            "placement", "pending_timeout", "reuse_actors", "max_failures", "searcher", "checkpoint_every")


@dataclass(frozen=True)
class Run:
    """A validated run: its settings, its files, its space and data, and whether it adds to an experiment."""

    settings: Settings
    paths: ExperimentPaths
    space: Any  # search_spaces.space.SearchSpace
    data: Any  # engines.experiment.data.ExperimentData (holds the test split; a backend hands trials data.prepared.without_test())
    translated: Any  # what Backend.translate made of the space
    continuing: bool  # the experiment existed before this command


@dataclass
class SearchOutcome:
    """What a search leaves behind, for the shared summary and outputs."""

    records: list[TrialRecord]  # every trial of the experiment (all runs, all workers)
    run_wall_s: float  # seconds this command spent searching
    utilisation: float | None  # share of the workers' time spent inside trials
    finished: bool  # the experiment is done: --resume has nothing left to do
    metadata: dict[str, Any]  # method, searcher, scheduler and the backend's own keys
    study_names: list[str]  # Optuna studies to rewrite from the records
    unfinished_line: str  # what to do when the experiment is not finished, e.g. "Not finished: continue with ..."
    summary_extra: dict[str, Any] = field(default_factory=dict)
    # The nodes this run's trials ran on, where node ids change between runs (a new local Ray): None counts the
    # nodes every record names.
    run_nodes: list[str] | None = None
    interrupted: bool = False  # Ctrl-C cut trials short and the engine returned: exit 130, resumable
    stopped: BaseException | None = None  # raised again once the outputs are written (Ctrl-C: exit 130)
    fatal: str | None = None  # the engine gave up on the search: print this line, exit 1
    # Reads the outcome again; the lifecycle calls it under the experiment lock right before writing, where
    # other processes (parallel workers) add trials to the same experiment.
    recollect: Callable[[], "SearchOutcome"] | None = None


class Backend(Protocol):
    """One search engine."""

    method: str
    # An existing experiment met without --resume: "refuse" it, or "continue" it (the guide's habits).
    on_existing: str
    # Settings an experiment keeps when it is continued: a flag left at its default takes the
    # saved value, a different value is refused (two experiments would be mixed).
    same_on_resume: tuple[str, ...]
    # The engine keeps its experiment in --storage (``<storage>/<name>``): the experiment's config and, at the
    # end, its outputs are copied there too (engines.experiment.storage), so another machine can resume or fetch it.
    uses_storage: bool

    def check(self, settings: Settings) -> None:
        """Refuse (InputError) what this engine cannot run; note flags it ignores."""

    def default_name(self, settings: Settings) -> str:
        """The experiment name when --name is not given."""

    def has_state(self, settings: Settings, paths: ExperimentPaths) -> bool:
        """Whether the engine's own state of the experiment exists (beside config.json)."""

    def translate(self, settings: Settings, space: Any) -> Any:
        """The space in this engine's terms, made before any data is read: a space it cannot express fails here."""

    def already_done(self, settings: Settings, paths: ExperimentPaths) -> str | None:
        """A line saying the experiment needs nothing more, or None."""

    def session(self, settings: Settings) -> ContextManager[None]:
        """Whatever must be up while the search runs (Ray); entered before anything is written."""

    def search(self, run: Run) -> SearchOutcome:
        """Run (or continue) the search and return every trial of the experiment."""


def hostname() -> str:
    """This machine's name: node and host of every single-machine trial."""
    return socket.gethostname()


@contextlib.contextmanager
def no_session(settings: Settings) -> Iterator[None]:
    """The session of an engine that needs nothing up."""
    yield


def note_ignored(settings: Settings, keys: tuple[str, ...], why: str) -> None:
    """One note naming the flags ``settings`` sets that this engine does not read."""
    ignored = [flag(key) for key in keys if settings.differs_from_default(key)]
    if ignored:
        print(f"note: {why}; ignoring {', '.join(ignored)}", flush=True)
