"""The local-cluster harness's helpers, without starting a node: ports, the token, the environment, polling."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from cluster.local_cluster import (LocalRayCluster, _is_zombie, free_ports, pids_matching, ray_auth_env, wait_for,
                                   write_token)


def test_free_ports_are_distinct_and_unprivileged():
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(1024 < p < 65536 for p in ports)


def test_the_token_is_fresh_and_readable_by_its_owner_only(tmp_path):
    first, second = write_token(tmp_path / "a" / "token"), write_token(tmp_path / "b" / "token")
    assert first != second and len(first) == 64
    assert stat.S_IMODE((tmp_path / "a" / "token").stat().st_mode) == 0o600


def test_the_ray_environment_turns_token_auth_on_and_drops_a_stray_address(tmp_path):
    env = ray_auth_env(tmp_path / "token", {"RAY_ADDRESS": "elsewhere:6379", "PATH": "/bin"})
    assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN_PATH"] == str(tmp_path / "token")
    assert "RAY_ADDRESS" not in env and env["PATH"] == "/bin" and env["RAY_USAGE_STATS_ENABLED"] == "0"


def test_waiting_returns_the_first_truthy_value_and_gives_up_naming_what_it_waited_for():
    answers = iter([None, 0, "ready"])
    assert wait_for(lambda: next(answers), timeout=5, what="x", interval=0.01) == "ready"
    with pytest.raises(TimeoutError, match="waiting for the head"):
        wait_for(lambda: False, timeout=0.05, what="the head", interval=0.01)


def test_only_processes_whose_command_line_names_the_marker_are_matched(tmp_path):
    assert pids_matching(str(tmp_path / "no-such-marker")) == []
    assert os.getpid() not in pids_matching(str(tmp_path))


def test_stopping_ends_a_nodes_process_whose_command_line_names_nothing_of_the_cluster(tmp_path):
    write_token(tmp_path / "token")
    cluster = LocalRayCluster(tmp_path / "cluster", tmp_path / "token")
    # A node's session with a child renamed the way Ray renames its workers (ray::ImplicitFunc.train).
    leader = subprocess.Popen(["bash", "-c", "(exec -a ray::ImplicitFunc.train sleep 60) & wait"],
                              start_new_session=True)
    try:
        cluster.sessions.add(leader.pid)
        renamed = wait_for(lambda: [pid for pid in cluster.leftovers() if pid != leader.pid], 5, "the renamed child")
        assert pids_matching(str(tmp_path)) == []  # the folder finds none of them
        cluster.stop()
        assert cluster.leftovers() == []
        assert not os.path.exists(f"/proc/{renamed[0]}") or _is_zombie(renamed[0])  # dead, maybe unreaped
    finally:
        leader.kill()
        leader.wait()
