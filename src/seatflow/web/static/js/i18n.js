/* Seatflow.t(msgid, params): the scripts' messages in the reader's language.
 *
 * The catalog comes from /i18n/<locale>.json (built from the same gettext .po files as the pages).
 * Messages are English; call t() with string literals only, so babel can extract them
 * (babel.cfg, keyword t). Placeholders are written %(name)s, as in the Python code, or {name}:
 *   t("%(n)s items done", {n: 3})      t("Label: {name}", {name: "car"})
 * (a placeholder without a value in params stays as written).
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var script = document.currentScript;
  var catalogUrl = script && script.dataset.catalog;
  var messages = {};

  function fill(text, params) {
    if (!params) return text;
    return text.replace(/%\((\w+)\)s|\{(\w+)\}/g, function (whole, pyName, braceName) {
      var name = pyName || braceName;
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  S.t = function t(msgid, params) {
    var text = Object.prototype.hasOwnProperty.call(messages, msgid) ? messages[msgid] : msgid;
    return fill(text, params);
  };

  S.i18n = {
    locale: (script && script.dataset.locale) || document.documentElement.lang || "en",
    // Resolves when the catalog is loaded; an unreachable catalog leaves the English messages
    // (the page shell is translated by the server either way).
    ready: !catalogUrl
      ? Promise.resolve()
      : fetch(catalogUrl, { credentials: "same-origin" })
          .then(function (r) {
            if (!r.ok) throw new Error(catalogUrl + ": HTTP " + r.status);
            return r.json();
          })
          .then(function (data) {
            messages = data.messages || {};
          })
          .catch(function (err) {
            console.warn("Seatflow: the message catalog did not load; showing English", err);
          }),
    fill: fill,
  };
})();
