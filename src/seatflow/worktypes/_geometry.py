"""Geometry shared by the visual work types: IoU, greedy matching, OKS, polygon overlap.

Boxes are ``(x, y, w, h)`` in pixels with the origin at the top-left corner. Keypoints are
``(x, y, v)`` with COCO visibility: ``v == 0`` means "not placed" (its coordinates mean nothing),
``v > 0`` means placed (1 occluded, 2 visible).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageDraw

Box = tuple[float, float, float, float]
Point = tuple[float, float]
Keypoint = tuple[float, float, int]

#: OKS falloff relative to the object's diagonal: a point off by 5 % of the diagonal scores exp(-1/2).
OKS_K = 0.05
#: Longest side, in raster cells, of the grid on which two polygons are compared.
POLYGON_RASTER = 256


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when either is empty."""
    ax1, ay1, ax2, ay2 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx1, by1, bx2, by2 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    if iw <= 0 or ih <= 0:
        return 0.0
    # areas from the same corner sums as the intersection, so identical boxes give exactly 1
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return min(1.0, inter / union) if union > 0 else 0.0


def greedy_match(
    n: int, m: int, score: Callable[[int, int], float], threshold: float
) -> list[tuple[int, int, float]]:
    """Pair items ``0..n-1`` with ``0..m-1``, best score first, each used at most once.

    Pairs scoring below ``threshold`` are never made. Ties are broken by index so the result is
    deterministic. Returns ``(i, j, score)`` triples.
    """
    candidates = []
    for i in range(n):
        for j in range(m):
            s = score(i, j)
            if s >= threshold:
                candidates.append((-s, i, j))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for neg, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j, -neg))
    return pairs


def matched_f1(pairs: Sequence[tuple[int, int, float]], n: int, m: int) -> float:
    """F1 where each true positive counts with its similarity: ``2 * sum(sim) / (n + m)``."""
    if n == 0 and m == 0:
        return 1.0
    return min(1.0, 2.0 * sum(p[2] for p in pairs) / (n + m))


def diagonal(w: float, h: float) -> float:
    return math.hypot(w, h)


def placed(points: Sequence[Keypoint]) -> list[Point]:
    return [(x, y) for x, y, v in points if v > 0]


def extent(points: Sequence[Point]) -> Box | None:
    """The tight box around points, or None when there are none."""
    if not points:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def box_contains(box: Box, points: Sequence[Point], margin: float = 0.0) -> bool:
    x, y, w, h = box
    return all(x - margin <= px <= x + w + margin and y - margin <= py <= y + h + margin for px, py in points)


def oks(a: Sequence[Keypoint], b: Sequence[Keypoint], scale: float, k: float = OKS_K) -> float:
    """Object keypoint similarity of two equally long point lists, in [0, 1].

    Each point scores ``exp(-d^2 / (2 (k * scale)^2))`` when placed in both, 1 when placed in
    neither (they agree it is absent) and 0 when placed in only one. The result is the mean.
    """
    if len(a) != len(b):
        raise ValueError("keypoint lists differ in length")
    if not a:
        return 1.0
    sigma = max(k * scale, 1e-9)
    total = 0.0
    for (ax, ay, av), (bx, by, bv) in zip(a, b, strict=True):
        if av > 0 and bv > 0:
            d2 = (ax - bx) ** 2 + (ay - by) ** 2
            total += math.exp(-d2 / (2 * sigma * sigma))
        elif av <= 0 and bv <= 0:
            total += 1.0
    return total / len(a)


def polygon_area(points: Sequence[Point]) -> float:
    """Absolute area by the shoelace formula (self-intersecting polygons give a net area)."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def polygon_iou(a: Sequence[Point], b: Sequence[Point], resolution: int = POLYGON_RASTER) -> float:
    """Approximate IoU of two polygons, rasterised together on a grid of ``resolution`` cells.

    Exact for identical polygons; within a few per cent otherwise, which is ample for agreement.
    """
    if len(a) < 3 or len(b) < 3:
        return 0.0
    ea, eb = extent(list(a)), extent(list(b))
    assert ea is not None and eb is not None
    if box_iou(_inflate(ea), _inflate(eb)) == 0.0:
        return 0.0
    x0 = min(ea[0], eb[0])
    y0 = min(ea[1], eb[1])
    x1 = max(ea[0] + ea[2], eb[0] + eb[2])
    y1 = max(ea[1] + ea[3], eb[1] + eb[3])
    scale = resolution / max(x1 - x0, y1 - y0, 1e-9)
    size = (int(math.ceil((x1 - x0) * scale)) + 1, int(math.ceil((y1 - y0) * scale)) + 1)

    def mask(points: Sequence[Point]) -> Image.Image:
        img = Image.new("1", size, 0)
        ImageDraw.Draw(img).polygon([((x - x0) * scale, (y - y0) * scale) for x, y in points], fill=1)
        return img

    ma, mb = mask(a), mask(b)
    inter = _count(ImageChops.logical_and(ma, mb))
    union = _count(ImageChops.logical_or(ma, mb))
    return inter / union if union else 0.0


def _inflate(box: Box, by: float = 0.5) -> Box:
    """Give degenerate (flat) extents some thickness so touching polygons still overlap."""
    x, y, w, h = box
    return (x - by, y - by, w + 2 * by, h + 2 * by)


def _count(img: Image.Image) -> int:
    return sum(img.convert("L").histogram()[1:])
