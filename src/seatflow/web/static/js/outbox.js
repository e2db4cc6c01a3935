/* The outbox: answers on their way to the server, kept in localStorage so that neither a network
 * failure nor a reload loses one. Sent one at a time, in order.
 *
 *   var box = Seatflow.Outbox({storageKey, send(entry) -> Promise, onChange(summary),
 *                              onExpired(entry), onRefused(entry, fresh), onSessionLost(count, resume)});
 *   box.add({lease_id, action, body, label, lease})
 *
 * Network errors, 5xx, 408 and 429 are retried with backoff (1 s doubling to 60 s, +-20 %); 401
 * waits for a new login; 410 (the lease ran out) drops the entry and says so; any other refusal
 * keeps the entry as "failed" until the worker retries it or drops it (never silently).
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var MAX_BACKOFF_MS = 60000;
  var SESSION_RETRY_MS = 15000;

  S.Outbox = function Outbox(opts) {
    var entries = [];
    var busy = false;
    var timer = null;
    var authWait = false;

    function load() {
      try {
        entries = JSON.parse(localStorage.getItem(opts.storageKey) || "[]");
      } catch (e) {
        entries = [];
      }
      entries.forEach(function (e) {
        if (e.status === "sending") e.status = "pending";
        e.next_at = 0;
      });
    }

    function save() {
      try {
        localStorage.setItem(opts.storageKey, JSON.stringify(entries));
      } catch (e) {
        console.warn("Seatflow: could not keep the outbox in localStorage", e);
      }
    }

    function unsentEntries() {
      return entries.filter(function (e) { return e.status !== "failed"; });
    }

    function summary() {
      var unsent = unsentEntries();
      var retrying = unsent.filter(function (e) { return e.attempts > 0 && e.status === "pending"; });
      return {
        unsent: unsent.length,
        failed: entries.length - unsent.length,
        nextTryMs: retrying.length
          ? Math.max(0, Math.min.apply(null, retrying.map(function (e) { return e.next_at; })) - Date.now())
          : null,
        error: retrying.length ? retrying[0].error || "" : "",
      };
    }

    function changed() {
      opts.onChange(summary());
    }

    function add(entry) {
      entry.id = S.api.newKey();
      entry.status = "pending";
      entry.attempts = 0;
      entry.next_at = 0;
      entries.push(entry);
      save();
      changed();
      pump();
    }

    function drop(entry) {
      entries = entries.filter(function (e) { return e !== entry; });
      save();
      changed();
    }

    function retry(entry) {
      entry.status = "pending";
      entry.next_at = 0;
      save();
      pump();
    }

    function pump() {
      clearTimeout(timer);
      timer = null;
      if (busy || authWait) return;
      var now = Date.now();
      var due = entries.filter(function (e) { return e.status === "pending" && e.next_at <= now; })[0];
      if (!due) {
        var later = entries.filter(function (e) { return e.status === "pending"; }).map(function (e) { return e.next_at; });
        if (later.length) timer = setTimeout(pump, Math.max(50, Math.min.apply(null, later) - now));
        changed();
        return;
      }
      busy = true;
      due.status = "sending";
      changed();
      opts.send(due).then(
        function () {
          busy = false;
          drop(due);
          pump();
        },
        function (err) {
          busy = false;
          settle(due, err);
          pump();
        }
      );
    }

    function settle(entry, err) {
      if (err.status === 0 || err.status >= 500 || err.status === 429 || err.status === 408) {
        entry.status = "pending";
        entry.attempts += 1;
        entry.next_at = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, entry.attempts - 1)) *
          (0.8 + Math.random() * 0.4);
        entry.error = err.message;
        save();
        return;
      }
      if (err.status === 401) {
        entry.status = "pending";
        save();
        authWait = true;
        var resume = function () { authWait = false; pump(); };
        opts.onSessionLost(entries.length, resume);
        setTimeout(resume, SESSION_RETRY_MS);
        return;
      }
      if (err.status === 410 || S.api.isProblem(err, "lease-expired")) {
        drop(entry);
        opts.onExpired(entry);
        return;
      }
      entry.status = "failed";
      entry.error = err.message;
      entry.http = err.status;
      save();
      opts.onRefused(entry, true);
    }

    function start() {
      load();
      entries.filter(function (e) { return e.status === "failed"; }).forEach(function (e) { opts.onRefused(e, false); });
      changed();
      pump();
      setInterval(changed, 1000); // the "next try in" countdown
      window.addEventListener("online", function () {
        entries.forEach(function (e) { if (e.status === "pending") e.next_at = 0; });
        pump();
      });
    }

    return {
      add: add,
      drop: drop,
      retry: retry,
      start: start,
      pump: pump,
      leaseIds: function () { return unsentEntries().map(function (e) { return e.lease_id; }); },
      unsent: function () { return unsentEntries().length; },
      entries: function () { return entries; },
    };
  };
})();
