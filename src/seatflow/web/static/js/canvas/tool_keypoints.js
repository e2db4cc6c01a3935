/* Seatflow image view: the keypoints tool (k). Landmarks come in the schema's fixed order: the view
   prompts the next name, a click places it (hold and drag to adjust), x skips it (not in the image),
   o marks the selected one occluded. A set is complete when every name is placed or skipped; the next
   click starts a new set.                                                                              */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var T = (C.tools = C.tools || {});

  /** {set (or null for a new one), index, name, total} of the next landmark to place: in the active
      set, else in the first set that is not complete (after an undo, say), else in a new set. */
  function target(ed) {
    var names = C.model.pointNames(ed.schema);
    var set = ed.ui.activeSet ? C.model.find(ed.doc, "kp", ed.ui.activeSet) : null;
    if (!set || set.points.indexOf(null) < 0) {
      set = ed.doc.kpsets.filter(function (k) { return k.points.indexOf(null) >= 0; })[0] || null;
    }
    var index = set ? set.points.indexOf(null) : 0;
    return { set: set, index: index, name: names[index], total: names.length };
  }

  function newSet(ed, doc) {
    var kp = ed.schema.keypoints || {};
    var set = { id: C.model.nextId(doc), label: kp.label || null, predicted: false,
                points: C.model.pointNames(ed.schema).map(function () { return null; }) };
    doc.kpsets.push(set);
    return set;
  }

  /** After a landmark was placed or skipped: close a complete set, go back to boxes after a face box. */
  function advance(ed, setId) {
    var set = C.model.find(ed.doc, "kp", setId);
    if (set && set.points.indexOf(null) >= 0) { ed.ui.activeSet = setId; return; }
    ed.ui.activeSet = null;
    if (ed.ui.returnTool) ed.setTool(ed.ui.returnTool);
  }

  /** Put the next landmark at image point c as a part of the edit started at `before`. */
  function place(ed, c) {
    var tg = target(ed), doc = ed.doc;
    var set = tg.set ? C.model.find(doc, "kp", tg.set.id) : newSet(ed, doc);
    set.points[tg.index] = { x: c.x, y: c.y, v: 2 };
    set.predicted = false;
    ed.ui.activeSet = set.id;
    ed.select({ kind: "kp", id: set.id, index: tg.index });
    return set;
  }

  T.keypoints = {
    target: target,

    down: function (ed, p) {
      var hit = C.hit.hitTest(ed.doc, ed.vp, ed.ui.sel, p.sx, p.sy);
      if (hit && hit.kind === "kp") {
        ed.select(C.hit.selectionOf(hit));
        return T.editDrag(ed, hit, p);
      }
      if (!C.model.pointNames(ed.schema).length) return null;
      var before = C.model.snapshot(ed.doc);
      var set = place(ed, ed.clampPoint(p));
      var index = ed.ui.sel.index;
      return {
        cursor: "crosshair",
        move: function (q) {
          var c = ed.clampPoint(q);
          set.points[index].x = c.x; set.points[index].y = c.y;
        },
        up: function () { ed.commit(before); advance(ed, set.id); },
      };
    },

    /** x: the next landmark is not in the image (visibility 0). */
    skip: function (ed) {
      var tg = target(ed);
      if (!tg.name) return false;
      var id = ed.edit(function (doc) {
        var set = tg.set ? C.model.find(doc, "kp", tg.set.id) : newSet(ed, doc);
        set.points[tg.index] = { x: 0, y: 0, v: 0 };
        set.predicted = false;
        return set.id;
      });
      advance(ed, id);
      return true;
    },

    /** o: the selected landmark (else the last one placed) switches between visible and occluded. */
    toggleOccluded: function (ed) {
      var sel = ed.ui.sel, set, index = -1;
      if (sel && sel.kind === "kp") { set = C.model.find(ed.doc, "kp", sel.id); index = sel.index; }
      if (!set) return false;
      var pt = set.points[index];
      if (!pt || pt.v === 0) return false;
      ed.edit(function (doc) {
        var s = C.model.find(doc, "kp", set.id);
        s.points[index].v = s.points[index].v === 1 ? 2 : 1;
        s.predicted = false;
      });
      return true;
    },

    /** Delete on a landmark: take it back (the prompt asks for it again); an empty set goes away. */
    unplace: function (ed) {
      var sel = ed.ui.sel;
      if (!sel || sel.kind !== "kp") return false;
      ed.edit(function (doc) {
        var s = C.model.find(doc, "kp", sel.id);
        s.points[sel.index] = null;
        s.predicted = false;
        var left = s.points.some(function (pt) { return pt; });
        if (left) ed.ui.activeSet = s.id;
        else C.model.remove(doc, "kp", s.id);
      });
      ed.select(null);
      return true;
    },

    /** Ask for landmark `index` of set `setId` again (from the side panel): it is taken back and prompted. */
    replace: function (ed, setId, index) {
      ed.edit(function (doc) {
        var s = C.model.find(doc, "kp", setId);
        s.points[index] = null;
        s.predicted = false;
      });
      ed.setTool("keypoints");
      ed.ui.activeSet = setId;
      ed.select({ kind: "kp", id: setId, index: index });
    },

    /** Delete the whole set of the selected landmark. */
    removeSet: function (ed) {
      var sel = ed.ui.sel;
      if (!sel || sel.kind !== "kp") return false;
      ed.edit(function (doc) { C.model.remove(doc, "kp", sel.id); });
      ed.select(null);
      return true;
    },

    leave: function (ed) {
      var tg = target(ed);
      if (!tg.set) ed.ui.activeSet = null;
    },

    cursor: function (ed, p, hover) { return hover && hover.kind === "kp" ? "move" : "crosshair"; },
  };
})();
