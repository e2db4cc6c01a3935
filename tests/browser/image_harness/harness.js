/* The image view harness: window.__mount({schema, mode, initial, readonly, catalog}) mounts the view on
   a fake lease of portrait.svg (640 x 480); window.__answer() returns {answer} or {error}.            */
(function () {
  "use strict";
  var S = window.Seatflow;
  var catalog = {};

  S.t = function (msgid, params) {
    var text = catalog[msgid] || msgid;
    return text.replace(/\{(\w+)\}/g, function (m, k) { return params && k in params ? String(params[k]) : m; });
  };

  var view = null;
  window.__changes = 0;

  window.__consumed = [];
  document.addEventListener("keydown", function (ev) {
    if (view && view.onKey(ev)) { ev.preventDefault(); window.__consumed.push(ev.key); }
  });

  window.__mount = function (cfg) {
    if (view) view.destroy();
    catalog = cfg.catalog || {};
    document.documentElement.lang = cfg.lang || "en";
    window.__changes = 0;
    var lease = {
      lease_id: "lease-" + Date.now(), kind: cfg.mode === "review" ? "review" : "annotate",
      item: { payload: { image: "portrait.svg", width: 640, height: 480, predictions: cfg.predictions },
              media: { "portrait.svg": "/harness/portrait.svg" } },
    };
    var stage = document.getElementById("stage");
    var views = S.views.image_annotation;
    return views.preload(lease, cfg.schema).then(function () {
      view = views.mount(stage, {
        lease: lease, schema: cfg.schema, mode: cfg.mode || "annotate", initial: cfg.initial,
        readonly: !!cfg.readonly, t: S.t, onChange: function () { window.__changes += 1; },
      });
      window.__view = view;
      view.focus();
      return true;
    });
  };

  window.__answer = function () {
    try { return { answer: view.answer() }; } catch (e) { return { error: e.message }; }
  };
  window.__toClient = function (x, y) { return view._debug.toClient(x, y); };
  window.__ui = function () {
    var ed = view._debug.editor;
    return { tool: ed.ui.tool, label: ed.ui.label, sel: ed.ui.sel, zoom: ed.vp.percent(), readonly: ed.readonly,
             activeSet: ed.ui.activeSet, draft: ed.ui.draft && ed.ui.draft.points.length };
  };
})();
