/* Seatflow image view: a tiny DOM helper (no framework). */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  /** h("button.tool", {type: "button", onclick: fn}, "text", child, ...) */
  function h(spec, attrs) {
    var parts = spec.split(".");
    var el = document.createElement(parts[0] || "div");
    if (parts.length > 1) el.className = parts.slice(1).join(" ");
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "style") el.style.cssText = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) {
        el.appendChild(typeof x === "string" ? document.createTextNode(x) : x);
      });
    }
    return el;
  }

  function kbd(text) { return h("kbd.imgv-key", null, text); }

  /** True when a key press is typing into a field (the view then leaves it alone). */
  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
    return tag === "INPUT" && ["checkbox", "radio", "button"].indexOf(target.type) < 0;
  }

  /** A focused form control or button: it keeps Space and the arrow keys for itself. */
  function isControl(target) {
    return !!target && ["INPUT", "SELECT", "TEXTAREA", "BUTTON", "A"].indexOf(target.tagName) >= 0;
  }

  C.dom = { h: h, kbd: kbd, isTyping: isTyping, isControl: isControl };
})();
