/* Seatflow image view: the box tool (b). Drag draws a box with the current label; the handles of the
   selected box resize it, landmarks can be dragged; a click selects what is under it. A new box with
   the keypoints' label (e.g. "face") goes straight on to its landmarks, then back to boxes.          */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var T = (C.tools = C.tools || {});

  var MIN_PX = 4; // a drag shorter than this (screen pixels) is a click

  function editable(hit) { return hit && (hit.kind === "handle" || hit.kind === "kp"); }

  T.box = {
    down: function (ed, p) {
      var hit = C.hit.hitTest(ed.doc, ed.vp, ed.ui.sel, p.sx, p.sy);
      if (editable(hit)) {
        ed.select(C.hit.selectionOf(hit));
        return T.editDrag(ed, hit, p);
      }
      var a = ed.clampPoint(p);
      return {
        cursor: "crosshair",
        move: function (q) {
          var b = ed.clampPoint(q);
          ed.ui.ghost = C.geometry.rectFrom(a.x, a.y, b.x, b.y, ed.W, ed.H);
        },
        up: function (q) {
          ed.ui.ghost = null;
          var b = ed.clampPoint(q), r = C.geometry.rectFrom(a.x, a.y, b.x, b.y, ed.W, ed.H);
          if (r.w * ed.vp.scale < MIN_PX || r.h * ed.vp.scale < MIN_PX || !ed.ui.label) {
            ed.select(C.hit.selectionOf(hit)); // a click
            return;
          }
          var label = ed.ui.label;
          var box = ed.edit(function (doc) {
            var nb = { id: C.model.nextId(doc), label: label, x: r.x, y: r.y, w: r.w, h: r.h, attributes: {}, predicted: false };
            doc.boxes.push(nb);
            return nb;
          });
          ed.select({ kind: "box", id: box.id, fresh: true });
          var kp = ed.schema.keypoints;
          if (kp && kp.label && kp.label === label && C.model.has(ed.schema, "keypoints")) {
            ed.setTool("keypoints");
            ed.ui.activeSet = null; // the next click starts the landmarks of this box
            ed.ui.returnTool = "box";
          }
        },
      };
    },
    cursor: function (ed, p, hover) { return (editable(hover) && T.editCursor(hover)) || "crosshair"; },
  };
})();
