/* Seatflow image view: zoom and pan. Maps image pixels to CSS pixels of the canvas and back. */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  var PAD = 16; // CSS px around the fitted image
  var PAD_TOP = 50; // room for the prompt above the image
  var MAX_SCALE = 32;

  /** Image W x H shown in a canvas of cw x ch CSS pixels: screen = offset + image * scale. */
  function Viewport(W, H) {
    this.W = W; this.H = H;
    this.cw = 0; this.ch = 0;
    this.scale = 1; this.ox = 0; this.oy = 0;
    this.fitted = true; // follows the canvas size until the worker zooms or pans
  }

  Viewport.prototype.fitScale = function () {
    var s = Math.min((this.cw - 2 * PAD) / this.W, (this.ch - PAD - PAD_TOP) / this.H);
    return s > 0 ? s : 1;
  };

  Viewport.prototype.fit = function () {
    this.scale = this.fitScale();
    this.ox = (this.cw - this.W * this.scale) / 2;
    this.oy = PAD_TOP + (this.ch - PAD - PAD_TOP - this.H * this.scale) / 2;
    this.fitted = true;
  };

  /** The canvas changed size: refit, or keep the same image point in the middle. */
  Viewport.prototype.resize = function (cw, ch) {
    var mid = this.cw ? this.toImage(this.cw / 2, this.ch / 2) : null;
    this.cw = cw; this.ch = ch;
    if (this.fitted || !mid) { this.fit(); return; }
    this.ox = cw / 2 - mid.x * this.scale;
    this.oy = ch / 2 - mid.y * this.scale;
  };

  Viewport.prototype.toScreen = function (x, y) { return { x: this.ox + x * this.scale, y: this.oy + y * this.scale }; };
  Viewport.prototype.toImage = function (sx, sy) { return { x: (sx - this.ox) / this.scale, y: (sy - this.oy) / this.scale }; };

  /** Zoom by `factor` keeping the image point under (sx, sy) where it is. */
  Viewport.prototype.zoomAt = function (factor, sx, sy) {
    var min = this.fitScale() / 4;
    var scale = Math.min(MAX_SCALE, Math.max(min, this.scale * factor));
    var p = this.toImage(sx, sy);
    this.scale = scale;
    this.ox = sx - p.x * scale;
    this.oy = sy - p.y * scale;
    this.fitted = false;
  };

  Viewport.prototype.zoomCenter = function (factor) { this.zoomAt(factor, this.cw / 2, this.ch / 2); };

  Viewport.prototype.panBy = function (dx, dy) {
    this.ox += dx; this.oy += dy;
    this.fitted = false;
  };

  /** Zoom as a percentage of the image's own pixels. */
  Viewport.prototype.percent = function () { return Math.round(this.scale * 100); };

  C.Viewport = Viewport;
})();
