"""Read media at ingest: image thumbnails (Pillow); video duration and a strip of keyframe thumbnails (PyAV).

Every failure to read becomes :class:`MediaUnreadable` with a reason a client can act on; the
caller turns it into the item's ``rejected_media`` state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from seatflow.i18n.message import Msg

THUMB_SIZE = (320, 320)  # a preview fits in this box
STRIP_HEIGHT = 120  # the keyframe strip is this tall
SCORE_SIZE = (640, 640)  # frames handed to the pre-screen fit in this box
MAX_KEYFRAMES_READ = 2000  # a very long video: only the first this many keyframes are looked at
MAX_PIXELS = 80_000_000  # larger images are refused (decompression bombs)


class MediaUnreadable(Exception):
    """The media cannot be read; ``reason`` (a ``Msg``) says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Probed:
    kind: str
    width: int
    height: int
    duration_seconds: float | None = None
    thumbnails: list[str] = field(default_factory=list)  # media references, relative to the media folder
    strip: str | None = None
    frames: list[Image.Image] = field(default_factory=list)  # RGB, for the pre-screen


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "P"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _save_jpeg(im: Image.Image, root: Path, ref: str) -> str:
    target = root / ref
    target.parent.mkdir(parents=True, exist_ok=True)
    im.save(target, "JPEG", quality=82)
    return ref


def _small(im: Image.Image, box: tuple[int, int]) -> Image.Image:
    out = im.copy()
    out.thumbnail(box)
    return out


def probe_image(path: Path, *, media_root: Path, out_prefix: str) -> Probed:
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise MediaUnreadable(Msg("the image is {width}x{height} pixels; at most {max_pixels:,} "
                                          "pixels are accepted", width=im.width, height=im.height,
                                          max_pixels=MAX_PIXELS))
            im.load()
            rgb = _rgb(im)
    except MediaUnreadable:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaUnreadable(Msg("the image cannot be decoded ({error})", error=str(exc))) from None
    thumb = _save_jpeg(_small(rgb, THUMB_SIZE), media_root, f"{out_prefix}/thumb.jpg")
    return Probed(kind="image", width=rgb.width, height=rgb.height, thumbnails=[thumb],
                  frames=[_small(rgb, SCORE_SIZE)])


def probe_video(path: Path, *, media_root: Path, out_prefix: str, keyframes: int) -> Probed:
    import av  # PyAV: FFmpeg's demuxers and decoders

    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaUnreadable(Msg("the file has no video stream"))
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"  # decode keyframes only: cheap, and enough
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            found: list[Image.Image] = []
            for frame in container.decode(stream):
                found.append(_small(frame.to_image(), THUMB_SIZE))
                if len(found) >= MAX_KEYFRAMES_READ:
                    break
            width, height = stream.codec_context.width, stream.codec_context.height
    except MediaUnreadable:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise MediaUnreadable(Msg("the video cannot be decoded ({error})", error=str(exc))) from None
    if not found:
        raise MediaUnreadable(Msg("the video has no picture that can be decoded"))
    if keyframes < len(found):  # evenly spread over the video
        picks = [found[round(i * (len(found) - 1) / max(keyframes - 1, 1))] for i in range(keyframes)]
    else:
        picks = found
    thumbs = [_save_jpeg(_rgb(im), media_root, f"{out_prefix}/kf-{n:02d}.jpg") for n, im in enumerate(picks)]
    strip = _save_jpeg(_strip(picks), media_root, f"{out_prefix}/strip.jpg")
    return Probed(kind="video", width=int(width), height=int(height), duration_seconds=duration,
                  thumbnails=thumbs, strip=strip, frames=[_rgb(im) for im in picks])


def _strip(frames: list[Image.Image]) -> Image.Image:
    scaled = [f.resize((max(1, round(f.width * STRIP_HEIGHT / f.height)), STRIP_HEIGHT)) for f in frames]
    out = Image.new("RGB", (sum(s.width for s in scaled) + 2 * (len(scaled) - 1), STRIP_HEIGHT), (24, 24, 24))
    x = 0
    for s in scaled:
        out.paste(_rgb(s), (x, 0))
        x += s.width + 2
    return out


def probe(path: Path, kind: str, *, media_root: Path, out_prefix: str, keyframes: int = 8) -> Probed:
    if kind == "video":
        return probe_video(path, media_root=media_root, out_prefix=out_prefix, keyframes=keyframes)
    return probe_image(path, media_root=media_root, out_prefix=out_prefix)
