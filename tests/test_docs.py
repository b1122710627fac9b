"""The documented commands still work: every code block fenced as ``bash runnable`` in README.md, cluster/README.md
and docs/ runs here, line by line, in a scratch folder (``bash runnable-slow`` blocks only with the slow tests).

``python`` is this interpreter and ``tune_cluster.py`` the repository's, so outputs land in the scratch folder.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "cluster" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```bash (runnable(?:-slow)?)\n(.*?)^```", re.M | re.S)


def runnable_blocks() -> list:
    found = []
    for document in DOCUMENTS:
        for number, match in enumerate(BLOCK.finditer(document.read_text()), start=1):
            kind, body = match.groups()
            marks = [pytest.mark.slow] if kind == "runnable-slow" else []
            found.append(pytest.param(body, id=f"{document.relative_to(ROOT)}#{number}", marks=marks))
    return found


def command(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    if words[:1] == ["python"]:
        words[0] = sys.executable
    return [str(ROOT / word) if word.endswith(".py") and (ROOT / word).is_file() else word for word in words]


def test_the_readme_marks_at_least_one_block_runnable():
    assert any("README.md#" in param.id for param in runnable_blocks())


@pytest.mark.parametrize("body", runnable_blocks())
def test_a_documented_command_exits_0(body, tmp_path):
    for line in body.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        done = subprocess.run(command(line), cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
