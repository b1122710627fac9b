"""The cluster YAMLs and cluster.mk, checked without starting a cluster (the submit helper: test_submit.py)."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
YAMLS = sorted(CLUSTER.glob("*.yaml"))
RAY_CLI = Path(sys.executable).with_name("ray")

# Words in the YAMLs' values that are not site placeholders.
NOT_PLACEHOLDERS = {
    "RAY_AUTH_MODE", "RAY_HEAD_IP", "EEG_RAY_START_ARGS", "GPUS", "KIND", "PATH", "HOME",
    "CPU", "GPU", "TERMINATE", "PERSISTENT", "ONE_TO_ONE_NAT", "NAT", "VPC", "README",
}
FILLED = {
    "HEAD_IP": "10.0.0.10", "WORKER_IP_1": "10.0.0.11", "WORKER_IP_2": "10.0.0.12",
    "SSH_USER": "lab", "SSH_KEY_PATH": "~/.ssh/id_ed25519", "REGION": "us-east-1",
    "AVAILABILITY_ZONES": "us-east-1a,us-east-1b", "ZONE": "us-east1-b", "PROJECT_ID": "eeg-lab-123",
    "AMI_ID": "ami-0123456789abcdef0", "KEY_PAIR_NAME": "eeg-lab", "SECURITY_GROUP_ID": "sg-0123456789abcdef0",
    "INSTANCE_PROFILE_ARN": "arn:aws:iam::123456789012:instance-profile/eeg-ray-worker",
    "IMAGE_URI": "projects/deeplearning-platform-release/global/images/family/common-cu124-debian-11",
    "SUBNET_NAME": "eeg-ray",
}


def _values_text(path: Path) -> str:
    """The YAML without its comments."""
    return "\n".join(line.split(" #")[0] for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))


def _placeholders(path: Path) -> set[str]:
    words = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\b", _values_text(path)))
    return {w for w in words if len(w) > 2 and w not in NOT_PLACEHOLDERS}


def _filled(path: Path) -> dict:
    text = path.read_text()
    for word, value in FILLED.items():
        text = re.sub(rf"\b{word}\b", value, text)
    return yaml.safe_load(text)


def _make(target: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = dict(os.environ if env is None else env)
    return subprocess.run(["make", "-s", "-f", "cluster/cluster.mk", target, f"PYTHON={sys.executable}",
                           f"RAY={RAY_CLI}", *args], cwd=REPO, env=base, capture_output=True, text=True, timeout=120)


def _start_commands(config: dict) -> list[str]:
    return [c for c in config["head_start_ray_commands"] + config["worker_start_ray_commands"] if "ray start" in c]


def test_there_is_a_lab_an_aws_and_a_gcp_cluster():
    assert [p.name for p in YAMLS] == ["aws.yaml", "gcp.yaml", "lab.yaml"]


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_each_yaml_passes_rays_own_cluster_schema_once_its_placeholders_are_filled(path):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _filled(path)
    assert not _placeholders_in(config)
    prepared = prepare_config(copy.deepcopy(config))  # what `ray up` does before validating
    validate_config(prepared)


def _placeholders_in(config: dict) -> set[str]:
    text = json.dumps(config)
    return {w for w in FILLED if re.search(rf"\b{w}\b", text)}


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_each_key_outside_list_items_has_a_comment_above_it(path):
    missing = []
    lines = path.read_text().splitlines()
    item_indent: int | None = None  # inside a "- " list item deeper than this
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if item_indent is not None and indent <= item_indent:
            item_indent = None
        if stripped.startswith("- "):
            item_indent = indent if item_indent is None else item_indent
            continue
        if item_indent is not None:
            continue
        if re.match(r'^["\w~./-]+("?):(\s|$)', stripped):
            above = lines[number - 2].strip() if number > 1 else ""
            if not above.startswith("#"):
                missing.append(f"{path.name}:{number}: {stripped}")
    assert not missing, "keys without a comment above them:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_each_placeholder_is_refused_by_cluster_up_and_explained_in_the_cluster_guide(path):
    mk = (CLUSTER / "cluster.mk").read_text()
    pattern = re.search(r"^CLUSTER_PLACEHOLDERS := (.+)$", mk, re.M).group(1)
    readme = (CLUSTER / "README.md").read_text()
    found = _placeholders(path)
    assert found, f"{path.name} has no CAPS placeholders"
    for word in found:
        assert re.fullmatch(pattern, word), f"{word} from {path.name} is not in cluster.mk's CLUSTER_PLACEHOLDERS"
        assert f"`{word}`" in readme or (word.startswith("WORKER_IP_") and "`WORKER_IP_1`" in readme), \
            f"{word} is not explained in cluster/README.md's placeholders"


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_every_node_starts_ray_with_token_auth_and_the_dashboard_only_on_localhost(path):
    config = yaml.safe_load(path.read_text())
    starts = _start_commands(config)
    assert len(starts) == 2
    for command in starts:
        assert "export RAY_AUTH_MODE=token;" in command
        assert "~/eeg-tuning/.venv/bin/ray start" in command, "Ray must come from the project's venv"
    head = next(c for c in starts if "--head" in c)
    assert "--dashboard-host=127.0.0.1" in head
    assert "RAY_AUTH_MODE=disabled" not in path.read_text() and "0.0.0.0" not in _values_text(path)
    assert config["file_mounts"]["~/.ray/auth_token"] == "cluster/.secrets/auth_token"
    assert ".secrets" in config["rsync_exclude"]


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_the_file_mounts_carry_everything_pip_install_needs(path):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= {f"{m}.py" for m in project["tool"]["setuptools"].get("py-modules", [])}
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        needed |= {p.name for p in REPO.glob(pattern.rstrip("*") + "*") if (p / "__init__.py").is_file() or p.is_dir()
                   and p.name == pattern.rstrip("*")}
    mounted = set(yaml.safe_load(path.read_text())["file_mounts"].values())
    assert needed <= mounted, f"not mounted: {sorted(needed - mounted)}"
    assert "." not in mounted and ".venv" not in mounted


def test_gpu_nodes_install_the_gpu_extra_and_cpu_nodes_do_not():
    lab = yaml.safe_load((CLUSTER / "lab.yaml").read_text())
    assert "nvidia-smi" in lab["setup_commands"][2] and "[gpu]" in lab["setup_commands"][2]
    for name in ("aws.yaml", "gcp.yaml"):
        config = yaml.safe_load((CLUSTER / name).read_text())
        types = config["available_node_types"]
        gpu = next(t for t in types.values() if t["resources"].get("GPU"))
        cpu = next(t for n, t in types.items() if n != config["head_node_type"] and not t["resources"].get("GPU"))
        assert gpu["resources"]["gpu_node"] == 1 and cpu["resources"]["cpu_node"] == 1
        assert any('"[gpu]"' in c for c in gpu["worker_setup_commands"])
        assert not any("[gpu]" in c for c in config["setup_commands"])
        assert gpu["min_workers"] == 0 and cpu["max_workers"] > 0


def test_the_cloud_yamls_open_rays_ports_only_inside_the_cluster():
    aws = _filled(CLUSTER / "aws.yaml")
    assert "security_group" not in aws["provider"], "Ray would add all traffic between members and SSH from anywhere"
    for name, node_type in aws["available_node_types"].items():
        assert node_type["node_config"]["SecurityGroupIds"] == ["sg-0123456789abcdef0"], name
    gcp = _filled(CLUSTER / "gcp.yaml")
    for name, node_type in gcp["available_node_types"].items():
        assert node_type["node_config"]["tags"]["items"] == ["eeg-ray"]
        nics = node_type["node_config"]["networkInterfaces"]
        if name != gcp["head_node_type"]:
            assert all("accessConfigs" not in nic for nic in nics), f"{name} would get an external IP"


def test_the_token_is_made_once_with_mode_600_in_a_700_folder_and_64_hex_digits(tmp_path):
    token = tmp_path / "secrets" / "auth_token"
    first = _make(str(token), f"TOKEN={token}")
    assert first.returncode == 0, first.stderr
    value = token.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert _make(str(token), f"TOKEN={token}").returncode == 0
    assert token.read_text() == value


def test_the_constraints_pin_this_python_and_ray_and_add_tensorflow_for_gpu_nodes(tmp_path):
    import ray

    constraints = tmp_path / "constraints.txt"
    made = _make("cluster-constraints", f"CONSTRAINTS={constraints}")
    assert made.returncode == 0, made.stderr
    lines = constraints.read_text().splitlines()
    assert lines[0] == "# python %d.%d" % sys.version_info[:2]
    assert f"ray=={ray.__version__}" in lines
    assert not [line for line in lines if " @ " in line or line.startswith("-e")]
    if any(re.match(r"tensorflow[-_]cpu==", line) for line in lines):
        assert any(line.startswith("tensorflow==") for line in lines)


def test_cluster_up_refuses_a_yaml_that_still_has_placeholders(tmp_path):
    result = _make("cluster-up", f"TOKEN={tmp_path / 'token'}", f"CONSTRAINTS={tmp_path / 'c.txt'}")
    assert result.returncode != 0
    assert "still has the placeholders" in result.stderr and "HEAD_IP" in result.stdout


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "STORAGE is still the placeholder"),
    ({"STORAGE": "runs", "OUTPUT_DIR": "/o"}, "STORAGE must be an absolute path"),
    ({"STORAGE": "/s", "OUTPUT_DIR": "out"}, "OUTPUT_DIR must be an absolute path"),
    ({"STORAGE": "/s", "OUTPUT_DIR": "/o", "TOKEN": "/nonexistent/token"}, "run 'make cluster-up' first"),
    ({"STORAGE": "/s", "OUTPUT_DIR": "/o", "ARGS": "--name other"}, "ARGS may not contain --name"),
    ({"STORAGE": "/s", "OUTPUT_DIR": "/o", "RAY_API_SERVER_ADDRESS": "http://127.0.0.1:9"}, "run 'make ray-dashboard'"),
])
def test_submit_says_in_one_line_what_is_wrong_before_anything_is_sent(tmp_path, settings, message):
    token = tmp_path / "token"
    token.write_text("f" * 64)
    args = {"TOKEN": str(token), "LAST_JOB": str(tmp_path / "last"), **settings}
    result = _make("submit", *[f"{k}={v}" for k, v in args.items()])
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert len(ours) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "last").exists()


def _make_results(tmp_path, storage):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python", "ray"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {tmp_path}/calls\n')
        (bin_dir / tool).chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "-f", "cluster/cluster.mk", "results", f"RAY={bin_dir / 'ray'}", f"PYTHON={bin_dir / 'python'}",
         f"STORAGE={storage}", "OUTPUT_DIR=/mnt/nfs/models", "NAME=run1", f"RESULTS_DIR={tmp_path / 'models'}"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "calls").read_text().splitlines()


@pytest.mark.parametrize("storage", ["s3://lab-bucket/eeg", "gs://lab-bucket/eeg"])
def test_results_fetches_a_cloud_experiment_and_its_outputs_from_the_bucket_without_the_head(tmp_path, storage):
    calls = _make_results(tmp_path, storage)
    assert calls == [f"python cluster/fetch_results.py {storage} run1 {tmp_path}/models"]


def test_results_fetches_an_nfs_experiment_then_the_outputs_through_the_head(tmp_path):
    calls = _make_results(tmp_path, "/mnt/nfs/eeg")
    assert calls == [f"ray rsync-down cluster/lab.yaml /mnt/nfs/eeg/run1/ {tmp_path}/models/tuning/run1/ray_results/",
                     f"ray rsync-down cluster/lab.yaml /mnt/nfs/models/ {tmp_path}/models/"]


def test_logs_without_a_job_says_to_submit_first(tmp_path):
    result = _make("logs", f"LAST_JOB={tmp_path / 'none'}")
    assert result.returncode == 2 and "run 'make submit' first" in result.stderr


def test_project_python_runs_the_nodes_venv_or_says_it_is_missing(tmp_path):
    script = str(CLUSTER / "project_python.sh")
    missing = subprocess.run(["bash", script, "-c", "print(1)"], capture_output=True, text=True,
                             env=dict(os.environ, EEG_PYTHON=str(tmp_path / "nope")))
    assert missing.returncode == 2 and "make cluster-up" in missing.stderr
    ran = subprocess.run(["bash", script, "-c", "import sys; print(sys.executable)"], capture_output=True,
                         text=True, env=dict(os.environ, EEG_PYTHON=sys.executable))
    assert ran.returncode == 0 and ran.stdout.strip() == sys.executable


def test_the_ci_setup_script_parses_and_rejects_unknown_commands():
    script = REPO / ".ci" / "cluster-setup.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert subprocess.run(["bash", str(script), "bogus"], capture_output=True).returncode == 2


def test_the_token_and_the_constraints_are_git_ignored():
    ignored = (CLUSTER / ".gitignore").read_text().splitlines()
    assert ".secrets/" in ignored and "constraints.txt" in ignored


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_every_node_makes_the_shipped_token_600_in_a_700_folder_before_any_other_setup_command(path, tmp_path):
    config = yaml.safe_load(path.read_text())
    first = config["setup_commands"][0]
    assert first == "chmod 700 ~/.ray && chmod 600 ~/.ray/auth_token"
    folder = tmp_path / ".ray"  # as file_mounts leaves it: the folder with the umask's mode
    folder.mkdir(mode=0o755)
    (folder / "auth_token").write_text("0" * 64)
    (folder / "auth_token").chmod(0o644)
    subprocess.run(["bash", "-c", first], env={**os.environ, "HOME": str(tmp_path)}, check=True, timeout=30)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "auth_token").stat().st_mode) == 0o600
