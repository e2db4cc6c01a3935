"""The machine pre-screen: a risk score in [0, 1] that routes items and is shown to the moderator.

Images and videos: NudeNet's detector (an ONNX model shipped inside the ``nudenet`` wheel, run on
the CPU by onnxruntime; nothing is downloaded). The score is the strongest detection among the
body-part classes below, weighted by how explicit the class is; video frames are the keyframes
from ``probe``, and the video's score is that of its worst frame.

Texts: the project's keyword lists (``label_schema.keywords``: reason code -> words). The score is
the gravest matched reason's severity / 5, and the labels are the matched reason codes.

When the model cannot be loaded, :func:`scorer_for` returns :class:`UnavailableScorer`, which gives
no score at all (``None``) and says why: items then simply keep their deadline order.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

log = logging.getLogger("seatflow.prescreen")

# NudeNet class -> weight in the score (classes not named here do not count).
EXPLICIT_WEIGHTS: dict[str, float] = {
    "FEMALE_GENITALIA_EXPOSED": 1.0,
    "MALE_GENITALIA_EXPOSED": 1.0,
    "ANUS_EXPOSED": 1.0,
    "FEMALE_BREAST_EXPOSED": 1.0,
    "BUTTOCKS_EXPOSED": 0.8,
    "FEMALE_GENITALIA_COVERED": 0.3,
    "FEMALE_BREAST_COVERED": 0.3,
    "BUTTOCKS_COVERED": 0.2,
    "MALE_BREAST_EXPOSED": 0.2,
    "BELLY_EXPOSED": 0.1,
}


@dataclass(frozen=True)
class Score:
    value: float | None  # None: no score (pre-screen off or unavailable)
    labels: list[str] = field(default_factory=list)
    model: str = ""
    detections: list[dict[str, Any]] = field(default_factory=list)  # the model's raw output, per frame


class Scorer(Protocol):
    name: str

    def score(self, frames: list[Image.Image]) -> Score: ...


class NudeNetScorer:
    """NudeNet's ONNX detector, loaded once per process on first use."""

    name = "nudenet"

    def __init__(self) -> None:
        self._detector: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._detector is None:
                from nudenet import NudeDetector  # the model file ships in the wheel (320n.onnx)

                self._detector = NudeDetector()
            return self._detector

    def score(self, frames: list[Image.Image]) -> Score:
        import numpy as np

        detector = self._load()
        best = 0.0
        labels: set[str] = set()
        raw: list[dict[str, Any]] = []
        for n, frame in enumerate(frames):
            bgr = np.ascontiguousarray(np.asarray(frame.convert("RGB"))[:, :, ::-1])
            with self._lock:  # one inference at a time: onnxruntime already uses every core
                found = detector.detect(bgr)
            for det in found:
                weight = EXPLICIT_WEIGHTS.get(det["class"], 0.0)
                raw.append({"frame": n, "class": det["class"], "score": round(float(det["score"]), 4)})
                if weight > 0:
                    labels.add(det["class"])
                    best = max(best, weight * float(det["score"]))
        return Score(value=round(min(best, 1.0), 4), labels=sorted(labels), model=self.name, detections=raw)


class UnavailableScorer:
    """No model: no score. Says why once in the log; never makes a number up."""

    name = "unavailable"

    def __init__(self, why: str) -> None:
        self.why = why

    def score(self, frames: list[Image.Image]) -> Score:
        return Score(value=None, model=f"unavailable: {self.why}")


class OffScorer:
    name = "off"

    def score(self, frames: list[Image.Image]) -> Score:
        return Score(value=None, model="off")


_scorers: dict[str, Scorer] = {}
_scorers_lock = threading.Lock()


def scorer_for(name: str) -> Scorer:
    """The scorer named by SEATFLOW_PRESCREEN_MODEL (``nudenet`` or ``off``), one per process."""
    with _scorers_lock:
        if name not in _scorers:
            _scorers[name] = _make(name)
        return _scorers[name]


def _make(name: str) -> Scorer:
    if name == "off":
        return OffScorer()
    if name != "nudenet":
        raise ValueError(f"unknown pre-screen model {name!r}; use 'nudenet' or 'off'")
    try:
        import nudenet  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        log.warning("pre-screen unavailable (%s): items get no machine score", exc)
        return UnavailableScorer(f"nudenet is not installed ({exc})")
    return NudeNetScorer()


def _pattern(word: str) -> re.Pattern[str]:
    w = word.strip()
    if re.fullmatch(r"[\w\s'-]+", w, flags=re.ASCII):  # a Latin-script word: match whole words only
        return re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.IGNORECASE)
    return re.compile(re.escape(w), re.IGNORECASE)  # e.g. Chinese: no spaces between words


def keyword_score(text: str, keywords: dict[str, list[str]], severity: dict[str, int]) -> Score:
    """Score a text by the project's keyword lists: the gravest matched reason's severity / 5."""
    matched = sorted(code for code, words in keywords.items() if any(_pattern(w).search(text) for w in words))
    if not keywords:
        return Score(value=None, model="keywords")
    value = max((severity.get(code, 5) / 5 for code in matched), default=0.0)
    return Score(value=round(value, 4), labels=matched, model="keywords")
