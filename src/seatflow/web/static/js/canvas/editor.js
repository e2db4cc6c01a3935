/* Seatflow image view: the editor. Owns the annotation (doc), the selection, the tool, undo/redo, the
   viewport and the canvas' pointer input; tools (canvas/tools/*.js) and render.js work on it.          */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  /**
   * opts: {canvas, img, W, H, schema, t, doc, readonly, onEdit(), onUi()}
   * onEdit: the annotation changed (every edit, undo and redo); onUi: tool/selection/zoom changed.
   */
  function Editor(opts) {
    this.canvas = opts.canvas;
    this.ctx2d = this.canvas.getContext("2d");
    this.img = opts.img;
    this.W = opts.W; this.H = opts.H;
    this.schema = opts.schema;
    this.t = opts.t;
    this.doc = opts.doc;
    this.readonly = !!opts.readonly;
    this.onEdit = opts.onEdit || function () {};
    this.onUi = opts.onUi || function () {};
    this.vp = new C.Viewport(this.W, this.H);
    this.history = new C.History();
    var labels = C.model.labelNames(this.schema);
    this.ui = { tool: "select", label: labels[0] || null, sel: null, draft: null, activeSet: null,
                returnTool: null, pointer: null, hover: null, space: false };
    this.drag = null;
    this._frame = 0;
    this._listen();
  }

  Editor.prototype._listen = function () {
    var self = this, cv = this.canvas;
    this._handlers = {
      pointerdown: function (ev) { self._down(ev); },
      pointermove: function (ev) { self._move(ev); },
      pointerup: function (ev) { self._up(ev); },
      pointercancel: function (ev) { self._up(ev); },
      pointerleave: function () { self.ui.pointer = null; self.ui.hover = null; self.requestRender(); },
      wheel: function (ev) { self._wheel(ev); },
      contextmenu: function (ev) { ev.preventDefault(); },
      dblclick: function (ev) { self._dblclick(ev); },
    };
    Object.keys(this._handlers).forEach(function (name) {
      cv.addEventListener(name, self._handlers[name], name === "wheel" ? { passive: false } : false);
    });
    if (window.ResizeObserver) {
      this._ro = new ResizeObserver(function () { self.resize(); });
      this._ro.observe(cv.parentNode);
    }
  };

  Editor.prototype.destroy = function () {
    var self = this;
    Object.keys(this._handlers).forEach(function (name) { self.canvas.removeEventListener(name, self._handlers[name]); });
    if (this._ro) this._ro.disconnect();
    if (this._frame) cancelAnimationFrame(this._frame);
  };

  // --- geometry of the canvas ---------------------------------------------------------------
  Editor.prototype.resize = function () {
    var box = this.canvas.parentNode.getBoundingClientRect();
    if (!box.width || !box.height) return; // prepared off-screen: sized when shown
    var w = Math.max(1, Math.round(box.width)), h = Math.max(1, Math.round(box.height));
    var dpr = window.devicePixelRatio || 1;
    if (w === this.vp.cw && h === this.vp.ch && this._dpr === dpr) return;
    this._dpr = dpr;
    this.canvas.style.width = w + "px"; this.canvas.style.height = h + "px";
    this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
    this.vp.resize(w, h);
    this.renderNow();
    this.onUi();
  };

  Editor.prototype.point = function (ev) {
    var r = this.canvas.getBoundingClientRect();
    var sx = ev.clientX - r.left, sy = ev.clientY - r.top, ip = this.vp.toImage(sx, sy);
    return { sx: sx, sy: sy, x: ip.x, y: ip.y };
  };

  /** An image point where the pointer may be outside the image: clamped into it. */
  Editor.prototype.clampPoint = function (p) {
    return { x: C.geometry.clamp(p.x, 0, this.W), y: C.geometry.clamp(p.y, 0, this.H) };
  };

  // --- pointer input ------------------------------------------------------------------------
  Editor.prototype._down = function (ev) {
    if (this.drag) return;
    var p = this.point(ev);
    this.canvas.focus({ preventScroll: true });
    if (ev.button === 1 || (ev.button === 0 && this.ui.space)) {
      ev.preventDefault();
      this._startPan(p);
    } else if (ev.button === 0 && !this.readonly) {
      var tool = C.tools[this.ui.tool];
      this.drag = tool.down(this, p, ev) || null;
    } else if (ev.button === 0) {
      // read-only (review): a click selects, to show a box's attributes; nothing moves
      this.select(C.hit.selectionOf(C.hit.hitTest(this.doc, this.vp, this.ui.sel, p.sx, p.sy)));
    }
    if (this.drag) this.canvas.setPointerCapture(ev.pointerId);
    this.requestRender();
  };

  Editor.prototype._move = function (ev) {
    var p = this.point(ev);
    this.ui.pointer = p;
    if (this.drag) { this.drag.move(p, ev); }
    else { this.ui.hover = this.readonly ? null : C.hit.hitTest(this.doc, this.vp, this.ui.sel, p.sx, p.sy); }
    this._cursor(p);
    this.requestRender();
  };

  Editor.prototype._up = function (ev) {
    if (!this.drag) return;
    var drag = this.drag;
    this.drag = null;
    if (drag.up) drag.up(this.point(ev), ev);
    this.requestRender();
    this.onUi();
  };

  Editor.prototype._dblclick = function (ev) {
    var tool = C.tools[this.ui.tool];
    if (!this.readonly && tool.dblclick) { tool.dblclick(this, this.point(ev), ev); this.requestRender(); }
  };

  Editor.prototype._wheel = function (ev) {
    ev.preventDefault();
    var p = this.point(ev);
    var dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
    this.vp.zoomAt(Math.exp(-dy * 0.0015), p.sx, p.sy);
    this.requestRender();
    this.onUi();
  };

  Editor.prototype._startPan = function (p) {
    var self = this, last = p;
    this.canvas.style.cursor = "grabbing";
    this.drag = {
      move: function (q) { self.vp.panBy(q.sx - last.sx, q.sy - last.sy); last = q; },
      up: function () { self.onUi(); },
      cursor: "grabbing",
    };
  };

  Editor.prototype._cursor = function (p) {
    var c;
    if (this.drag) c = this.drag.cursor || "grabbing";
    else if (this.ui.space) c = "grab";
    else if (this.readonly) c = "default";
    else c = C.tools[this.ui.tool].cursor(this, p, this.ui.hover);
    if (this.canvas.style.cursor !== c) this.canvas.style.cursor = c;
  };

  Editor.prototype.setSpace = function (down) {
    this.ui.space = down;
    if (this.ui.pointer) this._cursor(this.ui.pointer);
  };

  // --- edits and history --------------------------------------------------------------------
  /** Run fn(doc) as one undoable edit. */
  Editor.prototype.edit = function (fn) {
    var before = C.model.snapshot(this.doc);
    var result = fn(this.doc);
    this.commit(before);
    return result;
  };

  /** Finish an edit that started at snapshot `before` (drags take one before they move anything). */
  Editor.prototype.commit = function (before) {
    if (C.model.snapshot(this.doc) === before) return false;
    this.history.record(before);
    this._edited();
    return true;
  };

  Editor.prototype._edited = function () {
    this._checkSelection();
    this.requestRender();
    this.onEdit();
    this.onUi();
  };

  Editor.prototype.undo = function () {
    if (this.ui.draft) { C.tools.polygon.removeLast(this); return true; }
    var snap = this.history.undo(C.model.snapshot(this.doc));
    if (snap === null) return false;
    this.doc = C.model.restore(snap);
    this._edited();
    return true;
  };

  Editor.prototype.redo = function () {
    var snap = this.history.redo(C.model.snapshot(this.doc));
    if (snap === null) return false;
    this.doc = C.model.restore(snap);
    this._edited();
    return true;
  };

  /** Drop a selection or an active keypoint set whose shape is gone (after undo or delete). */
  Editor.prototype._checkSelection = function () {
    var sel = this.ui.sel;
    if (sel && !C.model.find(this.doc, sel.kind, sel.id)) this.ui.sel = null;
    if (this.ui.activeSet && !C.model.find(this.doc, "kp", this.ui.activeSet)) this.ui.activeSet = null;
  };

  // --- selection, tool, label ---------------------------------------------------------------
  Editor.prototype.select = function (sel) {
    this.ui.sel = sel;
    var shape = sel && C.model.find(this.doc, sel.kind, sel.id);
    if (shape && shape.label && sel.kind !== "kp") this.ui.label = shape.label;
    this.requestRender();
    this.onUi();
  };

  Editor.prototype.selected = function () {
    var sel = this.ui.sel;
    return sel ? C.model.find(this.doc, sel.kind, sel.id) : null;
  };

  Editor.prototype.setTool = function (name) {
    if (this.ui.tool === name) return;
    if (this.ui.tool === "polygon") C.tools.polygon.finish(this);
    if (this.ui.tool === "keypoints") C.tools.keypoints.leave(this);
    this.ui.tool = name;
    this.ui.returnTool = null;
    // in a drawing tool, number keys pick the label for the next shape: they relabel only a shape
    // clicked in that tool, not one that was selected before
    if (this.ui.sel && name !== "select") this.ui.sel.fresh = true;
    if (C.tools[name].enter) C.tools[name].enter(this);
    if (this.ui.pointer) this._cursor(this.ui.pointer);
    this.requestRender();
    this.onUi();
  };

  /** Pick the current label. A box or polygon the worker selected (by clicking it, not by drawing it)
      takes it too, as one undoable edit: "label, then draw" never relabels the shape just drawn.   */
  Editor.prototype.setLabel = function (name) {
    this.ui.label = name;
    var sel = this.ui.sel;
    if (!this.readonly && sel && !sel.fresh && (sel.kind === "box" || sel.kind === "poly")) {
      this.edit(function (doc) {
        var shape = C.model.find(doc, sel.kind, sel.id);
        if (shape.label !== name) { shape.label = name; shape.predicted = false; }
      });
    }
    if (this.ui.draft) this.ui.draft.label = name;
    this.requestRender();
    this.onUi();
  };

  Editor.prototype.setReadonly = function (readonly) {
    this.readonly = !!readonly;
    if (this.readonly) { this.ui.draft = null; this.drag = null; }
    this.requestRender();
    this.onUi();
  };

  // --- drawing ------------------------------------------------------------------------------
  Editor.prototype.requestRender = function () {
    var self = this;
    if (this._frame) return;
    this._frame = requestAnimationFrame(function () { self._frame = 0; self.renderNow(); });
  };

  Editor.prototype.renderNow = function () {
    if (!this.vp.cw) return;
    C.render.draw(this);
  };

  Editor.prototype.zoom = function (factor) { this.vp.zoomCenter(factor); this.requestRender(); this.onUi(); };
  Editor.prototype.fit = function () { this.vp.fit(); this.requestRender(); this.onUi(); };
  Editor.prototype.pan = function (dx, dy) { this.vp.panBy(dx, dy); this.requestRender(); this.onUi(); };

  C.Editor = Editor;
})();
