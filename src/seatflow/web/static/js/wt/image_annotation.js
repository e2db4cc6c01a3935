/* Seatflow workspace: the image annotation view (boxes, keypoints in a fixed order, polygons, a class
   and attributes). The editor lives in js/canvas/*.js; this file connects it to the workspace contract
   (docs/workspace-contract.md): preload(lease, schema) and mount(el, ctx) -> view.                    */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var h = function () { return S.canvas.dom.h.apply(null, arguments); };
  S.views = S.views || {};

  var CACHE_SIZE = 8;
  var cache = {}; // url -> {img, ready: Promise, ok, error}
  var order = [];

  function imageUrl(lease) {
    var payload = lease.item.payload, media = lease.item.media || {};
    return media[payload.image] || payload.image;
  }

  /** Fetch and decode the image once; the entry is shared by preload and mount. */
  function load(url) {
    if (cache[url]) return cache[url];
    var img = new Image();
    var entry = { img: img, ok: false, error: null };
    img.decoding = "async";
    img.src = url;
    entry.ready = img.decode().then(function () { entry.ok = true; return img; }, function () {
      entry.error = S.t ? S.t("The image could not be loaded: {url}", { url: url }) : "The image could not be loaded: " + url;
      delete cache[url];
      throw new Error(entry.error);
    });
    cache[url] = entry;
    order.push(url);
    while (order.length > CACHE_SIZE) delete cache[order.shift()];
    return entry;
  }

  function firstTool(schema, mode) {
    if (mode === "review") return "select";
    var tools = S.canvas.keys.tools(schema);
    return tools[1] || "select";
  }

  function mount(el, ctx) {
    var t = ctx.t, schema = ctx.schema, lease = ctx.lease, payload = lease.item.payload;
    var W = payload.width, H = payload.height;
    var initial = ctx.initial !== undefined && ctx.initial !== null ? ctx.initial
      : ctx.mode === "annotate" ? payload.predictions : null;
    var doc = S.canvas.model.fromAnswer(initial, schema, ctx.mode === "annotate");
    var map = S.canvas.keys.keymap(schema, ctx.mode);

    var canvas = h("canvas.imgv-canvas", { tabindex: "0", "aria-label": t("Image to annotate") });
    var promptEl = h("div.imgv-prompt", { "aria-live": "polite", hidden: true });
    var errorEl = h("div.imgv-error", { role: "alert", hidden: true });
    var bar = h("div.imgv-toolbar", { role: "toolbar", "aria-label": t("Image tools") });
    var side = h("aside.imgv-panel", { "aria-label": t("Annotation") });
    var stage = h("div.imgv-stage", null, canvas, promptEl, errorEl);
    var root = h("div.imgv", { "data-lease": lease.lease_id }, bar, h("div.imgv-body", null, stage, side));
    el.appendChild(root);

    var entry = load(imageUrl(lease));
    var updaters = [];
    function updateUi() { updaters.forEach(function (fn) { fn(); }); }

    var ed = new S.canvas.Editor({
      canvas: canvas, img: entry.ok ? entry.img : null, W: W, H: H, schema: schema, t: t, doc: doc,
      readonly: ctx.readonly || ctx.mode === "review",
      onEdit: function () { if (ctx.onChange) ctx.onChange(); },
      onUi: updateUi,
    });
    ed.ui.tool = firstTool(schema, ctx.mode);
    if (!entry.ok) {
      entry.ready.then(function () { ed.img = entry.img; ed.requestRender(); }, function (err) {
        errorEl.textContent = err.message; errorEl.hidden = false;
      });
    }

    var actions = {
      setClass: function (name) {
        if (ed.readonly) return;
        ed.edit(function (d) { d.cls = name; d.clsPredicted = false; });
      },
    };
    updaters.push(S.canvas.toolbar.toolbar(bar, ed, map, t));
    updaters.push(S.canvas.toolbar.prompt(promptEl, ed, t));
    updaters.push(S.canvas.panel.panel(side, ed, map, t, actions));
    updateUi();
    ed.resize();

    function onKeyUp(ev) { if (ev.key === " ") ed.setSpace(false); }
    function onBlur() { ed.setSpace(false); }
    window.addEventListener("keyup", onKeyUp);
    window.addEventListener("blur", onBlur);

    return {
      answer: function () {
        if (ed.ui.draft) throw new Error(t("A polygon is still open: close it with C, or remove its points with Backspace."));
        if (entry.error) throw new Error(entry.error);
        return S.canvas.model.toAnswer(ed.doc, schema, W, H, t);
      },
      onKey: function (ev) { return S.canvas.keys.handle(ed, map, ev, actions); },
      setReadonly: function (readonly) { ed.setReadonly(readonly); },
      focus: function () { canvas.focus({ preventScroll: true }); },
      destroy: function () {
        window.removeEventListener("keyup", onKeyUp);
        window.removeEventListener("blur", onBlur);
        ed.destroy();
        if (root.parentNode) root.parentNode.removeChild(root);
      },
      keys: S.canvas.keys.help(map, schema, t),
      // for tests and debugging only: image point -> viewport (client) point, and the editor
      _debug: {
        editor: ed,
        toClient: function (x, y) {
          var r = canvas.getBoundingClientRect(), p = ed.vp.toScreen(x, y);
          return { x: r.left + p.x, y: r.top + p.y };
        },
      },
    };
  }

  S.views.image_annotation = {
    preload: function (lease) { return load(imageUrl(lease)).ready.then(function () {}); },
    mount: mount,
  };
})();
