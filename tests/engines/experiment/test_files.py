"""Atomic writes and the one JSON reader."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from engines.experiment.files import UnreadableJSON, read_json, read_json_object, replace_atomically, write_json_atomic


def test_json_written_atomically_reads_back_with_numpy_scalars_and_paths_as_plain_values(tmp_path):
    write_json_atomic(tmp_path / "a" / "doc.json", {"n": np.int64(3), "x": np.float32(0.5), "p": tmp_path})
    assert read_json(tmp_path / "a" / "doc.json") == {"n": 3, "x": 0.5, "p": str(tmp_path)}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["doc.json"]  # no temporary file left behind


def test_a_missing_file_reads_as_none_and_a_broken_one_as_none_unless_strict(tmp_path):
    assert read_json(tmp_path / "nope.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert read_json(tmp_path / "bad.json") is None
    with pytest.raises(UnreadableJSON):
        read_json(tmp_path / "bad.json", strict=True)
    assert read_json(tmp_path / "nope.json", strict=True) is None


def test_read_json_object_is_empty_for_anything_but_an_object(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json_object(tmp_path / "list.json") == {} and read_json_object(tmp_path / "none.json") == {}


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")

    with pytest.raises(RuntimeError), replace_atomically(target, ".txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_an_atomic_write_gives_the_permissions_a_plain_write_would(tmp_path):
    umask = os.umask(0o022)
    try:
        target = tmp_path / "best.json"
        write_json_atomic(target, {"a": 1})
        assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's 0600: colleagues on NFS can read it
        target.chmod(0o640)
        write_json_atomic(target, {"a": 2})
        assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode
    finally:
        os.umask(umask)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
