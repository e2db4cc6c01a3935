/* Seatflow image view: draws the image and the annotation on the 2D canvas. Shapes are drawn in screen
   space (devicePixelRatio-sharp lines whatever the zoom): a dark halo under every stroke keeps it
   visible on light and dark photos; handles are white squares with a dark edge.                       */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  var HALO = "rgba(8, 12, 20, .6)";
  var INK = "#0b1220";
  var FONT = "600 12px system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Noto Sans', sans-serif";
  var SMALL = "600 11px system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Noto Sans', sans-serif";
  var PREDICTED_DASH = [7, 4];
  var NAMES_PX = 90;

  function crisp(v) { return Math.round(v) + 0.5; }

  function haloStroke(g, width, color, dash) {
    g.setLineDash([]);
    g.lineWidth = width + 2.5; g.strokeStyle = HALO; g.stroke();
    g.setLineDash(dash || []);
    g.lineWidth = width; g.strokeStyle = color; g.stroke();
    g.setLineDash([]);
  }

  /** A rounded label chip with its top-left corner at (x, y) (top-right with `toLeft`); returns its width. */
  function chip(g, text, x, y, bg, fg, font, toLeft) {
    g.font = font || FONT;
    var w = Math.ceil(g.measureText(text).width) + 12, h = 18;
    if (toLeft) x -= w;
    g.beginPath();
    if (g.roundRect) g.roundRect(x, y, w, h, 4); else g.rect(x, y, w, h);
    g.fillStyle = bg; g.fill();
    g.lineWidth = 1; g.strokeStyle = "rgba(8, 12, 20, .35)"; g.stroke();
    g.fillStyle = fg; g.textBaseline = "middle";
    g.fillText(text, x + 6, y + h / 2 + 0.5);
    return w;
  }

  function square(g, x, y, size) {
    g.beginPath();
    g.rect(crisp(x - size / 2) - 0.5, crisp(y - size / 2) - 0.5, size, size);
    g.fillStyle = "#ffffff"; g.fill();
    g.lineWidth = 1.5; g.strokeStyle = INK; g.stroke();
  }

  function shapeChip(ed, g, shape, sx, sy, color) {
    var text = shape.label + (shape.predicted ? " · " + ed.t("predicted") : "");
    var y = sy - 21 < 2 ? sy + 3 : sy - 21;
    if (shape.predicted) chip(g, text, sx, y, "#ffffff", INK);
    else chip(g, text, sx, y, color, C.geometry.textOn(color));
  }

  /** A box; its chip and handles go to `later` (drawn over every shape, so no line crosses a label). */
  function drawBox(ed, g, b, selected, hovered, later) {
    var vp = ed.vp, p = vp.toScreen(b.x, b.y), color = C.geometry.labelColor(ed.schema, b.label);
    var x = crisp(p.x), y = crisp(p.y), w = Math.round(b.w * vp.scale), h = Math.round(b.h * vp.scale);
    g.beginPath(); g.rect(x, y, w, h);
    g.fillStyle = C.geometry.rgba(color, selected ? 0.16 : hovered ? 0.12 : 0.06); g.fill();
    haloStroke(g, selected || hovered ? 2.5 : 2, color, b.predicted ? PREDICTED_DASH : null);
    later.chips.push(function () { shapeChip(ed, g, b, x - 1, y, color); });
    if (selected && !ed.readonly) {
      later.handles.push(function () {
        C.geometry.handles(b).forEach(function (hd) { var q = vp.toScreen(hd.x, hd.y); square(g, q.x, q.y, 9); });
      });
    }
  }

  function polyPath(g, vp, points, close) {
    g.beginPath();
    points.forEach(function (q, i) { var p = vp.toScreen(q[0], q[1]); if (i) g.lineTo(p.x, p.y); else g.moveTo(p.x, p.y); });
    if (close) g.closePath();
  }

  function drawPolygon(ed, g, poly, selected, hovered, later) {
    var vp = ed.vp, color = C.geometry.labelColor(ed.schema, poly.label);
    polyPath(g, vp, poly.points, true);
    g.fillStyle = C.geometry.rgba(color, selected ? 0.22 : hovered ? 0.17 : 0.12); g.fill();
    haloStroke(g, selected || hovered ? 2.5 : 2, color, poly.predicted ? PREDICTED_DASH : null);
    var top = poly.points.reduce(function (a, q) { return q[1] < a[1] ? q : a; }, poly.points[0]);
    if (top) { var tp = vp.toScreen(top[0], top[1]); later.chips.push(function () { shapeChip(ed, g, poly, tp.x - 8, tp.y - 4, color); }); }
    if (selected && !ed.readonly) {
      later.handles.push(function () {
        poly.points.forEach(function (q) { var p = vp.toScreen(q[0], q[1]); square(g, p.x, p.y, 8); });
      });
    }
  }

  /** left_eye--right_eye, mouth_left--mouth_right: the pairs of a simple skeleton. */
  function skeletonPairs(names) {
    var pairs = [];
    names.forEach(function (a, i) {
      if (!/left/i.test(a)) return;
      var j = names.indexOf(a.replace("left", "right").replace("Left", "Right").replace("LEFT", "RIGHT"));
      if (j >= 0) pairs.push([i, j]);
    });
    return pairs;
  }

  /** A landmark set. Names are shown where there is room: on a set at least NAMES_PX across on
      screen, on the set being placed or selected, and on the landmark under the pointer. */
  function drawKeypoints(ed, g, set, active, selIndex, hoverIndex) {
    var vp = ed.vp, names = C.model.pointNames(ed.schema);
    var shown = set.points.filter(function (pt) { return pt && pt.v; });
    var cx = shown.reduce(function (a, pt) { return a + pt.x; }, 0) / (shown.length || 1);
    var ext = C.geometry.extent(shown.map(function (pt) { return [pt.x, pt.y]; }));
    var roomy = shown.length > 0 && Math.max(ext.maxX - ext.minX, ext.maxY - ext.minY) * vp.scale >= NAMES_PX;
    skeletonPairs(names).forEach(function (pr) {
      var a = set.points[pr[0]], b = set.points[pr[1]];
      if (!a || !b || !a.v || !b.v) return;
      var pa = vp.toScreen(a.x, a.y), pb = vp.toScreen(b.x, b.y);
      g.beginPath(); g.moveTo(pa.x, pa.y); g.lineTo(pb.x, pb.y);
      haloStroke(g, 1.5, "rgba(255, 255, 255, .85)", set.predicted ? PREDICTED_DASH : [4, 3]);
    });
    set.points.forEach(function (pt, i) {
      if (!pt || !pt.v) return;
      var p = vp.toScreen(pt.x, pt.y), color = C.geometry.pointColor(i), r = i === selIndex ? 7 : 5;
      g.beginPath(); g.arc(p.x, p.y, r + 2, 0, Math.PI * 2);
      g.fillStyle = HALO; g.fill();
      g.beginPath(); g.arc(p.x, p.y, r, 0, Math.PI * 2);
      g.fillStyle = pt.v === 1 ? "rgba(11, 18, 32, .7)" : color; g.fill();
      g.lineWidth = pt.v === 1 ? 2.5 : 1.75;
      g.strokeStyle = pt.v === 1 ? color : "#ffffff";
      g.setLineDash(set.predicted ? [3, 2] : []); g.stroke(); g.setLineDash([]);
      if (i === selIndex) { g.beginPath(); g.arc(p.x, p.y, r + 4, 0, Math.PI * 2); g.lineWidth = 1.5; g.strokeStyle = "#ffffff"; g.stroke(); }
      if (roomy || active || i === selIndex || i === hoverIndex) {
        var text = names[i] + (pt.v === 1 ? " · " + ed.t("occluded") : "");
        // names point away from the middle of the set, so neighbours (mouth corners) don't overlap
        var left = shown.length > 1 && pt.x < cx;
        chip(g, text, left ? p.x - r - 4 : p.x + r + 4, p.y - 9, "rgba(11, 18, 32, .78)", "#ffffff", SMALL, left);
      }
    });
  }

  function drawDraft(ed, g) {
    var d = ed.ui.draft, vp = ed.vp;
    if (!d) return;
    var color = C.geometry.labelColor(ed.schema, d.label), pts = d.points.slice();
    if (ed.ui.pointer && !ed.drag) pts.push([ed.ui.pointer.x, ed.ui.pointer.y]);
    polyPath(g, vp, pts, false);
    haloStroke(g, 2, color);
    d.points.forEach(function (q, i) {
      var p = vp.toScreen(q[0], q[1]);
      g.beginPath(); g.arc(p.x, p.y, i === 0 && d.points.length >= 3 ? 6 : 4, 0, Math.PI * 2);
      g.fillStyle = i === 0 ? color : "#ffffff"; g.fill();
      g.lineWidth = 1.5; g.strokeStyle = INK; g.stroke();
    });
  }

  function drawGhost(ed, g) {
    var r = ed.ui.ghost, vp = ed.vp;
    if (!r) return;
    var color = C.geometry.labelColor(ed.schema, ed.ui.label), p = vp.toScreen(r.x, r.y);
    g.beginPath(); g.rect(crisp(p.x), crisp(p.y), Math.round(r.w * vp.scale), Math.round(r.h * vp.scale));
    g.fillStyle = C.geometry.rgba(color, 0.12); g.fill();
    haloStroke(g, 2, color);
    var size = Math.round(r.w) + " × " + Math.round(r.h);
    chip(g, size, p.x + r.w * vp.scale + 6, p.y + r.h * vp.scale + 4, "rgba(11, 18, 32, .78)", "#ffffff", SMALL);
  }

  /** Thin guide lines through the pointer while drawing boxes: easier to meet the object's edges. */
  function drawGuides(ed, g) {
    var p = ed.ui.pointer;
    if (!p || ed.readonly || ed.ui.space || ed.ui.tool !== "box" || (ed.drag && !ed.ui.ghost)) return;
    if (!ed.drag && ed.ui.hover && ed.ui.hover.kind === "handle") return;
    g.beginPath();
    g.moveTo(0, crisp(p.sy)); g.lineTo(ed.vp.cw, crisp(p.sy));
    g.moveTo(crisp(p.sx), 0); g.lineTo(crisp(p.sx), ed.vp.ch);
    g.lineWidth = 1; g.strokeStyle = "rgba(255, 255, 255, .45)"; g.setLineDash([4, 4]); g.stroke(); g.setLineDash([]);
  }

  function draw(ed) {
    var g = ed.ctx2d, vp = ed.vp, dpr = ed._dpr || 1, doc = ed.doc, sel = ed.ui.sel, hover = ed.ui.hover;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, vp.cw, vp.ch);
    var x = vp.ox, y = vp.oy, w = ed.W * vp.scale, h = ed.H * vp.scale;
    g.fillStyle = "#0d1117"; g.fillRect(x - 1, y - 1, w + 2, h + 2);
    if (ed.img) {
      g.imageSmoothingEnabled = vp.scale < 2;
      g.imageSmoothingQuality = "high";
      g.drawImage(ed.img, x, y, w, h);
    }
    function isSel(kind, s) { return !!sel && sel.kind === kind && sel.id === s.id; }
    function isHover(s) { return !!hover && hover.shape === s; }
    var later = { chips: [], handles: [] };
    doc.polygons.forEach(function (p) { if (!isSel("poly", p)) drawPolygon(ed, g, p, false, isHover(p), later); });
    doc.boxes.forEach(function (b) { if (!isSel("box", b)) drawBox(ed, g, b, false, isHover(b), later); });
    var selected = ed.selected();
    if (selected && sel.kind === "poly") drawPolygon(ed, g, selected, true, false, later);
    if (selected && sel.kind === "box") drawBox(ed, g, selected, true, false, later);
    later.chips.forEach(function (fn) { fn(); });
    doc.kpsets.forEach(function (set) {
      var next = ed.ui.tool === "keypoints" && !ed.readonly ? C.tools.keypoints.target(ed).set : null;
      var active = set.id === ed.ui.activeSet || isSel("kp", set) || (!!next && next.id === set.id);
      var hovered = hover && hover.kind === "kp" && hover.shape === set ? hover.index : -1;
      drawKeypoints(ed, g, set, active, isSel("kp", set) ? sel.index : -1, hovered);
    });
    later.handles.forEach(function (fn) { fn(); });
    drawDraft(ed, g);
    drawGhost(ed, g);
    drawGuides(ed, g);
  }

  C.render = { draw: draw, skeletonPairs: skeletonPairs };
})();
