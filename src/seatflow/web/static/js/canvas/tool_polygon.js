/* Seatflow image view: the polygon tool (p). Clicks add corners; a click on the first corner, a double
   click or c closes the polygon; Backspace (and ctrl+z) takes back the last corner while drawing.
   Without a polygon in progress, corners of the selected polygon and landmarks can be dragged.        */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var T = (C.tools = C.tools || {});

  var CLOSE_PX = 9; // a click this near the first corner closes the polygon
  var SAME_PX = 4; // the second press of a double click adds no corner

  function nearFirst(ed, p) {
    var d = ed.ui.draft;
    if (!d || d.points.length < 3) return false;
    var f = ed.vp.toScreen(d.points[0][0], d.points[0][1]);
    return C.geometry.dist(f.x, f.y, p.sx, p.sy) <= CLOSE_PX;
  }

  var polygon = {
    down: function (ed, p) {
      var d = ed.ui.draft;
      if (!d) {
        var hit = C.hit.hitTest(ed.doc, ed.vp, ed.ui.sel, p.sx, p.sy);
        if (hit && (hit.kind === "kp" || (hit.kind === "vertex" && ed.ui.sel && ed.ui.sel.id === hit.shape.id))) {
          ed.select(C.hit.selectionOf(hit));
          return T.editDrag(ed, hit, p);
        }
        if (!ed.ui.label) return null;
        ed.select(null);
        var c0 = ed.clampPoint(p);
        ed.ui.draft = { label: ed.ui.label, points: [[c0.x, c0.y]] };
        ed.onUi();
        return null;
      }
      if (nearFirst(ed, p)) { polygon.finish(ed); return null; }
      var last = ed.vp.toScreen(d.points[d.points.length - 1][0], d.points[d.points.length - 1][1]);
      if (C.geometry.dist(last.x, last.y, p.sx, p.sy) <= SAME_PX) return null;
      var c = ed.clampPoint(p);
      d.points.push([c.x, c.y]);
      ed.onUi();
      return null;
    },

    dblclick: function (ed) { if (ed.ui.draft && ed.ui.draft.points.length >= 3) polygon.finish(ed); },

    /** Close the polygon in progress (3 corners or more); a shorter one is dropped. */
    finish: function (ed) {
      var d = ed.ui.draft;
      ed.ui.draft = null;
      if (!d || d.points.length < 3) { ed.onUi(); ed.requestRender(); return false; }
      var poly = ed.edit(function (doc) {
        var np = { id: C.model.nextId(doc), label: d.label, points: d.points, predicted: false };
        doc.polygons.push(np);
        return np;
      });
      ed.select({ kind: "poly", id: poly.id, fresh: true });
      return true;
    },

    removeLast: function (ed) {
      var d = ed.ui.draft;
      if (!d) return false;
      d.points.pop();
      if (!d.points.length) ed.ui.draft = null;
      ed.requestRender();
      ed.onUi();
      return true;
    },

    cursor: function (ed, p, hover) {
      if (nearFirst(ed, p)) return "pointer";
      if (!ed.ui.draft && hover && (hover.kind === "kp" || (hover.kind === "vertex" && ed.ui.sel && ed.ui.sel.id === hover.shape.id))) {
        return "move";
      }
      return "crosshair";
    },
  };

  T.polygon = polygon;
})();
