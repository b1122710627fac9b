#!/usr/bin/env python3
"""Submit a tuning run to the cluster's job API: what ``make submit`` runs.

Usage: ``python cluster/submit.py [tune flags...]`` from anywhere; the repository is the
job's working directory. Settings come from the environment (``cluster/cluster.mk`` sets
them from its variables):

    RAY                     the ray CLI (default: ``ray`` beside this Python)
    RAY_API_SERVER_ADDRESS  the job API (default http://127.0.0.1:8265: ``make ray-dashboard``'s tunnel)
    TOKEN                   the cluster's token file (default cluster/.secrets/auth_token)
    NAME, STORAGE, OUTPUT_DIR   ``--name``, ``--storage``, ``--output-dir`` of the run, as the
                            head sees them (shared storage, so ``make results`` finds them)
    ENTRY                   the script the job runs (default tune_cluster.py)
    NODE_PYTHON             the interpreter on the head (default: the project's venv there)
    WAIT                    1: follow the logs and exit with the job's result
    LAST_JOB                a file that remembers the submission id for ``make logs``

The job runs ``bash cluster/project_python.sh ENTRY tune --address auto --storage STORAGE
--name NAME --output-dir OUTPUT_DIR [tune flags...]``: the project's Python on the head,
never whatever ``python`` its shell finds first.

Exit codes: 0 submitted (with WAIT=1: the job succeeded); 2 a setting is wrong (one line
on stderr); 1 the job failed or the API refused it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

__all__ = ["EXCLUDES", "build_command", "main"]

REPO = Path(__file__).resolve().parents[1]

# What never travels in the job's working directory (gitignore syntax, relative to the
# repository): environments, outputs, caches, and the token itself.
EXCLUDES = [
    "/.venv/",
    "/venv/",
    "/models/",
    "/data/",
    "/.git/",
    "__pycache__/",
    "*.pyc",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".cache/",
    "*.egg-info/",
    "/build/",
    "/cluster/.secrets/",
    "/cluster/constraints.txt",
]

_PLACEHOLDER = re.compile(r"\b(NFS_PATH|BUCKET)\b")
_OWNED_FLAGS = {"--name": "NAME", "--storage": "STORAGE", "--output-dir": "OUTPUT_DIR", "--address": None}


class UsageError(Exception):
    """A setting is wrong; the message is the one line the user sees."""


def _setting(env: Mapping[str, str], key: str, default: str) -> str:
    value = env.get(key, "").strip()
    return value or default


def _check_settings(env: Mapping[str, str], args: Sequence[str]) -> dict[str, str]:
    cfg = {
        "ray": _setting(env, "RAY", str(Path(sys.executable).with_name("ray"))),
        "address": _setting(env, "RAY_API_SERVER_ADDRESS", "http://127.0.0.1:8265"),
        "token": _setting(env, "TOKEN", "cluster/.secrets/auth_token"),
        "name": _setting(env, "NAME", ""),
        "storage": _setting(env, "STORAGE", ""),
        "output_dir": _setting(env, "OUTPUT_DIR", ""),
        "entry": _setting(env, "ENTRY", "tune_cluster.py"),
        "node_python": _setting(env, "NODE_PYTHON", ""),
        "wait": _setting(env, "WAIT", "0"),
        "last_job": _setting(env, "LAST_JOB", ""),
    }
    for key, var in (("name", "NAME"), ("storage", "STORAGE"), ("output_dir", "OUTPUT_DIR")):
        if not cfg[key]:
            raise UsageError(f"{var} is empty: pass {var}=... (see README.md, 'On a cluster')")
    for key, var in (("storage", "STORAGE"), ("output_dir", "OUTPUT_DIR")):
        if _PLACEHOLDER.search(cfg[key]):
            raise UsageError(
                f"{var} is still the placeholder {cfg[key]!r}: set it in cluster/cluster.mk "
                f"or pass {var}=... (see README.md, 'On a cluster')"
            )
    if "://" not in cfg["storage"] and not cfg["storage"].startswith("/"):
        raise UsageError(
            f"STORAGE must be an absolute path every node sees (NFS) or an s3:// / gs:// URI, "
            f"got {cfg['storage']!r} (a relative path would land in the job's temporary copy)"
        )
    if not cfg["output_dir"].startswith("/"):
        raise UsageError(
            f"OUTPUT_DIR must be an absolute path on the head, got {cfg['output_dir']!r} "
            "(a relative path would land in the job's temporary copy)"
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", cfg["name"]):
        raise UsageError(f"NAME must be letters, digits, '.', '_' or '-', got {cfg['name']!r}")
    if not (REPO / cfg["entry"]).is_file():
        raise UsageError(f"ENTRY {cfg['entry']!r} is not a file in {REPO}")
    token = Path(cfg["token"])
    if not token.is_absolute():
        token = (Path.cwd() / token).resolve()
    if not token.is_file() or not token.read_text().strip():
        raise UsageError(
            f"no cluster token at {token}: run 'make cluster-up' first (it creates the token "
            "and ships it to every node)"
        )
    cfg["token"] = str(token)
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in _OWNED_FLAGS:
            var = _OWNED_FLAGS[flag]
            hint = f"pass {var}=... to make instead" if var else "submit always uses --address auto"
            raise UsageError(f"ARGS may not contain {flag}: {hint}")
    return cfg


def _auth_env(env: Mapping[str, str], token_path: str) -> dict[str, str]:
    """The submitting shell's environment with token auth on and this cluster's token."""
    out = dict(env)
    out.pop("RAY_AUTH_TOKEN", None)  # it would win over the token file
    out["RAY_AUTH_MODE"] = "token"
    out["RAY_AUTH_TOKEN_PATH"] = token_path
    return out


def _check_api(address: str, token: str, timeout: float = 10.0) -> None:
    """The job API answers and accepts this token, or one line that says what to do."""
    request = urllib.request.Request(
        address.rstrip("/") + "/api/version", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise UsageError(
                f"the job API at {address} refused the token in TOKEN (HTTP {err.code}): "
                "the cluster was started with another token; run 'make cluster-up' again"
            ) from None
        raise UsageError(f"the job API at {address} answered HTTP {err.code}") from None
    except (urllib.error.URLError, OSError) as err:
        raise UsageError(
            f"cannot reach the job API at {address} ({getattr(err, 'reason', err)}): "
            "run 'make ray-dashboard' in another terminal (it tunnels the head's 127.0.0.1:8265)"
        ) from None


def build_command(cfg: Mapping[str, str], args: Sequence[str], submission_id: str) -> list[str]:
    """The ``ray job submit`` command line for these settings and tune flags."""
    runtime_env: dict[str, object] = {"excludes": EXCLUDES}
    if cfg["node_python"]:
        runtime_env["env_vars"] = {"EEG_PYTHON": cfg["node_python"]}
    command = [
        cfg["ray"], "job", "submit",
        "--address", cfg["address"],
        "--submission-id", submission_id,
        "--working-dir", str(REPO),
        "--runtime-env-json", json.dumps(runtime_env),
    ]
    if cfg["wait"] != "1":
        command.append("--no-wait")
    command += [
        "--", "bash", "cluster/project_python.sh", cfg["entry"], "tune",
        "--address", "auto",
        "--storage", cfg["storage"],
        "--name", cfg["name"],
        "--output-dir", cfg["output_dir"],
        *args,
    ]
    return command


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ if env is None else env)
    try:
        cfg = _check_settings(env, args)
        token = Path(cfg["token"]).read_text().strip()
        _check_api(cfg["address"], token)
    except UsageError as err:
        sys.stderr.write(f"error: submit: {err}\n")
        return 2
    submission_id = f"{cfg['name']}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = build_command(cfg, args, submission_id)
    if cfg["last_job"]:
        last = Path(cfg["last_job"]).expanduser()
        last.parent.mkdir(parents=True, exist_ok=True)
        last.write_text(submission_id + "\n")
    print(f"submitting {submission_id} to {cfg['address']}", flush=True)
    result = subprocess.run(command, cwd=REPO, env=_auth_env(env, cfg["token"]))
    if result.returncode != 0:
        sys.stderr.write(f"error: submit: job {submission_id} failed or was refused (exit {result.returncode})\n")
        return 1
    if cfg["wait"] != "1":
        print(
            f"submitted {submission_id}. Follow it with 'make logs' or 'make status'; "
            f"tomorrow: 'make results NAME={cfg['name']}'."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
