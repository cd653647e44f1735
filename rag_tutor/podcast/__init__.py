"""Audio overviews: a two-voice podcast per learning-path topic, written from the course and spoken offline."""

from .render import Podcast, PodcastStatus, make_podcast, podcast_status, render_podcast
from .script import PodcastError, Script, build_script
from .speech import SpeechError, pick_engine

__all__ = ["Podcast", "PodcastError", "PodcastStatus", "Script", "SpeechError", "build_script", "make_podcast", "pick_engine",
           "podcast_status", "render_podcast"]
