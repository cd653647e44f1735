"""The ``rag-tutor`` command: thin wrappers over the library, one sub-command per job."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Callable

from .arguments import non_negative_int, positive_int
from .config import Settings, load_settings
from .generator import ENGINES
from .errors import (SKIPPED_FILES_EXIT, STALE_INDEX_EXIT, EmptyQuestionError, IndexMissingError, InputError,
                     RagTutorError)
from .podcast.cli import HANDLERS as PODCAST_HANDLERS
from .podcast.cli import add_parser as add_podcast_parser
from .study.cli import HANDLERS as STUDY_HANDLERS
from .study.cli import add_parsers as add_study_parsers

COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _read_batch(path: str) -> list[dict]:
    """Objects with ``question`` and optional ``id``/``history``, one JSON object per line (UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read batch file {path}: {exc.strerror}") from None
    items = []
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path} line {n} is not UTF-8 text; save the file as UTF-8") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {n} is not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise InputError(f"{path} line {n} needs a \"question\" string")
        hist = obj.get("history") or []
        if not isinstance(hist, list) or not all(isinstance(h, str) for h in hist):
            raise InputError(f"{path} line {n}: \"history\" must be a list of strings")
        obj.setdefault("id", n)
        obj["history"] = hist
        items.append(obj)
    return items


def _questions(args: argparse.Namespace) -> list[dict]:
    """The batch file's questions, or the one on the command line (which must not be blank)."""
    if args.batch is not None:
        return _read_batch(args.batch)
    if not (args.question or "").strip():
        raise EmptyQuestionError("the question is empty; pass a question or --batch FILE.jsonl")
    return [{"id": 1, "question": args.question, "history": []}]


# ---------------------------------------------------------------- index


@command("index")
def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from .index import build_index

    bar: list[tqdm] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc="embedding chunks and sentences", unit="text", file=sys.stderr,
                            disable=args.quiet))
        bar[0].update(done - bar[0].n)

    summary = build_index(settings, full=args.full, progress=progress)
    if bar:
        bar[0].close()
    for line in summary.skipped + summary.flagged:
        print(f"warning: {line}", file=sys.stderr)
    if summary.full and summary.reason and summary.reason != "no usable index yet":
        print(f"full rebuild: {summary.reason}", file=sys.stderr)
    print(summary.line())
    return SKIPPED_FILES_EXIT if summary.skipped else 0


@command("status")
def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the index serves the corpus as it is, 3 when missing or damaged, 9 when out of date."""
    import time

    from .index import index_status

    started = time.perf_counter()
    status = index_status(settings, verify=args.verify)
    checked_s = time.perf_counter() - started
    if args.json:
        print(json.dumps({"exists": status.exists, "damaged": status.damaged, "stale": status.stale,
                          "added": status.added, "changed": status.changed, "removed": status.removed,
                          "built_at": status.built_at, "flagged_sentences": status.flagged,
                          "checked_s": round(checked_s, 3)}))
    elif not status.exists:
        print(f"no index in {settings.index_dir}; build it with `rag-tutor index`")
    elif status.damaged:
        print(status.damaged)
    elif status.stale:
        print(f"index is stale: {len(status.added)} added, {len(status.changed)} changed, "
              f"{len(status.removed)} removed documents; run `rag-tutor index`")
    else:
        print(f"index is up to date (checked{' with hashes' if args.verify else ''} in {checked_s:.2f} s)")
    if status.exists and status.flagged and not args.json:
        print(f"note: {status.flagged} sentence(s) in the documents address an AI system and are left out; "
              "`rag-tutor index --full` names them")
    if not status.exists:
        return IndexMissingError.exit_code
    if status.damaged:
        return 3
    return STALE_INDEX_EXIT if status.stale else 0


# ---------------------------------------------------------------- retrieve


def _passage_json(p) -> dict:
    return {"source": p.source, "title": p.title, "section": p.section, "text": p.text, "score": round(p.score, 6),
            "similarity": round(p.similarity, 4)}


@command("retrieve")
def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    from .retrieval import Retriever

    items = _questions(args)
    retriever = Retriever.load(settings)
    for item in items:
        try:
            result = retriever.retrieve(item["question"], args.k, item["history"])
        except RagTutorError as exc:
            if not args.batch:
                raise
            print(json.dumps({"id": item["id"], "question": item["question"], "passages": [], "error": str(exc)}))
            continue
        if args.batch or args.json:
            q = result.query
            print(json.dumps({"id": item["id"], "question": item["question"],
                              "query": {"asked": q.asked, "asks": q.asks, "course_terms": q.course_terms,
                                        "unknown_names": q.unknown_names},
                              "passages": [_passage_json(p) for p in result.passages]}, ensure_ascii=False))
            continue
        for notice in result.notices:
            print(f"note: {notice}", file=sys.stderr)
        for n, p in enumerate(result.passages, 1):
            print(f"[{n}] {p.title} › {p.section}  ({p.source}, score {p.score:.4f}, cos {p.similarity:.2f})")
            print("    " + p.text[:300].replace("\n", " ") + ("…" if len(p.text) > 300 else ""))
    return 0


# ---------------------------------------------------------------- answers


def _tutor(args: argparse.Namespace, settings: Settings):
    from .answer import Tutor

    return Tutor(settings, use_adapter=not args.no_adapter)


def answer_json(item_id, answer) -> dict:
    return {
        "id": item_id,
        "question": answer.question,
        "answer": answer.answer,
        "declined": answer.declined,
        "mode": answer.mode,
        "citations": [{"n": c.n, "source": c.source, "title": c.title, "section": c.section, "text": c.text}
                      for c in answer.citations],
        "passages": [_passage_json(p) for p in answer.passages],
        "timings": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in answer.timings.items()},
        "notices": answer.notices,
    }


_EMPHASIS = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def for_terminal(text: str) -> str:
    """An answer as a terminal shows it: the passages' markdown bold ("**Quantization**: ...") without its
    asterisks, which the app renders and a terminal would print as they are."""
    return _EMPHASIS.sub(r"\1", text)


def print_sources(answer, out=sys.stdout) -> None:
    if answer.citations:
        print("Sources:", file=out)
        for c in answer.citations:
            print(f"  [{c.n}] {c.title} › {c.section}  ({c.source})", file=out)


@command("ask")
def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    items = _questions(args)
    tutor = _tutor(args, settings)
    for item in items:
        if args.batch or args.json:
            try:
                answer = tutor.ask(item["question"], item["history"])
            except RagTutorError as exc:
                if not args.batch:
                    raise
                print(json.dumps({"id": item["id"], "question": item["question"], "error": str(exc)}))
                continue
            print(json.dumps(answer_json(item["id"], answer), ensure_ascii=False), flush=True)
            continue
        stream = tutor.stream(item["question"], item["history"])
        for piece in stream:
            print(for_terminal(piece), end="", flush=True)
        _finish_streamed(stream.answer)
    return 0


def _finish_streamed(answer) -> None:
    """After the stream (which is the checked answer itself, sentence by sentence): notices and sources."""
    print()
    for notice in answer.notices:
        print(f"note: {notice}")
    print_sources(answer)


@command("chat")
def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from .chat import Conversation

    conversation = Conversation(_tutor(args, settings), learner=args.learner, remember=True)
    print("rag-tutor: ask about generative AI. /help for commands, /quit to leave.")
    if args.resume:
        _print_resumed(conversation)
    while True:
        try:
            line = input("\nyou> ")
        except EOFError:
            print()
            return 0
        reply = conversation.send(line)
        for notice in reply.notices:
            print(f"note: {notice}")
        if reply.quit:
            return 0
        if reply.stream is not None:
            print("tutor> ", end="", flush=True)
            for piece in reply.stream:
                print(for_terminal(piece), end="", flush=True)
            _finish_streamed(reply.stream.answer)
            note = conversation.study.reminder()
            if note:
                print(note)
        else:
            print(reply.text)
        if conversation.unsaved:
            print(f"note: this conversation is not being saved: {conversation.unsaved}")
            conversation.unsaved = None


def _print_resumed(conversation, shown: int = 6) -> None:
    """`chat --resume`: the last conversation's closing turns, and its quiz or flashcard asked again."""
    resumed = conversation.resume()
    if resumed is None:
        print(f"No saved conversation for {conversation.study.learner} yet: this one starts afresh.")
        return
    chat = resumed.chat
    print(f"Resuming \"{chat.title}\" ({len(chat.turns)} turns, last {chat.updated_at.astimezone():%Y-%m-%d %H:%M}).")
    if len(chat.turns) > shown:
        print(f"... {len(chat.turns) - shown} earlier turns")
    for turn in chat.turns[-shown:]:
        print(f"\n{'you' if turn.role == 'user' else 'tutor'}> {for_terminal(turn.text)}")
    if resumed.study is not None:
        print("\n" + resumed.study.text)


@command("eval")
def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluate import load_questions, run_eval

    tutor = _tutor(args, settings)
    questions = load_questions(args.questions)

    def progress(i, n, record):
        if not args.json:
            a = record.answer
            print(f"[{i}/{n}] {record.question['id']} {a.mode:<10} {a.answer[:90]!r}", file=sys.stderr)

    report = run_eval(tutor, questions, progress)
    metrics = report.metrics(tutor)
    metrics["adapter"] = not args.no_adapter
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:<24}{value}")
    return 0


@command("train")
def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from .generator import DEFAULT_ADAPTER
    from .training import train

    out = args.out or (settings.adapter_dir or DEFAULT_ADAPTER)
    report = train(settings, Path(out), epochs=args.epochs, seed=args.seed, limit=args.limit,
                   log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"adapter saved to {out}: {report['examples']} examples, {report['steps']} steps, "
          f"validation loss {report['val_loss_before']:.3f} -> {report['val_loss_after']:.3f}, "
          f"{report['seconds'] / 60:.1f} min")
    return 0


@command("ui")
def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from .config import PROJECT_DIR

    app = PROJECT_DIR / "ui" / "app.py"
    if not app.exists():
        raise RagTutorError(f"the app is not at {app}; run from a checkout of rag-tutor")
    os.environ["RAG_TUTOR_INDEX_DIR"] = str(Path(settings.index_dir).resolve())
    os.chdir(PROJECT_DIR)  # Streamlit reads .streamlit/config.toml (127.0.0.1, no telemetry) from here
    preload_models(settings)
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(app), "--server.address", args.address, "--server.port", str(args.port)]
    streamlit_cli.main()  # serves until stopped, in this process: the app finds the embedder loaded or loading
    return 0  # not reached: Streamlit exits the process


def preload_models(settings: Settings) -> threading.Thread:
    """Load the embedder, the matcher and the reader (and the libraries under them, ~8 s on a busy 2-core CPU) in the
    background while the server starts and the browser opens, so that the first question does not wait for them. A
    failure is left to the app, which loads the tutor itself and says on the page what went wrong."""
    from .embedder import load_embedder
    from .matcher import matcher_for
    from .reader import reader_for

    def load() -> None:
        try:
            load_embedder(settings.embedder_package)
            matcher_for(settings)  # the sentence ranker's matcher, a second MiniLM, when the settings use it
            reader_for(settings)  # the reader, a third MiniLM (a cross-encoder), likewise
        except Exception:  # reported by the app's own load, with its message, on the page
            pass

    thread = threading.Thread(target=load, name="models-preload", daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag-tutor", description="An offline tutor for Generative AI.")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_index(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
        return p

    p = with_index(sub.add_parser("index", help="build or update the index from the corpus"))
    p.add_argument("--corpus", type=Path, action="append", help="corpus folder (repeatable; default: corpus/)")
    p.add_argument("--full", action="store_true", help="rebuild everything instead of only changed documents")
    p.add_argument("--chunk-size", type=positive_int, help="characters per chunk (default 1200)")
    p.add_argument("--chunk-overlap", type=non_negative_int, help="characters shared by consecutive chunks, "
                   "less than the chunk size (default 150)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = with_index(sub.add_parser("status", help="is the index up to date with the corpus? (exit 0, 3 or 9)"))
    p.add_argument("--corpus", type=Path, action="append")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verify", action="store_true", help="also check the SHA-256 of every index file")

    p = with_index(sub.add_parser("retrieve", help="show the passages retrieved for a question"))
    p.add_argument("question", nargs="?", default=None)
    p.add_argument("-k", type=positive_int, help="passages to return (default 5)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", help="JSONL file of {\"question\", \"history\"?} objects")

    def with_model(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        with_index(p)
        p.add_argument("--no-adapter", action="store_true", help="run the base model without the LoRA adapter")
        p.add_argument("--adapter", type=Path, help="LoRA adapter folder (default: the one shipped)")
        p.add_argument("--extractive", action="store_true",
                       help="no model: answer with the passages' most relevant sentences, each cited")
        p.add_argument("--engine", choices=ENGINES,
                       help="decoder: llama (the merged q8_0 model run by ik_llama.cpp, default) or transformers "
                            "(also RAG_TUTOR_ENGINE)")
        return p

    p = with_model(sub.add_parser("ask", help="answer a question with cited sources"))
    p.add_argument("question", nargs="?", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", help="JSONL file of {\"question\", \"history\"?} objects")

    p = with_model(sub.add_parser("chat", help="a terminal chat with streamed, cited answers, quizzes and flashcards"))
    p.add_argument("--learner", help="learner profile (default: default)")
    p.add_argument("--resume", action="store_true",
                   help="continue your last saved conversation (its follow-ups, quiz or review) instead of a new one")

    p = with_model(sub.add_parser("eval", help="answer-quality metrics on a question file"))
    p.add_argument("--questions", required=True, type=Path)
    p.add_argument("--json", action="store_true")

    p = with_index(sub.add_parser("ui", help="start the Streamlit app (http://localhost:8501)"))
    p.add_argument("--port", type=positive_int, default=8501)
    p.add_argument("--address", default="127.0.0.1")

    p = with_index(sub.add_parser("train", help="train the LoRA adapter on examples built from the corpus"))
    p.add_argument("--out", type=Path, help="adapter folder to write (default: the shipped adapter)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--limit", type=positive_int, help="use only the first N examples (smoke runs)")

    add_study_parsers(sub)
    add_podcast_parser(sub)
    return parser


COMMANDS.update(STUDY_HANDLERS)
COMMANDS.update(PODCAST_HANDLERS)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        "index_dir": getattr(args, "index_dir", None),
        "corpus_dirs": getattr(args, "corpus", None),
        "chunk_size": getattr(args, "chunk_size", None),
        "chunk_overlap": getattr(args, "chunk_overlap", None),
        "adapter_dir": getattr(args, "adapter", None),
        "generate": False if getattr(args, "extractive", False) else None,
        "engine": getattr(args, "engine", None),
    }
    return load_settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        return COMMANDS[args.command](args, settings)
    except RagTutorError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
