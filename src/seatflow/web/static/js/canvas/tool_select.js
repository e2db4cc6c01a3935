/* Seatflow image view: the select tool (v) and the drags every tool shares: move and resize a box, move a
   landmark, a polygon corner or a whole shape. A drag is one undoable edit; a press that doesn't move
   the pointer by DRAG_PX changes nothing (so a click on a predicted shape leaves it "predicted").    */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var T = (C.tools = C.tools || {});

  var DRAG_PX = 2;

  /** A drag that edits what `hit` points at, starting at point p (see hit.js for hit kinds). */
  function editDrag(ed, hit, p) {
    var before = C.model.snapshot(ed.doc), shape = hit.shape, started = false;
    var startBox = { x: shape.x, y: shape.y, w: shape.w, h: shape.h };
    var startPts = shape.points ? JSON.parse(JSON.stringify(shape.points)) : null;
    var cursor = hit.kind === "handle" ? hit.cursor : "move";
    return {
      cursor: cursor,
      move: function (q) {
        if (!started && C.geometry.dist(p.sx, p.sy, q.sx, q.sy) < DRAG_PX) return;
        started = true;
        var c = ed.clampPoint(q), dx = q.x - p.x, dy = q.y - p.y, s;
        shape.predicted = false;
        if (hit.kind === "handle") {
          Object.assign(shape, C.geometry.resizeBox(startBox, hit.handle, q.x, q.y, ed.W, ed.H, 1));
        } else if (hit.kind === "box") {
          s = C.geometry.clampShift(startBox.x, startBox.y, startBox.x + startBox.w, startBox.y + startBox.h, dx, dy, ed.W, ed.H);
          shape.x = startBox.x + s.dx; shape.y = startBox.y + s.dy;
        } else if (hit.kind === "kp") {
          shape.points[hit.index].x = c.x; shape.points[hit.index].y = c.y;
        } else if (hit.kind === "vertex") {
          shape.points[hit.index] = [c.x, c.y];
        } else if (hit.kind === "poly") {
          var e = C.geometry.extent(startPts);
          s = C.geometry.clampShift(e.minX, e.minY, e.maxX, e.maxY, dx, dy, ed.W, ed.H);
          shape.points = startPts.map(function (q0) { return [q0[0] + s.dx, q0[1] + s.dy]; });
        }
      },
      up: function () { if (started) ed.commit(before); },
    };
  }

  /** Cursor over a hit when editing is possible. */
  function editCursor(hit) {
    if (!hit) return null;
    if (hit.kind === "handle") return hit.cursor;
    return "move";
  }

  T.editDrag = editDrag;
  T.editCursor = editCursor;

  T.select = {
    down: function (ed, p) {
      var hit = C.hit.hitTest(ed.doc, ed.vp, ed.ui.sel, p.sx, p.sy);
      ed.select(C.hit.selectionOf(hit));
      return hit ? editDrag(ed, hit, p) : null;
    },
    cursor: function (ed, p, hover) { return editCursor(hover) || "default"; },
  };
})();
