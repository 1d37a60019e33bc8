"""Tests of :mod:`ihl_lib.provenance`: hashes, the git revision, package versions, the environment stamp and atomic writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ihl_lib.provenance import (
    PACKAGES,
    environment_stamp,
    file_sha256,
    git_revision,
    now_utc,
    package_versions,
    text_sha256,
    write_json_atomic,
    write_parquet_atomic,
)


def test_hashes_are_sha256_of_the_utf8_text_and_of_every_byte_of_a_file(tmp_path):
    assert text_sha256("Genève") == hashlib.sha256("Genève".encode()).hexdigest() != hashlib.sha256("Genève".encode("latin-1")).hexdigest()
    data = os.urandom(3 * (1 << 20) + 7)  # more than one 1 MiB block, and a partial last one
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the last block
    assert file_sha256(str(path)) != hashlib.sha256(data).hexdigest()


def _git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def test_the_git_revision_is_the_commit_and_whether_tracked_files_changed(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "tracked.txt").write_text("one\n")
    _git(repo, "add", "tracked.txt")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_revision(repo) == {"commit": head, "dirty": False}
    (repo / "untracked.txt").write_text("new\n")
    assert git_revision(repo) == {"commit": head, "dirty": False}  # untracked files do not count
    (repo / "tracked.txt").write_text("two\n")
    assert git_revision(repo) == {"commit": head, "dirty": True}


def test_outside_a_checkout_the_revision_is_unknown_not_an_error(tmp_path):
    assert git_revision(tmp_path) == {"commit": None, "dirty": None}
    assert git_revision(tmp_path / "does-not-exist") == {"commit": None, "dirty": None}


def test_package_versions_are_the_installed_ones_and_none_for_an_absent_package():
    versions = package_versions(("pandas", "no-such-package-ihl-test"))
    assert versions == {"pandas": pd.__version__, "no-such-package-ihl-test": None}
    assert set(package_versions()) == set(PACKAGES) and package_versions()["ihl-refusals"] == "0.1.0"


def test_the_environment_stamp_records_the_machine_and_never_an_environment_variable(monkeypatch):
    secret = "sk-provenance-test-secret-81f2"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("IHL_PROVENANCE_TEST", "visible-only-in-the-environment")
    stamp = environment_stamp()
    assert {"git", "python", "platform", "cpu_model", "packages", "llama_cpp", "recorded_at"} <= set(stamp)
    assert stamp["python"] == ".".join(map(str, sys.version_info[:3]))
    text = json.dumps(stamp, default=str)
    assert secret not in text and "visible-only-in-the-environment" not in text
    recorded = dt.datetime.fromisoformat(stamp["recorded_at"])
    assert recorded.utcoffset() == dt.timedelta(0) and abs(dt.datetime.now(dt.UTC) - recorded) < dt.timedelta(minutes=5)


def test_now_utc_is_an_iso_time_in_whole_seconds():
    stamp = now_utc()
    assert stamp.endswith("+00:00") and dt.datetime.fromisoformat(stamp).microsecond == 0


def test_a_json_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "deeper" / "run.json"  # the folder is made
    write_json_atomic(path, {"a": 1, "where": Path("/x/y"), "long": "x" * 10_000})
    reader = path.open(encoding="utf-8")  # a reader that opened the first version
    write_json_atomic(path, {"a": 2})
    assert json.loads(reader.read())["long"] == "x" * 10_000  # still reads the whole old file, never half of either
    reader.close()
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 2} and path.read_text(encoding="utf-8").endswith("}\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.json"]  # no temporary file left behind


def test_a_parquet_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "r" / "responses.parquet"
    first = pd.DataFrame({"prompt_id": [f"p{i}" for i in range(1000)], "response": ["x" * 50] * 1000})
    write_parquet_atomic(first, path)
    reader = path.open("rb")
    second = pd.DataFrame({"prompt_id": ["q"], "response": ["y"]})
    write_parquet_atomic(second, path)
    pd.testing.assert_frame_equal(pd.read_parquet(reader), first)  # the old file, whole
    reader.close()
    pd.testing.assert_frame_equal(pd.read_parquet(path), second)
    assert sorted(p.name for p in path.parent.iterdir()) == ["responses.parquet"]
