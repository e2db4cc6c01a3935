/* Seatflow image view: what is under the pointer (handles, landmarks, vertices, shapes), in screen tolerances. */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  var HANDLE_PX = 8; // a handle is grabbed within this many CSS pixels
  var POINT_PX = 9;

  /**
   * The thing at screen point (sx, sy):
   *   {kind: "handle", shape, handle} resize handle of the selected box
   *   {kind: "kp", shape, index}      a placed landmark
   *   {kind: "vertex", shape, index}  a polygon corner
   *   {kind: "box" | "poly", shape}   inside a shape (the smallest one wins, so nested boxes stay reachable)
   * or null.
   */
  function hitTest(doc, vp, sel, sx, sy) {
    var best = null, bestD = Infinity;
    var selBox = sel && sel.kind === "box" ? C.model.find(doc, "box", sel.id) : null;
    if (selBox) {
      C.geometry.handles(selBox).forEach(function (h) {
        var p = vp.toScreen(h.x, h.y), d = C.geometry.dist(p.x, p.y, sx, sy);
        if (d <= HANDLE_PX && d < bestD) { best = { kind: "handle", shape: selBox, handle: h.name, cursor: h.cursor }; bestD = d; }
      });
      if (best) return best;
    }
    doc.kpsets.forEach(function (set) {
      set.points.forEach(function (pt, i) {
        if (!pt || pt.v === 0) return;
        var p = vp.toScreen(pt.x, pt.y), d = C.geometry.dist(p.x, p.y, sx, sy);
        if (d <= POINT_PX && d < bestD) { best = { kind: "kp", shape: set, index: i }; bestD = d; }
      });
    });
    if (best) return best;
    var polys = doc.polygons.slice();
    if (sel && sel.kind === "poly") polys.sort(function (a) { return a.id === sel.id ? -1 : 0; });
    polys.forEach(function (poly) {
      poly.points.forEach(function (q, i) {
        var p = vp.toScreen(q[0], q[1]), d = C.geometry.dist(p.x, p.y, sx, sy);
        if (d <= HANDLE_PX && d < bestD) { best = { kind: "vertex", shape: poly, index: i }; bestD = d; }
      });
    });
    if (best) return best;
    var ip = vp.toImage(sx, sy), slack = 3 / vp.scale, area = Infinity;
    doc.boxes.forEach(function (b) {
      var grown = { x: b.x - slack, y: b.y - slack, w: b.w + 2 * slack, h: b.h + 2 * slack };
      if (C.geometry.inBox(grown, ip.x, ip.y) && b.w * b.h < area) { best = { kind: "box", shape: b }; area = b.w * b.h; }
    });
    doc.polygons.forEach(function (poly) {
      var a = C.geometry.polygonArea(poly.points);
      if (poly.points.length >= 3 && C.geometry.inPolygon(poly.points, ip.x, ip.y) && a < area) {
        best = { kind: "poly", shape: poly }; area = a;
      }
    });
    return best;
  }

  /** The selection a hit stands for. */
  function selectionOf(hit) {
    if (!hit) return null;
    var kind = hit.kind === "handle" ? "box" : hit.kind === "vertex" ? "poly" : hit.kind;
    var sel = { kind: kind, id: hit.shape.id };
    if (hit.kind === "kp" || hit.kind === "vertex") sel.index = hit.index;
    return sel;
  }

  C.hit = { hitTest: hitTest, selectionOf: selectionOf, HANDLE_PX: HANDLE_PX, POINT_PX: POINT_PX };
})();
