/* Seatflow image view: the keyboard. Which key does what for a schema, the handler, and the cheat sheet.
   Keys the workspace core owns are never taken: Enter, ?, i, Escape, and a/r/f in review mode.        */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  var CORE_KEYS = ["enter", "?", "i", "escape"];
  var REVIEW_KEYS = ["a", "r", "f"];
  var TOOL_KEYS = { v: "select", b: "box", k: "keypoints", p: "polygon" };
  var TOOL_OF_SCHEMA = { box: "bbox", keypoints: "keypoints", polygon: "polygon" };
  var PAN_PX = 80;

  /** The tools this schema offers, in toolbar order. */
  function tools(schema) {
    return ["select", "box", "keypoints", "polygon"].filter(function (name) {
      return name === "select" || C.model.has(schema, TOOL_OF_SCHEMA[name]);
    });
  }

  /**
   * map = {labels: [{name, digit, letter}], classes: [{name, key}], tools: {letter: tool},
   *        reserved: [...], labelsOnDigits}
   * Digits pick labels when boxes or polygons are drawn, else classes; with labels on the digits,
   * Shift+digit picks the class. A label's own letter (schema `key`) wins over a tool letter.
   */
  function keymap(schema, mode) {
    var reserved = CORE_KEYS.concat(mode === "review" ? REVIEW_KEYS : []);
    var labelsOnDigits = C.model.has(schema, "bbox") || C.model.has(schema, "polygon");
    var labels = (labelsOnDigits ? schema.labels || [] : []).map(function (l, i) {
      var letter = l.key && reserved.indexOf(l.key.toLowerCase()) < 0 ? l.key.toLowerCase() : null;
      return { name: l.name, digit: i < 9 ? String(i + 1) : null, letter: letter };
    });
    var taken = labels.map(function (l) { return l.letter; });
    var toolKeys = {};
    tools(schema).forEach(function (tool) {
      Object.keys(TOOL_KEYS).forEach(function (k) {
        if (TOOL_KEYS[k] === tool && taken.indexOf(k) < 0) toolKeys[k] = tool;
      });
    });
    var classes = (C.model.has(schema, "classify") ? schema.classes || [] : []).map(function (name, i) {
      return { name: name, digit: i < 9 ? String(i + 1) : null, shift: labelsOnDigits };
    });
    return { labels: labels, classes: classes, tools: toolKeys, reserved: reserved, labelsOnDigits: labelsOnDigits };
  }

  function digitOf(ev) {
    var m = /^(?:Digit|Numpad)([1-9])$/.exec(ev.code || "");
    if (m) return m[1];
    return /^[1-9]$/.test(ev.key) ? ev.key : null;
  }

  /** Handle a keydown; true when the view used it. `actions` = {setClass(name)} from the view. */
  function handle(ed, map, ev, actions) {
    var key = (ev.key || "").toLowerCase();
    if (C.dom.isTyping(ev.target) || map.reserved.indexOf(key) >= 0 || ev.altKey) return false;
    if (ev.ctrlKey || ev.metaKey) {
      if (ed.readonly || ed.drag) return false;
      if (key === "z" && !ev.shiftKey) return ed.undo() || true;
      if ((key === "z" && ev.shiftKey) || key === "y") return ed.redo() || true;
      return false;
    }
    // viewing: allowed in review (read-only) too. Space and arrows stay with a focused control
    // (a checkbox, a radio group of classes, a button), so the side panel works by keyboard.
    var onControl = C.dom.isControl(ev.target);
    if (key === " ") { if (onControl) return false; ed.setSpace(true); return true; }
    if (key === "+" || key === "=") { ed.zoom(1.25); return true; }
    if (key === "-" || key === "_") { ed.zoom(0.8); return true; }
    if (key === "0" && !ev.shiftKey) { ed.fit(); return true; }
    var step = ev.shiftKey ? PAN_PX * 4 : PAN_PX;
    var pans = { arrowleft: [step, 0], arrowright: [-step, 0], arrowup: [0, step], arrowdown: [0, -step] };
    if (pans[key]) { if (onControl) return false; ed.pan(pans[key][0], pans[key][1]); return true; }
    if (ed.readonly || ed.drag) return false;

    var digit = digitOf(ev);
    if (digit) {
      var i = Number(digit) - 1;
      if (map.labelsOnDigits && !ev.shiftKey) {
        if (!map.labels[i]) return false;
        ed.setLabel(map.labels[i].name);
        return true;
      }
      if (!map.classes[i] || ev.shiftKey !== map.classes[i].shift) return false;
      actions.setClass(map.classes[i].name);
      return true;
    }
    if (key === "delete" || key === "backspace") return remove(ed, ev);
    if (ev.shiftKey || key.length !== 1) return false;
    for (var j = 0; j < map.labels.length; j++) {
      if (map.labels[j].letter === key) { ed.setLabel(map.labels[j].name); return true; }
    }
    if (map.tools[key]) { ed.setTool(map.tools[key]); return true; }
    if (key === "c" && ed.ui.tool === "polygon") { C.tools.polygon.finish(ed); return true; }
    if (key === "x" && ed.ui.tool === "keypoints") return C.tools.keypoints.skip(ed);
    if (key === "o") return C.tools.keypoints.toggleOccluded(ed);
    return false;
  }

  /** Delete/Backspace: the last corner of a polygon in progress, else the selection. */
  function remove(ed, ev) {
    if (ed.ui.draft) return C.tools.polygon.removeLast(ed);
    var sel = ed.ui.sel;
    if (!sel) return false;
    if (sel.kind === "kp") return ev.shiftKey ? C.tools.keypoints.removeSet(ed) : C.tools.keypoints.unplace(ed);
    ed.edit(function (doc) { C.model.remove(doc, sel.kind, sel.id); });
    ed.select(null);
    return true;
  }

  /** The cheat sheet rows (translated) for this schema. */
  function help(map, schema, t) {
    var rows = [], names = { select: t("Select, move and resize shapes"), box: t("Draw boxes"),
                             keypoints: t("Place keypoints in their order"), polygon: t("Draw polygons") };
    Object.keys(map.tools).forEach(function (k) { rows.push({ key: k.toUpperCase(), help: names[map.tools[k]] }); });
    if (map.labels.length) rows.push({ key: "1–" + Math.min(9, map.labels.length), help: t("Pick the label (the selected shape takes it too)") });
    map.labels.forEach(function (l) {
      if (l.letter) rows.push({ key: l.letter.toUpperCase(), help: t("Label: {name}", { name: l.name }) });
    });
    if (map.classes.length) {
      var n = Math.min(9, map.classes.length);
      rows.push({ key: (map.labelsOnDigits ? "Shift+1–" : "1–") + n, help: t("Choose the class of the whole image") });
    }
    if (C.model.has(schema, "keypoints")) {
      rows.push({ key: "X", help: t("Skip the keypoint asked for (not in the image)") });
      rows.push({ key: "O", help: t("Selected keypoint: occluded / visible") });
    }
    if (C.model.has(schema, "polygon")) {
      rows.push({ key: "C", help: t("Close the polygon (or double click, or click its first point)") });
      rows.push({ key: "Backspace", help: t("Remove the last point of the polygon being drawn") });
    }
    rows.push({ key: "Delete", help: t("Delete the selected shape; on a keypoint: place it again") });
    rows.push({ key: "Ctrl+Z", help: t("Undo") });
    rows.push({ key: "Ctrl+Shift+Z / Ctrl+Y", help: t("Redo") });
    rows.push({ key: "+ / −", help: t("Zoom in / out (or the mouse wheel)") });
    rows.push({ key: "0", help: t("Fit the image") });
    rows.push({ key: t("Space+drag"), help: t("Pan (or middle mouse, or the arrow keys)") });
    return rows;
  }

  C.keys = { keymap: keymap, handle: handle, help: help, tools: tools };
})();
