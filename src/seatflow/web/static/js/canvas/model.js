/* Seatflow image view: the annotation being edited, read from and written to the server's answer shape.

   doc = { seq, boxes: [{id, label, x, y, w, h, attributes, predicted}],
           kpsets: [{id, label, points: [null | {x, y, v}], predicted}],   // null: not placed yet
           polygons: [{id, label, points: [[x, y], ...], predicted}],
           cls, clsPredicted }
   Keypoint visibility v: 0 skipped (not in the image), 1 occluded, 2 visible.                        */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  function has(schema, tool) { return (schema.tools || []).indexOf(tool) >= 0; }
  function pointNames(schema) { return (schema.keypoints && schema.keypoints.names) || []; }
  function labelNames(schema) { return (schema.labels || []).map(function (l) { return l.name; }); }

  function emptyDoc() { return { seq: 0, boxes: [], kpsets: [], polygons: [], cls: null, clsPredicted: false }; }

  function nextId(doc) { doc.seq += 1; return doc.seq; }

  function num(v) { var n = Number(v); return isFinite(n) ? n : 0; }

  /** A doc from an answer (model predictions, an answer under review or to rework); unknown parts are left out. */
  function fromAnswer(answer, schema, predicted) {
    var doc = emptyDoc();
    if (!answer || typeof answer !== "object") return doc;
    var labels = labelNames(schema), names = pointNames(schema);
    (answer.boxes || []).forEach(function (b) {
      if (labels.indexOf(b.label) < 0) return;
      doc.boxes.push({ id: nextId(doc), label: b.label, x: num(b.x), y: num(b.y), w: num(b.w), h: num(b.h),
                       attributes: Object.assign({}, b.attributes || {}), predicted: !!predicted });
    });
    (answer.keypoints || []).forEach(function (k) {
      var pts = names.map(function (_, i) {
        var p = (k.points || [])[i];
        if (!p) return null;
        var v = num(p[2]);
        return v === 0 ? { x: 0, y: 0, v: 0 } : { x: num(p[0]), y: num(p[1]), v: v === 1 ? 1 : 2 };
      });
      var label = k.label != null ? k.label : (schema.keypoints && schema.keypoints.label) || null;
      doc.kpsets.push({ id: nextId(doc), label: label, points: pts, predicted: !!predicted });
    });
    (answer.polygons || []).forEach(function (p) {
      if (labels.indexOf(p.label) < 0) return;
      doc.polygons.push({ id: nextId(doc), label: p.label, predicted: !!predicted,
                          points: (p.points || []).map(function (q) { return [num(q[0]), num(q[1])]; }) });
    });
    var cls = answer["class"];
    if (cls != null && (schema.classes || []).indexOf(cls) >= 0) { doc.cls = cls; doc.clsPredicted = !!predicted; }
    return doc;
  }

  function snapshot(doc) { return JSON.stringify(doc); }
  function restore(snap) { return JSON.parse(snap); }

  function find(doc, kind, id) {
    var list = kind === "box" ? doc.boxes : kind === "kp" ? doc.kpsets : kind === "poly" ? doc.polygons : [];
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return null;
  }

  function remove(doc, kind, id) {
    var key = kind === "box" ? "boxes" : kind === "kp" ? "kpsets" : "polygons";
    doc[key] = doc[key].filter(function (s) { return s.id !== id; });
  }

  /** The names of the points of `set` that are neither placed nor skipped. */
  function missingPoints(set, schema) {
    var names = pointNames(schema);
    return set.points.map(function (p, i) { return p ? null : names[i]; }).filter(function (n) { return n; });
  }

  function fail(message) { throw new Error(message); }

  /** The answer exactly as the server takes it; throws Error(translated) naming what is missing. */
  function toAnswer(doc, schema, W, H, t) {
    var r = C.geometry.round1, c = C.geometry.clamp;
    doc.kpsets.forEach(function (set, i) {
      var missing = missingPoints(set, schema);
      if (missing.length) {
        fail(t("Keypoints incomplete (set {n}): place or skip {names}.", { n: i + 1, names: missing.join(", ") }));
      }
    });
    if (has(schema, "classify") && doc.cls == null) fail(t("Choose a class for the whole image."));
    var attrDefs = (schema.attributes || []).map(function (a) { return a.name; });
    var boxes = doc.boxes.map(function (b, i) {
      var x1 = r(c(b.x, 0, W)), y1 = r(c(b.y, 0, H)), x2 = r(c(b.x + b.w, 0, W)), y2 = r(c(b.y + b.h, 0, H));
      if (x2 - x1 <= 0 || y2 - y1 <= 0) fail(t("Box {n} ({label}) has no size; draw it again.", { n: i + 1, label: b.label }));
      var attributes = {};
      attrDefs.forEach(function (name) {
        if (b.attributes && b.attributes[name] !== undefined && b.attributes[name] !== "") attributes[name] = b.attributes[name];
      });
      return { label: b.label, x: x1, y: y1, w: r(x2 - x1), h: r(y2 - y1), attributes: attributes };
    });
    var kpLabel = schema.keypoints && schema.keypoints.label;
    var keypoints = doc.kpsets.map(function (set) {
      var out = { points: set.points.map(function (p) {
        return p.v === 0 ? [0, 0, 0] : [r(c(p.x, 0, W)), r(c(p.y, 0, H)), p.v];
      }) };
      if (kpLabel) out.label = kpLabel;
      return out;
    });
    var polygons = doc.polygons.map(function (poly, i) {
      if (poly.points.length < 3) fail(t("Polygon {n} ({label}) needs at least 3 points.", { n: i + 1, label: poly.label }));
      return { label: poly.label, points: poly.points.map(function (p) { return [r(c(p[0], 0, W)), r(c(p[1], 0, H))]; }) };
    });
    return { boxes: boxes, keypoints: keypoints, polygons: polygons, "class": doc.cls };
  }

  C.model = {
    has: has, pointNames: pointNames, labelNames: labelNames, emptyDoc: emptyDoc, nextId: nextId,
    fromAnswer: fromAnswer, toAnswer: toAnswer, snapshot: snapshot, restore: restore, find: find,
    remove: remove, missingPoints: missingPoints,
  };
})();
