/* Seatflow image view: the toolbar above the image (tools, undo/redo, zoom) and the prompt on the image
   that says what the next click does ("Click: nose 3/5").                                              */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var h = function () { return C.dom.h.apply(null, arguments); };

  var ICONS = {
    select: "M5 3l13 7-6 1.5L9 18z",
    box: "M4 6h16v12H4z",
    keypoints: "M6 8a1.8 1.8 0 1 0 .01 0M18 8a1.8 1.8 0 1 0 .01 0M12 13a1.8 1.8 0 1 0 .01 0M8 18a1.8 1.8 0 1 0 .01 0M16 18a1.8 1.8 0 1 0 .01 0",
    polygon: "M12 3l8 6-3 10H7L4 9z",
    undo: "M9 7L4 11l5 4M4 11h10a5 5 0 0 1 0 10h-3",
    redo: "M15 7l5 4-5 4M20 11H10a5 5 0 0 0 0 10h3",
    out: "M5 12h14", in: "M5 12h14M12 5v14",
    fit: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5",
  };

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true"); svg.setAttribute("class", "imgv-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  /** Build the toolbar into `bar`; returns update() to call when the editor's state changed. */
  function toolbar(bar, ed, map, t) {
    var names = { select: t("Select"), box: t("Box"), keypoints: t("Keypoints"), polygon: t("Polygon") };
    var keyOf = {};
    Object.keys(map.tools).forEach(function (k) { keyOf[map.tools[k]] = k.toUpperCase(); });
    var toolButtons = C.keys.tools(ed.schema).map(function (tool) {
      var key = keyOf[tool];
      return h("button.imgv-tool", { type: "button", "data-tool": tool, title: names[tool] + (key ? " (" + key + ")" : ""),
                                     onclick: function () { ed.setTool(tool); ed.canvas.focus(); } },
               icon(tool), h("span", { text: names[tool] }), key ? C.dom.kbd(key) : null);
    });
    function btn(name, title, fn) {
      return h("button.imgv-icon-btn", { type: "button", title: title, "aria-label": title, "data-act": name,
                                         onclick: function () { fn(); ed.canvas.focus(); } }, icon(name));
    }
    var undo = btn("undo", t("Undo") + " (Ctrl+Z)", function () { ed.undo(); });
    var redo = btn("redo", t("Redo") + " (Ctrl+Shift+Z)", function () { ed.redo(); });
    var zoomText = h("span.imgv-zoom", { "aria-live": "off" });
    bar.appendChild(h("div.imgv-tools", { role: "group", "aria-label": t("Tools") }, toolButtons));
    bar.appendChild(h("div.imgv-tools", null, undo, redo));
    bar.appendChild(h("div.imgv-spacer"));
    bar.appendChild(h("div.imgv-tools", { role: "group", "aria-label": t("Zoom") },
      btn("out", t("Zoom out") + " (−)", function () { ed.zoom(0.8); }), zoomText,
      btn("in", t("Zoom in") + " (+)", function () { ed.zoom(1.25); }),
      btn("fit", t("Fit the image") + " (0)", function () { ed.fit(); })));

    return function update() {
      toolButtons.forEach(function (b) {
        var on = b.getAttribute("data-tool") === ed.ui.tool;
        b.setAttribute("aria-pressed", on ? "true" : "false");
        b.disabled = ed.readonly;
      });
      undo.disabled = ed.readonly || !(ed.history.canUndo() || ed.ui.draft);
      redo.disabled = ed.readonly || !ed.history.canRedo();
      zoomText.textContent = ed.vp.percent() + "%";
    };
  }

  /** The prompt on the image: what the next click does. Returns update(). */
  function prompt(el, ed, t) {
    return function update() {
      el.textContent = "";
      var parts = [];
      if (ed.readonly) {
        parts.push(h("span", { text: t("Read only: the answer under review") }));
      } else if (ed.ui.tool === "keypoints") {
        var tg = C.tools.keypoints.target(ed);
        if (tg.name) {
          parts.push(h("span.imgv-dot", { style: "background:" + C.geometry.pointColor(tg.index) }));
          parts.push(h("strong", { text: t("Click: {name}", { name: tg.name }) }));
          parts.push(h("span.imgv-count", { text: (tg.index + 1) + "/" + tg.total }));
          parts.push(h("span.imgv-hint", null, C.dom.kbd("X"), " " + t("skip"), "  ", C.dom.kbd("O"), " " + t("occluded")));
        }
      } else if (ed.ui.tool === "polygon") {
        var d = ed.ui.draft;
        parts.push(h("strong", { text: d ? t("Polygon points: {n}", { n: d.points.length }) : t("Click to start a {label} polygon", { label: ed.ui.label || "" }) }));
        if (d) parts.push(h("span.imgv-hint", null, C.dom.kbd("C"), " " + t("close"), "  ", C.dom.kbd("Backspace"), " " + t("remove last point")));
      } else if (ed.ui.tool === "box") {
        parts.push(h("strong", { text: t("Drag to draw a {label} box", { label: ed.ui.label || "" }) }));
      }
      parts.forEach(function (p) { el.appendChild(p); });
      el.hidden = parts.length === 0;
    };
  }

  C.toolbar = { toolbar: toolbar, prompt: prompt, icon: icon };
})();
