/* Helpers the workspace core and the views share: Seatflow.ui (DOM, clocks, deadlines),
 * Seatflow.media (media loaded ahead into blob: URLs) and Seatflow.api (the work API).
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});

  function t(msgid, params) {
    return S.t(msgid, params);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "text") node.textContent = value;
        else if (name === "class") node.className = value;
        else if (name.slice(0, 2) === "on" && typeof value === "function") node.addEventListener(name.slice(2), value);
        else if (name === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function kbd(key) {
    return el("kbd", { text: key });
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /** 75000 -> "1:15"; an hour or more -> "1:02:03". */
  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad2(m) : String(m)) + ":" + pad2(s % 60);
  }

  var clockOffset = 0; // server time minus this machine's time, from the Date header of API answers

  function serverNow() {
    return Date.now() + clockOffset;
  }

  /** Time left before a deadline: {ms, text, level: "ok" | "soon" | "urgent" | "overdue"}. */
  function timeLeft(deadlineIso) {
    var ms = Date.parse(deadlineIso) - serverNow();
    if (ms < 0) return { ms: ms, text: t("overdue by %(time)s", { time: clock(-ms) }), level: "overdue" };
    var level = ms <= 5 * 60000 ? "urgent" : ms <= 15 * 60000 ? "soon" : "ok";
    return { ms: ms, text: t("%(time)s left", { time: clock(ms) }), level: level };
  }

  /** Media loaded ahead into blob: URLs, so a prepared item needs no network when shown. */
  var media = (function () {
    var entries = {};
    function load(url) {
      var entry = entries[url];
      if (entry) {
        entry.refs += 1;
        return entry.promise;
      }
      entry = entries[url] = { refs: 1, objectUrl: null, promise: null };
      entry.promise = fetch(url, { credentials: "same-origin" }).then(
        function (resp) {
          if (!resp.ok) {
            throw new Error(t("The media of this item did not load (HTTP %(status)s).", { status: resp.status }));
          }
          return resp.blob().then(function (blob) {
            entry.objectUrl = URL.createObjectURL(blob);
            return entry.objectUrl;
          });
        },
        function () {
          return url; // another site that does not allow fetching: the element loads it itself
        }
      );
      return entry.promise;
    }
    function url(original) {
      var entry = entries[original];
      return entry && entry.objectUrl ? entry.objectUrl : original;
    }
    function release(original) {
      var entry = entries[original];
      if (!entry) return;
      entry.refs -= 1;
      if (entry.refs <= 0) {
        if (entry.objectUrl) URL.revokeObjectURL(entry.objectUrl);
        delete entries[original];
      }
    }
    return { load: load, url: url, release: release };
  })();

  // --- the server -----------------------------------------------------------------------------

  function ApiError(status, problem, fallback) {
    this.status = status;
    this.problem = problem || null;
    this.message = (problem && problem.detail) || fallback || "HTTP " + status;
  }

  function isProblem(err, code) {
    return !!(err && err.problem && typeof err.problem.type === "string" &&
      err.problem.type.slice(-code.length - 1) === "/" + code);
  }

  function api(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        // the server says its errors in the language of this page
        "Accept-Language": document.documentElement.lang || "en",
      },
      body: JSON.stringify(body || {}),
    }).then(
      function (resp) {
        var date = Date.parse(resp.headers.get("date") || "");
        if (!isNaN(date)) clockOffset = date - Date.now();
        return resp.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (e) {
            data = null;
          }
          if (resp.ok) return data;
          throw new ApiError(resp.status, data);
        });
      },
      function (err) {
        throw new ApiError(0, null, t("The server cannot be reached (%(error)s).", { error: String(err.message || err) }));
      }
    );
  }

  function newKey() {
    var bytes = new Uint8Array(16); // crypto.randomUUID needs https; intranet seats may use plain http
    crypto.getRandomValues(bytes);
    return "ws-" + Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  S.ui = { el: el, kbd: kbd, clock: clock, serverNow: serverNow, timeLeft: timeLeft };
  S.media = media;
  S.api = { post: api, ApiError: ApiError, isProblem: isProblem, newKey: newKey };
})();
