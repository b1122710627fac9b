"""The cloud clusters' firewalls and worker identity, checked offline (cluster/firewall.py, dry runs)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
SITE = {"REGION": "us-east-1", "AVAILABILITY_ZONES": "us-east-1a", "ZONE": "us-east1-b", "PROJECT_ID": "eeg-lab-123",
        "SSH_KEY_PATH": "~/.ssh/id_ed25519", "AMI_ID": "ami-0123456789abcdef0", "KEY_PAIR_NAME": "eeg-lab",
        "INSTANCE_PROFILE_ARN": "arn:aws:iam::123456789012:instance-profile/eeg-ray-worker",
        "SECURITY_GROUP_ID": "sg-0123456789abcdef0", "IMAGE_URI": "projects/p/global/images/family/f",
        "SUBNET_NAME": "eeg-ray"}
SETTINGS = {"ADMIN_CIDR": "203.0.113.0/24", "VPC_ID": "vpc-0123", "NETWORK_NAME": "eeg-net",
            "STORAGE": "gs://eeg-bucket/eeg-tuning"}
# Ports Ray listens on that must stay closed between nodes: the dashboard/job API (the head's
# 127.0.0.1, reached over SSH) and the Ray client server (unused).
CLOSED = {"dashboard-port", "ray-client-server-port"}
# Every port flag of `ray start` that opens a listening socket (ray start --help).
PORT_FLAGS = {"node-manager-port", "object-manager-port", "runtime-env-agent-port", "dashboard-agent-grpc-port",
              "dashboard-agent-listen-port", "metrics-export-port", "min-worker-port", "max-worker-port"}
HEAD_PORT_FLAGS = {"port", "dashboard-port", "ray-client-server-port"}


def _firewall():
    if "cluster_firewall" not in sys.modules:  # registered first: its dataclass looks itself up there
        spec = importlib.util.spec_from_file_location("cluster_firewall", CLUSTER / "firewall.py")
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules["cluster_firewall"]


def _filled_text(name: str) -> str:
    text = (CLUSTER / name).read_text()
    for word, value in SITE.items():
        text = re.sub(rf"\b{word}\b", value, text)
    return text


def _filled(name: str) -> dict:
    return yaml.safe_load(_filled_text(name))


def _starts(config: dict) -> list[str]:
    return [c for c in config["head_start_ray_commands"] + config["worker_start_ray_commands"] if "ray start" in c]


def _flags(command: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"--([\w-]+)=(\d+)(?=\s|$)", command)}


def _expected_member_ports(config: dict) -> set[tuple[int, int]]:
    """What the `ray start` commands pin, as (from, to), less the closed ports, plus SSH for the autoscaler."""
    ports = {(22, 22)}
    for command in _starts(config):
        flags = _flags(command)
        ports.add((flags.pop("min-worker-port"), flags.pop("max-worker-port")))
        ports |= {(p, p) for flag, p in flags.items() if flag.endswith("port") and flag not in CLOSED}
    return ports


def _worker_range(config: dict) -> int:
    flags = _flags(_starts(config)[0])
    return flags["max-worker-port"] - flags["min-worker-port"]


class Recorder:
    """A runner for firewall.py that records each command and answers from ``answers`` (first word match)."""

    def __init__(self, answers: dict[str, str] | None = None):
        self.commands: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, command, check):
        self.commands.append(list(command))
        text = shlex.join(command)
        return next((answer for key, answer in self.answers.items() if key in text), None)

    def named(self, word: str) -> list[list[str]]:
        return [c for c in self.commands if word in c]


def _ip_permissions(command: list[str]) -> list[dict]:
    return json.loads(next(a for a in command if a.startswith("--ip-permissions=")).split("=", 1)[1])


def _option(command: list[str], name: str) -> str:
    return next(a.split("=", 1)[1] for a in command if a.startswith(f"--{name}="))


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_every_ray_start_pins_every_port_ray_listens_on_and_the_worker_range_is_narrow(name):
    config = yaml.safe_load((CLUSTER / name).read_text())
    starts = _starts(config)
    assert len(starts) == 2
    for command in starts:
        wanted = PORT_FLAGS | (HEAD_PORT_FLAGS if "--head" in command else set())
        pinned = {f for f in _flags(command) if f.endswith("port")}
        assert wanted <= pinned, f"{name}: unpinned {sorted(wanted - pinned)} in {command}"
    head, worker = (_flags(c) for c in sorted(starts, key=lambda c: "--head" not in c))
    assert {k: v for k, v in head.items() if k in PORT_FLAGS} == {k: v for k, v in worker.items() if k in PORT_FLAGS}
    assert 100 <= _worker_range(config) <= 1000, "worker ports: room for a node's workers, no more"


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_the_filled_yaml_passes_rays_own_validation(name):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _filled(name)
    validate_config(prepare_config(copy.deepcopy(config)))


def test_every_aws_node_names_the_clusters_own_group_so_ray_adds_none_of_its_broad_rules():
    config = _filled("aws.yaml")
    assert "security_group" not in config["provider"], "Ray would append its rules: all traffic, SSH from anywhere"
    for name, node_type in config["available_node_types"].items():
        assert node_type["node_config"]["SecurityGroupIds"] == [SITE["SECURITY_GROUP_ID"]], name


def test_the_aws_group_allows_exactly_the_pinned_ports_from_itself_and_ssh_from_the_admin_range():
    config = _filled("aws.yaml")
    run = Recorder()
    group = _firewall().aws_security_group(config, SETTINGS, run)
    assert run.named("create-security-group") and _option(run.named("create-security-group")[0], "vpc-id") == "vpc-0123"
    [authorize] = run.named("authorize-security-group-ingress")
    members, outside = set(), []
    for permission in _ip_permissions(authorize):
        assert permission["IpProtocol"] == "tcp"
        span = (permission["FromPort"], permission["ToPort"])
        assert span != (0, 65535) and span[1] - span[0] <= _worker_range(config), f"too wide: {span}"
        assert set(permission) <= {"IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs", "IpRanges"}
        for pair in permission.get("UserIdGroupPairs", []):
            assert pair["GroupId"] == group
            members.add(span)
        outside += [(span, r["CidrIp"]) for r in permission.get("IpRanges", [])]
    assert members == _expected_member_ports(config)
    assert (8265, 8265) not in members and (10001, 10001) not in members
    assert outside == [((22, 22), "203.0.113.0/24")]
    assert not run.named("revoke-security-group-ingress")


def test_the_aws_helper_revokes_the_old_vpc_wide_rule_and_keeps_the_right_ones():
    config = _filled("aws.yaml")
    sg = SITE["SECURITY_GROUP_ID"]
    current = [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]},
               {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": sg}]}]
    run = Recorder({"--query=SecurityGroups[0].GroupId": sg + "\n",
                    "--query=SecurityGroups[0].IpPermissions": json.dumps(current)})
    assert _firewall().aws_security_group(config, SETTINGS, run) == sg
    assert not run.named("create-security-group")
    [revoke] = run.named("revoke-security-group-ingress")
    assert _ip_permissions(revoke) == [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                                        "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    added = {(p["FromPort"], p["ToPort"]) for p in _ip_permissions(run.named("authorize-security-group-ingress")[0])
             if "UserIdGroupPairs" in p}
    assert added == _expected_member_ports(config) - {(6379, 6379)}


def test_a_second_aws_run_changes_nothing():
    config = _filled("aws.yaml")
    sg = SITE["SECURITY_GROUP_ID"]
    first = Recorder({"--query=SecurityGroups[0].GroupId": sg})
    firewall = _firewall()
    firewall.aws_security_group(config, SETTINGS, first)
    current = _ip_permissions(first.named("authorize-security-group-ingress")[0])
    again = Recorder({"--query=SecurityGroups[0].GroupId": sg,
                      "--query=SecurityGroups[0].IpPermissions": json.dumps(current)})
    firewall.aws_security_group(config, SETTINGS, again)
    assert [c for c in again.commands if "describe-security-groups" not in c] == []


def test_the_aws_helper_refuses_a_yaml_that_names_another_group():
    config = _filled("aws.yaml")
    run = Recorder({"--query=SecurityGroups[0].GroupId": "sg-0fffffffffffffff0", "IpPermissions": "[]"})
    with pytest.raises(_firewall().SetupError, match="put sg-0fffffffffffffff0 in every node_config"):
        _firewall().aws_security_group(config, SETTINGS, run)


def test_the_gcp_workers_run_as_their_own_account_with_narrow_scopes():
    config = _filled("gcp.yaml")
    workers = {k: t for k, t in config["available_node_types"].items() if k != config["head_node_type"]}
    assert workers
    for name, node_type in workers.items():
        [account] = node_type["node_config"]["serviceAccounts"]
        assert account["email"] == "eeg-ray-worker@eeg-lab-123.iam.gserviceaccount.com", name
        assert not re.search(r"ray-autoscaler|compute@developer", account["email"])
        assert set(account["scopes"]) == {"https://www.googleapis.com/auth/devstorage.read_write",
                                          "https://www.googleapis.com/auth/logging.write",
                                          "https://www.googleapis.com/auth/monitoring.write"}, name


def _gcp_dry_run(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    path = tmp_path / "gcp.yaml"
    path.write_text(_filled_text("gcp.yaml"))
    args = [f"{k}={v}" for k, v in {**SETTINGS, **settings}.items()]
    return subprocess.run(["make", "-s", "-f", "cluster/cluster.mk", "cluster-firewall", f"PYTHON={sys.executable}",
                           f"CLUSTER={path}", "DRY_RUN=1", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_gcp_dry_run_creates_rules_for_the_pinned_ports_and_the_tag_and_a_least_privilege_account(tmp_path):
    result = _gcp_dry_run(tmp_path)
    assert result.returncode == 0, result.stderr
    commands = [shlex.split(line) for line in result.stdout.splitlines()]
    assert all(c[0] == "gcloud" for c in commands)
    creates = {c[4]: c for c in commands if c[1:4] == ["compute", "firewall-rules", "create"]}
    assert set(creates) == {"eeg-gcp-ray-internal", "eeg-gcp-ray-ssh"}
    config = _filled("gcp.yaml")
    internal, ssh = creates["eeg-gcp-ray-internal"], creates["eeg-gcp-ray-ssh"]
    spans = set()
    for rule in _option(internal, "rules").split(","):
        protocol, ports = rule.split(":")
        low, _, high = ports.partition("-")
        spans.add((int(low), int(high or low)))
        assert protocol == "tcp" and spans and int(high or low) - int(low) <= _worker_range(config)
    assert spans == _expected_member_ports(config)
    assert _option(internal, "source-tags") == _option(internal, "target-tags") == "eeg-ray"
    assert not any(a.startswith("--source-ranges") for a in internal)
    assert (_option(ssh, "rules"), _option(ssh, "source-ranges"), _option(ssh, "target-tags")) == \
        ("tcp:22", "203.0.113.0/24", "eeg-ray")
    assert all(_option(c, "network") == "eeg-net" and _option(c, "direction") == "INGRESS" for c in creates.values())
    assert "0.0.0.0/0" not in result.stdout
    # The workers' account: made once, project roles to write logs and metrics, the bucket's objects only.
    assert ["gcloud", "iam", "service-accounts", "create", "eeg-ray-worker"] == \
        next(c for c in commands if c[1:4] == ["iam", "service-accounts", "create"])[:5]
    project_roles = {_option(c, "role") for c in commands if c[1:3] == ["projects", "add-iam-policy-binding"]}
    assert project_roles == {"roles/logging.logWriter", "roles/monitoring.metricWriter"}
    bucket = [c for c in commands if c[1:4] == ["storage", "buckets", "add-iam-policy-binding"]]
    assert {c[4] for c in bucket} == {"gs://eeg-bucket"}
    assert {_option(c, "role") for c in bucket} == {"roles/storage.objectUser", "roles/storage.legacyBucketReader"}
    members = {_option(c, "member") for c in commands if "add-iam-policy-binding" in c}
    assert members == {"serviceAccount:eeg-ray-worker@eeg-lab-123.iam.gserviceaccount.com"}


def test_a_second_gcp_run_updates_the_rules_in_place_and_creates_nothing():
    config = _filled("gcp.yaml")
    run = Recorder({"firewall-rules describe": "exists", "service-accounts describe": "exists"})
    _firewall().gcp_firewall(config, SETTINGS, run)
    assert not [c for c in run.commands if "create" in c]
    updated = {c[4]: c for c in run.named("update")}
    assert set(updated) == {"eeg-gcp-ray-internal", "eeg-gcp-ray-ssh"}
    assert _option(updated["eeg-gcp-ray-ssh"], "source-ranges") == "203.0.113.0/24"


@pytest.mark.parametrize(("settings", "message"), [
    ({"ADMIN_CIDR": "0.0.0.0/0"}, "not the whole internet"),
    ({"ADMIN_CIDR": "ADMIN_CIDR"}, "ADMIN_CIDR is still the placeholder"),
    ({"ADMIN_CIDR": "my office"}, "must be a CIDR range"),
    ({"NETWORK_NAME": "NETWORK_NAME"}, "NETWORK_NAME is still the placeholder"),
    ({"STORAGE": "s3://eeg-bucket/x"}, "STORAGE must be a gs:// bucket"),
])
def test_the_firewall_says_in_one_line_which_setting_is_wrong(tmp_path, settings, message):
    result = _gcp_dry_run(tmp_path, **settings)
    assert result.returncode == 2
    assert message in result.stderr and "gcloud" not in result.stdout


def test_a_ray_start_that_leaves_a_port_to_chance_is_refused():
    config = _filled("gcp.yaml")
    config["worker_start_ray_commands"] = [c.replace("--metrics-export-port=8080", "")
                                           for c in config["worker_start_ray_commands"]]
    with pytest.raises(_firewall().SetupError, match="--metrics-export-port"):
        _firewall().member_ports(config)


def test_cluster_up_sets_up_the_firewall_before_ray_up():
    result = subprocess.run(["make", "-n", "-f", "cluster/cluster.mk", "cluster-up", "CLUSTER=cluster/gcp.yaml",
                             "TOKEN=/dev/null"], cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    firewall = next(i for i, line in enumerate(lines) if "cluster/firewall.py cluster/gcp.yaml" in line)
    up = next(i for i, line in enumerate(lines) if " up -y " in line)
    assert firewall < up and "--dry-run" not in lines[firewall]
