"""Audio overviews: the script (grounded, two speakers, cited), the real Piper render, the cache and staleness."""

from __future__ import annotations

import shutil
import wave

import numpy as np
import pytest

from rag_tutor.citations import SupportChecker
from rag_tutor.index import build_index, load_index
from rag_tutor.podcast import audio
from rag_tutor.podcast.render import podcast_status, render_podcast
from rag_tutor.podcast.script import (GUIDE, HOST, Chapter, Line, PodcastError, Script, build_script, host_question,
                                     informative, merge_thin_chapters, speakable, speech_text)
from rag_tutor.podcast.speech import PiperEngine, SpeechError, Voice, pick_engine
from rag_tutor.study.material import load_material



# ---------------------------------------------------------------- text


def test_speakable_leaves_out_list_headers_formulas_and_marks_the_gap():
    text = ("VAEs offer several advantages:\n- Explicit latent space: every input has an encoding.\n"
            "- Smooth interpolation between two codes is possible.\n\n"
            "The loss is $x^2$ here in a formula.\nIt then continues with this.")
    got = speakable(text)
    assert got[0] is None  # "...advantages:" introduces a list
    assert got[1] == "Explicit latent space: every input has an encoding."
    assert None in got[3:]  # the formula sentence is gone...
    assert got[-1] == "It then continues with this."  # ...and marked, so a turn stops before "It"


def test_speech_text_spells_out_what_reads_badly_aloud():
    assert speech_text("See **FID** (Heusel et al. 2017), e.g. in [this paper](http://x).") == \
        "See FID (Heusel and colleagues 2017), for example, in this paper."
    # an image is read as its words, without the "!"; a link's title is not read
    assert speech_text('A kettle: ![a steel kettle](k.png), see [the guide](https://x.y "Guide").') == \
        "A kettle: a steel kettle, see the guide."


def test_host_questions_are_grammatical_for_both_kinds_of_heading():
    assert host_question("How the VAE encoder and decoder work", "how", 0) == \
        "Next, tell me how the VAE encoder and decoder work."
    q = host_question("Limitations of VAEs: blurry samples and posterior collapse", "wrong", 1)
    assert q.startswith("Next up: limitations of VAEs.") and q.endswith("?")
    assert "BLEU and ROUGE" in host_question("BLEU and ROUGE for translation", "more", 2)  # acronyms keep case


def _toy_script(*chapters: tuple[str, list[str]]) -> Script:
    """Introduction, the given chapters (title, guide lines), wrap-up."""
    lines, titles = [Line(HOST, "Welcome.", 0)], [Chapter("Introduction")]
    for title, said in chapters:
        titles.append(Chapter(title))
        c = len(titles) - 1
        lines += [Line(HOST, f"Tell me about {title}.", c)] + [Line(GUIDE, s, c, 1) for s in said]
    titles.append(Chapter("Wrap-up"))
    lines.append(Line(HOST, "Bye.", len(titles) - 1))
    return Script("toy", "Toy", lines, titles, [])


def test_a_chapter_that_names_nothing_joins_the_one_before():
    assert not informative("Several techniques were developed to make training more stable.")
    assert not informative("Researchers proposed various improvements to the original model.")
    assert informative("Several techniques such as spectral normalisation made training more stable.")
    assert informative("Spectral normalisation bounds the discriminator's Lipschitz constant.")
    assert informative("A leaderboard lets different models be compared on one task.")  # not what it is about
    script = _toy_script(("Origins", ["Ian Goodfellow proposed the idea in 2014."]),
                         ("Stabilising", ["Several techniques were developed to make training stable.",
                                          "Many variants followed."]),
                         ("Uses", ["Image synthesis is the best known use."]))
    merged = merge_thin_chapters(script, 1)
    assert [c.title for c in merged.chapters] == ["Introduction", "Origins", "Uses", "Wrap-up"]
    assert [ln.text for ln in merged.lines] == [ln.text for ln in script.lines]  # every line is still spoken
    origins = [ln.text for ln in merged.lines if ln.chapter == 1]
    assert origins[-1] == "Many variants followed." and "Tell me about Stabilising." in origins
    assert merged.lines[-1].chapter == 3  # the wrap-up keeps its own chapter
    # A stricter setting: a chapter needs two informative lines, so "Uses" (one) joins the chapter before too.
    script.lines.insert(3, Line(GUIDE, "It pits a generator against a discriminator.", 1, 1))
    assert [c.title for c in merge_thin_chapters(script, 2).chapters] == ["Introduction", "Origins", "Wrap-up"]


def test_a_script_whose_every_chapter_is_thin_keeps_its_chapters():
    script = _toy_script(("A", ["Various methods exist."]), ("B", ["Some approaches were tried."]))
    assert merge_thin_chapters(script, 1) is script
    good = _toy_script(("A", ["Diffusion adds Gaussian noise step by step."]), ("B", ["It was shown in 2020."]))
    assert merge_thin_chapters(good, 1) is good  # nothing thin: unchanged


# ---------------------------------------------------------------- engines


def test_no_speech_engine_gives_one_clear_line(monkeypatch):
    monkeypatch.setattr(PiperEngine, "available", staticmethod(lambda: False))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SpeechError) as err:
        pick_engine("auto")
    message = str(err.value)
    assert "pip install piper-tts" in message and "apt-get install espeak-ng" in message
    assert "\n" not in message
    with pytest.raises(SpeechError, match="unknown speech engine"):
        pick_engine("festival")


def test_pitch_shift_and_levelling():
    rate = 22050
    t = np.arange(rate) / rate
    tone = (0.05 * np.sin(2 * np.pi * 200 * t)).astype("float32")
    up = audio.shift_pitch(tone, 1.25)
    assert len(up) == int(rate / 1.25)
    # the dominant frequency moved from 200 Hz to 250 Hz
    spectrum = np.abs(np.fft.rfft(up))
    assert abs(np.argmax(spectrum) * rate / len(up) - 250) < 3
    levelled = audio.level(tone, -20.0, 0.9)
    assert abs(20 * np.log10(np.sqrt((levelled ** 2).mean())) + 20) < 0.5
    assert np.abs(audio.level(tone * 50, -3.0, 0.9)).max() <= 0.9


def _pitches(segment: np.ndarray, rate: int) -> list[float]:
    """Fundamental frequency of each voiced 40 ms frame, by autocorrelation (70-300 Hz)."""
    frame, out = int(0.04 * rate), []
    for i in range(0, len(segment) - frame, frame):
        f = segment[i:i + frame] - segment[i:i + frame].mean()
        if np.sqrt((f ** 2).mean()) < 0.05:
            continue
        ac = np.correlate(f, f, "full")[frame - 1:]
        lo, hi = int(rate / 300), int(rate / 70)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            out.append(rate / lag)
    return out


class ToneEngine:
    """A stand-in engine for cache and staleness logic: a tone per line, 0.35 s a word, counted."""

    name = "tone"

    def __init__(self) -> None:
        self.calls = 0

    def voices(self, config):
        return {"host": Voice("host", self.name, pitch=1.2), "guide": Voice("guide", self.name)}

    def synthesize(self, texts, voice, progress=None):
        self.calls += 1
        rate = 8000
        clips = [0.1 * np.sin(np.arange(int(0.35 * rate * len(t.split()))) * voice.pitch * 0.1).astype("float32")
                 for t in texts]
        return clips, rate


# ---------------------------------------------------------------- scripts on the real course


@pytest.mark.model
def test_script_for_a_real_topic_is_grounded_and_two_voiced(course_index, embedder):
    index = load_index(course_index.index_dir)
    material = load_material(index, course_index.study)
    checker = SupportChecker(embedder)
    script = build_script(material, "gan", checker, course_index.podcast, course_index.support_threshold)
    speakers = {line.speaker for line in script.lines}
    assert speakers == {HOST, GUIDE}
    guide = [line for line in script.lines if line.speaker == GUIDE]
    assert len(guide) >= 8
    fresh = SupportChecker(embedder)
    for line in guide:  # every guide line cites a passage that supports it
        assert line.source is not None
        passage = script.sources[line.source - 1]
        assert fresh.support(line.text, passage.text).score >= course_index.support_threshold, line.text
    assert all(line.source is None for line in script.lines if line.speaker == HOST)
    # chapters are the topic's own sections, in the document's order
    doc_sections = list(dict.fromkeys(c.section for c in index.chunks
                                      if c.source.endswith("06-generative-adversarial-networks.md")))
    titles = [c.title for c in script.chapters[1:-1]]
    body = [t for t in titles if t != "What it is"]
    assert len(body) >= 6 and body == [s for s in doc_sections if s in body]
    assert script.chapters[0].title == "Introduction" and script.chapters[-1].title == "Wrap-up"
    words = script.words
    assert 120 * 2.3 < words < 240 * 3.2  # sized for 2-4 minutes of speech
    with pytest.raises(PodcastError, match="no topic 'cooking'"):
        build_script(material, "cooking", checker, course_index.podcast, course_index.support_threshold)


@pytest.mark.model
def test_real_podcast_lasts_two_to_four_minutes_with_two_voices(rendered):
    settings, podcast, shares = rendered
    with wave.open(str(podcast.audio)) as w:
        seconds = w.getnframes() / w.getframerate()
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
    assert 120 <= seconds <= 240
    assert podcast.engine == "piper"
    assert podcast.voices["host"] != podcast.voices["guide"]  # two voice settings...
    assert podcast.voices["host"]["pitch"] > podcast.voices["guide"]["pitch"]
    lines = podcast.script.lines
    assert {ln.speaker for ln in lines} == {HOST, GUIDE}  # ...both heard
    assert all(ln.end_s > ln.start_s for ln in lines)
    assert all(a.end_s <= b.start_s for a, b in zip(lines, lines[1:]))  # in order, no overlap
    assert lines[-1].end_s <= seconds
    samples, rate = audio.read_wav(podcast.audio)
    for ln in lines[:4]:  # every line is audible where the transcript says it is
        piece = samples[int(ln.start_s * rate): int(ln.end_s * rate)]
        assert np.sqrt((piece ** 2).mean()) > 0.02
    # the two voices are heard apart: the host speaks higher (median pitch over its voiced frames)
    pitch = {who: np.median([f for ln in lines if ln.speaker == who
                             for f in _pitches(samples[int(ln.start_s * rate): int(ln.end_s * rate)], rate)])
             for who in (HOST, GUIDE)}
    assert pitch[HOST] > 1.1 * pitch[GUIDE], pitch
    assert shares[0] == 0.0 and shares[-1] == 1.0 and shares == sorted(shares)
    starts = [c.start_s for c in podcast.script.chapters]
    assert starts == sorted(starts) and len(starts) >= 6


@pytest.mark.model
def test_a_cached_podcast_is_reused(rendered):
    settings, podcast, _ = rendered
    from rag_tutor.podcast.render import make_podcast

    mtime = podcast.audio.stat().st_mtime_ns

    class Refuse:
        name = "refuse"

        def voices(self, config):
            raise AssertionError("the cache should have been used")

    again = make_podcast(settings, "diffusion", engine=Refuse())
    assert again.reused and again.audio == podcast.audio and again.key == podcast.key
    assert again.audio.stat().st_mtime_ns == mtime
    assert not podcast_status(settings, "diffusion").stale


@pytest.mark.model
def test_the_cli_prints_the_transcript_with_sources(rendered, cli, tmp_path):
    settings, podcast, _ = rendered
    out = tmp_path / "episode.wav"
    run = cli("podcast", "--topic", "diffusion models", "--index-dir", settings.index_dir, "--out", out,
              env={"RAG_TUTOR_HOME": str(settings.home)})
    assert run.returncode == 0, run.stderr
    assert "cached" in run.stdout and "GUIDE" in run.stdout and "HOST" in run.stdout
    assert "[1] " in run.stdout and out.stat().st_size == podcast.audio.stat().st_size
    bad = cli("podcast", "--topic", "knitting patterns", "--index-dir", settings.index_dir,
              env={"RAG_TUTOR_HOME": str(settings.home)})
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0
    assert "no course topic matches" in bad.stderr


# ---------------------------------------------------------------- cache and staleness (tiny corpus, stand-in voice)


@pytest.mark.model
def test_editing_the_topic_document_marks_its_podcast_stale(tiny_corpus, settings_for, embedder):
    settings = settings_for(tiny_corpus)
    build_index(settings, embedder=embedder)
    index = load_index(settings.index_dir)
    material = load_material(index, settings.study)
    engine = ToneEngine()
    checker = SupportChecker(embedder)
    first = render_podcast(settings, material, index.manifest, checker, "vae", engine=engine)
    assert engine.calls == 2 and not first.reused  # one batch per speaker
    assert not podcast_status(settings, "vae").stale
    assert not podcast_status(settings, "diffusion").podcast  # never made

    # an edit that does not change what is said (a GAN term in the glossary): stale, but the audio is kept
    glossary = tiny_corpus / "glossary.md"
    glossary.write_text(glossary.read_text() + "\n## Critic\n- **Definition:** The discriminator of a Wasserstein "
                        "GAN, which scores samples instead of classifying them.\n- **Topic:** gan\n")
    assert podcast_status(settings, "vae").stale
    build_index(settings, embedder=embedder)
    index = load_index(settings.index_dir)
    material = load_material(index, settings.study)
    kept = render_podcast(settings, material, index.manifest, checker, "vae", engine=engine)
    assert engine.calls == 2 and kept.key == first.key and kept.audio == first.audio
    assert not podcast_status(settings, "vae").stale

    doc = tiny_corpus / "05-vae.md"
    doc.write_text(doc.read_text() + "\n## Uses\n\nVAEs are used to compress images into small codes.\n")
    status = podcast_status(settings, "vae")
    assert status.stale and "05-vae.md has changed" in status.reason
    assert status.podcast is not None  # the old one can still be played
    # re-rendering from an index that does not have the edit yet is refused, not done wrong
    with pytest.raises(PodcastError, match="rebuild it first"):
        render_podcast(settings, material, index.manifest, checker, "vae", engine=engine)
    build_index(settings, embedder=embedder)
    index = load_index(settings.index_dir)
    material = load_material(index, settings.study)
    second = render_podcast(settings, material, index.manifest, checker, "vae", engine=engine)
    assert engine.calls == 4 and second.key != first.key
    assert "Uses" in [c.title for c in second.script.chapters]
    assert not podcast_status(settings, "vae").stale
    assert not first.audio.exists() and second.audio.exists()  # the old audio is replaced

    doc.unlink()
    assert "was removed" in podcast_status(settings, "vae").reason
