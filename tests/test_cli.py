"""The `rag-tutor` command as a user runs it: one clear line on stderr for bad input, never a traceback."""

import json

import pytest

from rag_tutor.index import build_lock, current_build


def _one_error_line(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_corpus_folder(cli, tmp_path):
    r = cli("index", "--corpus", tmp_path / "nope", "--index-dir", tmp_path / "index")
    _one_error_line(r, "does not exist")


def test_empty_corpus(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli("index", "--corpus", tmp_path / "empty", "--index-dir", tmp_path / "index")
    _one_error_line(r, "no readable")


def test_retrieve_without_an_index_says_to_build_one(cli, tmp_path):
    r = cli("retrieve", "What is a GAN?", "--index-dir", tmp_path / "index")
    _one_error_line(r, "rag-tutor index")


def test_empty_question(cli, tmp_path):
    _one_error_line(cli("retrieve", "   ", "--index-dir", tmp_path / "index"), "empty")


@pytest.mark.model
def test_index_retrieve_and_bad_files_end_to_end(cli, tiny_corpus, tmp_path):
    index_dir = tmp_path / "index"
    (tiny_corpus / "photo.md").write_bytes(b"\x00\x01\x02binary")
    r = cli("index", "--corpus", tiny_corpus, "--index-dir", index_dir, "-q")
    assert r.returncode == 6, r.stderr  # built, but a file was skipped
    assert "warning: skipped" in r.stderr and "photo.md: binary file" in r.stderr
    assert "3 added" in r.stdout and "Traceback" not in r.stderr

    r = cli("retrieve", "Who introduced the VAE?", "--index-dir", index_dir, "--json", "-k", "2")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["question"] == "Who introduced the VAE?" and len(out["passages"]) == 2
    top = out["passages"][0]
    assert {"source", "title", "section", "text", "score"} <= set(top)
    assert "Kingma" in top["text"] and top["section"] == "Who introduced the VAE"

    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "question": "How does the forward process work?"}) + "\n"
        + json.dumps({"id": "b", "question": "Who introduced it?", "history": ["What is a VAE?"]}) + "\n"
        + json.dumps({"question": ""}) + "\n"
    )
    r = cli("retrieve", "--batch", batch, "--index-dir", index_dir, "-k", "1")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["a", "b", 3]
    assert "noise" in rows[0]["passages"][0]["text"]
    assert "Kingma" in rows[1]["passages"][0]["text"]
    assert rows[2]["passages"] == [] and "empty" in rows[2]["error"]

    # a second rebuild while one holds the lock
    with build_lock(index_dir):
        _one_error_line(cli("index", "--corpus", tiny_corpus, "--index-dir", index_dir), "another rebuild")

    # an index built with another embedder
    manifest = current_build(index_dir) / "manifest.json"
    good = manifest.read_text()
    data = json.loads(good)
    data["embedder"]["name"] = "other-embedder==9"
    manifest.write_text(json.dumps(data))
    _one_error_line(cli("retrieve", "GAN", "--index-dir", index_dir), "other-embedder==9", "--full")

    # a corrupt index
    manifest.write_text(good)
    (current_build(index_dir) / "vectors.faiss").write_bytes(b"junk")
    _one_error_line(cli("retrieve", "GAN", "--index-dir", index_dir), "damaged: vectors.faiss does not match the manifest", "rag-tutor index --full")


def test_bad_batch_file(cli, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text("{not json\n")
    _one_error_line(cli("retrieve", "--batch", batch, "--index-dir", tmp_path), "line 1 is not valid JSON")


def test_engine_flag_sets_the_decoder_and_refuses_unknown_ones(capsys):
    from rag_tutor.cli import build_parser, settings_from_args

    parser = build_parser()
    assert settings_from_args(parser.parse_args(["ask", "x", "--engine", "transformers"])).engine == "transformers"
    assert settings_from_args(parser.parse_args(["ask", "x"])).engine in ("llama", "transformers")
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["ask", "x", "--engine", "onnx"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_answers_in_a_terminal_drop_the_markdown_bold_the_app_renders():
    from rag_tutor.cli import for_terminal

    assert for_terminal("Key techniques include: **Pruning**: removing weights [1].") == (
        "Key techniques include: Pruning: removing weights [1].")
    assert for_terminal("**Smith (2020), \"A title\".** Read it first [2].") == 'Smith (2020), "A title". Read it first [2].'
    assert for_terminal("2 ** 10 is 1024, and a*b stays") == "2 ** 10 is 1024, and a*b stays"
