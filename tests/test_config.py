from pathlib import Path

import pytest

from rag_tutor.config import load_settings
from rag_tutor.errors import ConfigError


def test_defaults_point_at_the_project_folders():
    s = load_settings(env={})
    assert s.corpus_dirs[0].name == "corpus" and s.index_dir.name == "index"
    assert s.k == 5


def test_environment_overrides_defaults_and_explicit_overrides_win():
    env = {"RAG_TUTOR_K": "8", "RAG_TUTOR_INDEX_DIR": "/tmp/x", "RAG_TUTOR_BM25_WEIGHT": "0.25"}
    s = load_settings(env=env)
    assert (s.k, s.index_dir, s.bm25_weight) == (8, Path("/tmp/x"), 0.25)
    assert load_settings(env=env, k=3).k == 3


def test_home_comes_from_rag_tutor_home():
    assert load_settings(env={"RAG_TUTOR_HOME": "/data/me"}).home == Path("/data/me")


def test_bad_environment_value_is_a_clear_error():
    with pytest.raises(ConfigError, match="RAG_TUTOR_K"):
        load_settings(env={"RAG_TUTOR_K": "five"})


def test_openmp_threads_sleep_when_idle_unless_the_user_says_otherwise():
    import os
    import subprocess
    import sys

    code = "import os, rag_tutor; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "ACTIVE"
