/* Seatflow image view: plain geometry in image pixels (boxes, handles, polygons) and label colours. */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  function clamp(v, lo, hi) { return v < lo ? lo : v > hi ? hi : v; }

  /** Coordinates go to the server with one decimal: enough for landmarks on a zoomed image. */
  function round1(v) { return Math.round(v * 10) / 10; }

  function dist(ax, ay, bx, by) { var dx = ax - bx, dy = ay - by; return Math.sqrt(dx * dx + dy * dy); }

  /** The box spanned by two corners, clamped to the W x H image. */
  function rectFrom(x1, y1, x2, y2, W, H) {
    x1 = clamp(x1, 0, W); x2 = clamp(x2, 0, W); y1 = clamp(y1, 0, H); y2 = clamp(y2, 0, H);
    return { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) };
  }

  function inBox(b, x, y) { return x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h; }

  /** Ray casting; points are [[x, y], ...]. */
  function inPolygon(points, x, y) {
    var inside = false;
    for (var i = 0, j = points.length - 1; i < points.length; j = i++) {
      var xi = points[i][0], yi = points[i][1], xj = points[j][0], yj = points[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function polygonArea(points) {
    var a = 0;
    for (var i = 0, j = points.length - 1; i < points.length; j = i++) {
      a += (points[j][0] + points[i][0]) * (points[j][1] - points[i][1]);
    }
    return Math.abs(a / 2);
  }

  // The eight resize handles of a box: name -> which edges it moves.
  var HANDLES = [
    { name: "nw", fx: 0, fy: 0, cursor: "nwse-resize" }, { name: "n", fx: 0.5, fy: 0, cursor: "ns-resize" },
    { name: "ne", fx: 1, fy: 0, cursor: "nesw-resize" }, { name: "e", fx: 1, fy: 0.5, cursor: "ew-resize" },
    { name: "se", fx: 1, fy: 1, cursor: "nwse-resize" }, { name: "s", fx: 0.5, fy: 1, cursor: "ns-resize" },
    { name: "sw", fx: 0, fy: 1, cursor: "nesw-resize" }, { name: "w", fx: 0, fy: 0.5, cursor: "ew-resize" },
  ];

  function handles(b) {
    return HANDLES.map(function (h) {
      return { name: h.name, cursor: h.cursor, x: b.x + h.fx * b.w, y: b.y + h.fy * b.h };
    });
  }

  /** The box `start` with the edges of handle `name` dragged to (x, y); never flips, never leaves the image. */
  function resizeBox(start, name, x, y, W, H, minSize) {
    var x1 = start.x, y1 = start.y, x2 = start.x + start.w, y2 = start.y + start.h;
    var m = minSize || 1;
    if (name.indexOf("w") >= 0) x1 = clamp(x, 0, x2 - m);
    if (name.indexOf("e") >= 0) x2 = clamp(x, x1 + m, W);
    if (name.indexOf("n") >= 0) y1 = clamp(y, 0, y2 - m);
    if (name.indexOf("s") >= 0) y2 = clamp(y, y1 + m, H);
    return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }

  /** How far (dx, dy) may move points with this extent so that all of them stay in the image. */
  function clampShift(minX, minY, maxX, maxY, dx, dy, W, H) {
    return { dx: clamp(dx, -minX, W - maxX), dy: clamp(dy, -minY, H - maxY) };
  }

  function extent(points) {
    var e = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
    points.forEach(function (p) {
      e.minX = Math.min(e.minX, p[0]); e.maxX = Math.max(e.maxX, p[0]);
      e.minY = Math.min(e.minY, p[1]); e.maxY = Math.max(e.maxY, p[1]);
    });
    return e;
  }

  // Calm but distinct on photos; the first ones go to the first labels.
  var PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ec4899", "#8b5cf6", "#06b6d4", "#ef4444", "#84cc16", "#f97316"];
  // Landmarks get their own colours by position in the fixed order, so left and right never look alike.
  var POINT_PALETTE = ["#22d3ee", "#f472b6", "#facc15", "#4ade80", "#fb923c", "#a78bfa", "#f87171", "#60a5fa"];

  function labelColor(schema, label) {
    var i = (schema.labels || []).map(function (l) { return l.name; }).indexOf(label);
    return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
  }

  function pointColor(index) { return POINT_PALETTE[index % POINT_PALETTE.length]; }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  /** Dark text on light colours, white on dark ones. */
  function textOn(hex) {
    var n = parseInt(hex.slice(1), 16);
    var lum = 0.2126 * ((n >> 16) & 255) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255);
    return lum > 150 ? "#0b1220" : "#ffffff";
  }

  C.geometry = {
    clamp: clamp, round1: round1, dist: dist, rectFrom: rectFrom, inBox: inBox, inPolygon: inPolygon,
    polygonArea: polygonArea, handles: handles, resizeBox: resizeBox, clampShift: clampShift, extent: extent,
    labelColor: labelColor, pointColor: pointColor, rgba: rgba, textOn: textOn,
  };
})();
