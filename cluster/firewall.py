#!/usr/bin/env python3
"""The cloud cluster's firewall and worker identity: what ``make cluster-firewall`` runs.

Usage: ``python cluster/firewall.py CLUSTER_YAML [--dry-run]`` from anywhere. The ports come
from the YAML itself: every port its ``ray start`` commands pin is opened between the
cluster's own nodes, except the two that never need to be (the dashboard/job API, bound
to the head's 127.0.0.1 and reached over SSH, and the Ray client server, which this
project does not use); SSH (22) is opened between nodes (the head's autoscaler logs in to
the workers) and from ``ADMIN_CIDR``. Nothing else is opened.

- AWS: the security group ``<cluster_name>-ray`` in ``VPC_ID``, its members as the only
  source of Ray's ports; stale inbound rules are revoked. Every node type names it in
  ``SecurityGroupIds``, so Ray creates no group and adds none of its own broad rules.
- GCP: two firewall rules on ``NETWORK_NAME`` for the nodes' network tag, and the workers'
  own service account (the one their ``serviceAccounts`` name) with only log and metric
  writing in the project and object access on the ``STORAGE`` bucket.

Every step is describe-then-create-or-update, so a second run changes nothing. With
``--dry-run`` the cloud CLI commands are printed (a fresh project's path) and nothing runs.
Settings come from the environment (``cluster/cluster.mk`` sets them from its variables):
``ADMIN_CIDR``, ``STORAGE`` (GCP: ``gs://BUCKET/...``), ``VPC_ID`` (AWS), ``NETWORK_NAME`` (GCP).

Exit codes: 0 done; 2 a setting or the YAML is wrong (one line on stderr); 1 a cloud command failed.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import yaml

__all__ = ["CLOSED_FLAGS", "PINNED_FLAGS", "PortRange", "SetupError", "aws_security_group", "gcp_firewall",
           "member_ports", "pinned_ports", "main"]

# Port flags every `ray start` must pin (else Ray picks a random port the firewall blocks);
# the head pins the second group too.
PINNED_FLAGS = ("node-manager-port", "object-manager-port", "runtime-env-agent-port", "dashboard-agent-grpc-port",
                "dashboard-agent-listen-port", "metrics-export-port", "min-worker-port", "max-worker-port")
HEAD_PINNED_FLAGS = ("port", "dashboard-port", "ray-client-server-port")
# Pinned but never opened: the dashboard/job API listens on the head's 127.0.0.1 (reached with
# `make ray-dashboard` over SSH, token required); the Ray client server is unused (jobs go through the job API).
CLOSED_FLAGS = ("dashboard-port", "ray-client-server-port")
SSH = 22


class SetupError(ValueError):
    """A setting or the cluster YAML is wrong; the message says which and why."""


@dataclass(frozen=True, order=True)
class PortRange:
    """Inclusive TCP port range; ``low == high`` for one port."""

    low: int
    high: int

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


def pinned_ports(command: str) -> dict[str, int]:
    """Port flags and values one ``ray start`` command pins, e.g. ``{"port": 6379, ...}``."""
    return {flag: int(value) for flag, value in re.findall(r"--([a-z-]*port)=(\d+)\b", command)}


def member_ports(config: Mapping) -> list[PortRange]:
    """The TCP ports the cluster's nodes must reach on one another: Ray's pinned ports and SSH.

    Raises:
        SetupError: a ``ray start`` command leaves a port to chance, or the worker range is inverted.
    """
    starts = [c for c in [*config["head_start_ray_commands"], *config["worker_start_ray_commands"]] if "ray start" in c]
    ports: set[PortRange] = {PortRange(SSH, SSH)}
    for command in starts:
        pinned = pinned_ports(command)
        needed = PINNED_FLAGS + (HEAD_PINNED_FLAGS if "--head" in command else ())
        missing = [f"--{flag}" for flag in needed if flag not in pinned]
        if missing:
            raise SetupError(f"{config['cluster_name']}: ray start must pin {', '.join(missing)} "
                             "(an unpinned port is random and the firewall blocks it)")
        low, high = pinned.pop("min-worker-port"), pinned.pop("max-worker-port")
        if low > high:
            raise SetupError(f"{config['cluster_name']}: ray start needs --min-worker-port <= --max-worker-port, "
                             f"got {low=}, {high=}")
        ports.add(PortRange(low, high))
        ports |= {PortRange(p, p) for flag, p in pinned.items() if flag not in CLOSED_FLAGS}
    return sorted(ports)


def _setting(env: Mapping[str, str], name: str, placeholder: str | None = None) -> str:
    value = env.get(name, "")
    if not value or placeholder and placeholder in value:
        raise SetupError(f"{name} is {'still the placeholder ' + repr(value) if value else 'unset'}: "
                         f"pass {name}=... to make (README.md, 'On a cluster')")
    return value


def _admin_cidr(env: Mapping[str, str]) -> str:
    cidr = _setting(env, "ADMIN_CIDR", "ADMIN_CIDR")
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise SetupError(f"ADMIN_CIDR must be a CIDR range such as 203.0.113.0/24, got {cidr!r}") from None
    if network.prefixlen == 0:
        raise SetupError(f"ADMIN_CIDR must be your own range, not the whole internet, got {cidr!r}")
    return str(network)


def _filled(value: str, name: str) -> str:
    if re.search(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|^[A-Z]+$", value):
        raise SetupError(f"{name} in the cluster YAML is still the placeholder {value!r} (README.md, 'On a cluster')")
    return value


# A runner takes a command and returns its stdout, or None when the command failed
# (``check=False``: a describe that finds nothing) or when nothing runs (dry run).
Runner = Callable[[Sequence[str], bool], "str | None"]


def gcp_firewall(config: Mapping, env: Mapping[str, str], run: Runner) -> None:
    """Firewall rules and the workers' service account for a ``provider.type: gcp`` YAML."""
    project = _filled(config["provider"]["project_id"], "provider.project_id")
    name = config["cluster_name"]
    network = _setting(env, "NETWORK_NAME", "NETWORK_NAME")
    admin = _admin_cidr(env)
    storage = _setting(env, "STORAGE", "BUCKET")
    if not storage.startswith("gs://"):
        raise SetupError(f"STORAGE must be a gs:// bucket on GCP, got {storage!r}")
    bucket = "gs://" + storage.removeprefix("gs://").split("/")[0]
    node_types = config["available_node_types"]
    tags = {tag for t in node_types.values() for tag in t["node_config"].get("tags", {}).get("items", [])}
    if len(tags) != 1 or any(t["node_config"].get("tags", {}).get("items") != [*tags] for t in node_types.values()):
        raise SetupError(f"{name}: every node type needs the same one network tag, got {sorted(tags)}")
    tag = tags.pop()
    workers = [t for key, t in node_types.items() if key != config["head_node_type"]]
    emails = {a["email"] for t in workers for a in t["node_config"].get("serviceAccounts", [])}
    if len(emails) != 1:
        raise SetupError(f"{name}: every worker type needs the same one service account, got {sorted(emails)}")
    email = _filled(emails.pop(), "the workers' serviceAccounts email")
    account = email.split("@")[0]

    ports = ",".join(f"tcp:{p}" for p in member_ports(config))
    rules = {f"{name}-ray-internal": [f"--rules={ports}", f"--source-tags={tag}", f"--target-tags={tag}"],
             f"{name}-ray-ssh": [f"--rules=tcp:{SSH}", f"--source-ranges={admin}", f"--target-tags={tag}"]}
    for rule, allow in rules.items():
        describe = ["gcloud", "compute", "firewall-rules", "describe", rule, f"--project={project}",
                    "--format=value(name)"]
        if run(describe, False):
            run(["gcloud", "compute", "firewall-rules", "update", rule, f"--project={project}", *allow], True)
        else:
            run(["gcloud", "compute", "firewall-rules", "create", rule, f"--project={project}", f"--network={network}",
                 "--direction=INGRESS", "--action=ALLOW", *allow], True)

    describe = ["gcloud", "iam", "service-accounts", "describe", email, f"--project={project}", "--format=value(email)"]
    if not run(describe, False):
        run(["gcloud", "iam", "service-accounts", "create", account, f"--project={project}",
             f"--display-name=Ray workers of {name}: logs, metrics and {bucket} only"], True)
    member = f"--member=serviceAccount:{email}"
    for role in ("roles/logging.logWriter", "roles/monitoring.metricWriter"):
        run(["gcloud", "projects", "add-iam-policy-binding", project, member, f"--role={role}", "--condition=None",
             "--format=none"], True)
    # Objects in the bucket (read, write, delete: checkpoints are replaced); the bucket's own
    # metadata, which storage clients read to check it exists. No other bucket, no IAM.
    for role in ("roles/storage.objectUser", "roles/storage.legacyBucketReader"):
        run(["gcloud", "storage", "buckets", "add-iam-policy-binding", bucket, member, f"--role={role}",
             "--format=none"], True)


# An inbound rule as (protocol, from port, to port, source kind, source); the kinds are
# the IpPermissions lists and their keys.
Rule = tuple[str, int, int, str, str]
SOURCE_KEYS = {"UserIdGroupPairs": "GroupId", "IpRanges": "CidrIp", "Ipv6Ranges": "CidrIpv6",
               "PrefixListIds": "PrefixListId"}


def _aws_rules(group_id: str, admin: str, ports: Sequence[PortRange]) -> set[Rule]:
    """Every inbound rule the group should have: the member ports from itself, SSH from ``admin``."""
    rules = {("tcp", p.low, p.high, "UserIdGroupPairs", group_id) for p in ports}
    return rules | {("tcp", SSH, SSH, "IpRanges", admin)}


def _aws_permissions(rules: set[Rule], described: bool = True) -> str:
    """``rules`` as the JSON ``--ip-permissions`` takes (with a description each when ``described``)."""
    permissions = []
    for protocol, low, high, kind, source in sorted(rules):
        entry = {SOURCE_KEYS[kind]: source}
        if described:
            members = kind == "UserIdGroupPairs"
            entry["Description"] = "Ray between cluster members" if members else "SSH from ADMIN_CIDR"
        permissions.append({"IpProtocol": protocol, "FromPort": low, "ToPort": high, kind: [entry]})
    return json.dumps(permissions, separators=(",", ":"))


def _aws_current(permissions: list[dict]) -> set[Rule]:
    """The rules in a group's ``IpPermissions`` as ``describe-security-groups`` lists them."""
    return {(p["IpProtocol"], p.get("FromPort", -1), p.get("ToPort", -1), kind, source[key])
            for p in permissions for kind, key in SOURCE_KEYS.items() for source in p.get(kind, [])}


def aws_security_group(config: Mapping, env: Mapping[str, str], run: Runner) -> str:
    """The cluster's security group for a ``provider.type: aws`` YAML, made to allow exactly its ports; its id."""
    region = _filled(config["provider"]["region"], "provider.region")
    name = f"{config['cluster_name']}-ray"
    vpc = _setting(env, "VPC_ID", "VPC_ID")
    admin = _admin_cidr(env)
    ports = member_ports(config)
    ec2 = ["aws", "ec2", f"--region={region}"]
    found = run([*ec2, "describe-security-groups", "--output=text", "--query=SecurityGroups[0].GroupId",
                 "--filters", f"Name=vpc-id,Values={vpc}", f"Name=group-name,Values={name}"], True)
    group = (found or "").strip()
    if not group or group == "None":
        created = run([*ec2, "create-security-group", "--output=text", "--query=GroupId", f"--vpc-id={vpc}",
                       f"--group-name={name}", f"--description=Ray cluster {config['cluster_name']}: "
                       "Ray ports between members, SSH from ADMIN_CIDR",
                       f"--tag-specifications=ResourceType=security-group,Tags=[{{Key=ray-cluster-name,"
                       f"Value={config['cluster_name']}}}]"], True)
        group, current = (created or "").strip() or "NEW_GROUP_ID", set()
    else:
        listed = run([*ec2, "describe-security-groups", f"--group-ids={group}", "--output=json",
                      "--query=SecurityGroups[0].IpPermissions"], True)
        current = _aws_current(json.loads(listed or "[]"))
    wanted = _aws_rules(group, admin, ports)
    if current - wanted:
        run([*ec2, "revoke-security-group-ingress", f"--group-id={group}",
             f"--ip-permissions={_aws_permissions(current - wanted, described=False)}"], True)
    if wanted - current:
        run([*ec2, "authorize-security-group-ingress", f"--group-id={group}",
             f"--ip-permissions={_aws_permissions(wanted - current)}"], True)
    named = {g for t in config["available_node_types"].values() for g in t["node_config"].get("SecurityGroupIds", [])}
    if named != {group} and not (named == {"SECURITY_GROUP_ID"} or group == "NEW_GROUP_ID"):
        raise SetupError(f"the cluster YAML's SecurityGroupIds are {sorted(named)}, but {name} is {group}: "
                         f"put {group} in every node_config")
    return group


def _runner(dry_run: bool) -> Runner:
    def run(command: Sequence[str], check: bool) -> str | None:
        if dry_run:
            print(shlex.join(command))
            return None
        done = subprocess.run(list(command), capture_output=True, text=True)
        if done.returncode and check:
            raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
        return done.stdout if done.returncode == 0 else None
    return run


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cluster", type=Path, help="the cluster's `ray up` YAML")
    parser.add_argument("--dry-run", action="store_true", help="print the cloud commands, run nothing")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        config = yaml.safe_load(args.cluster.read_text())
        provider = config["provider"]["type"]
        if provider == "aws":
            group = aws_security_group(config, env, _runner(args.dry_run))
            print(f"security group {config['cluster_name']}-ray: {group} (every node_config's SecurityGroupIds)")
        elif provider == "gcp":
            gcp_firewall(config, env, _runner(args.dry_run))
        else:
            print(f"{args.cluster}: provider {provider!r} has no cloud firewall to set up; nothing to do")
    except SetupError as error:
        print(f"error: cluster-firewall: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"error: cluster-firewall: {shlex.join(error.cmd)} failed: {error.stderr.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
