/* The worker's seat on the home page: check in at a seat, take and end a break, check out.
 * Each button calls /api/v1/attendance/...; on success the page is drawn again by the server, on
 * failure a message in the reader's language says why (the API's `reason`, else its own detail).
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  function t(msgid, params) {
    return S.t ? S.t(msgid, params) : msgid;
  }
  var box = document.getElementById("attendance");
  if (!box) return;
  var errorEl = document.getElementById("attendance-error");
  var REASONS = {
    "seat-taken": function () { return t("Someone else is checked in at this seat. Check the number on your desk."); },
    "already-checked-in": function () { return t("You are checked in already; check out first."); },
    "not-checked-in": function () { return t("You are not checked in: check in at a seat first."); },
    "on-break": function () { return t("You are on a break already."); },
    "not-on-break": function () { return t("You are not on a break."); },
  };
  var SEAT = /^[A-Za-z0-9][A-Za-z0-9-]{0,15}$/;

  function fail(text) {
    errorEl.textContent = text;
    errorEl.hidden = false;
  }

  function send(action, body) {
    errorEl.hidden = true;
    return fetch("/api/v1/attendance/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept-Language": document.documentElement.lang || "en" },
      body: body ? JSON.stringify(body) : null,
    }).then(function (r) {
      if (r.ok) {
        // read the answer to the end first: a reload in the middle of it counts as an aborted request
        return r.text().then(function () { window.location.reload(); });
      }
      return r.json().then(function (p) {
        var known = p.reason && REASONS[p.reason];
        fail(known ? known() : p.field === "seat" ? t("That is not a seat code: use 1-16 letters, digits or dashes, such as A-12.")
          : t("That did not work: %(detail)s", { detail: p.detail || r.status }));
      });
    }).catch(function () {
      fail(t("The server did not answer; try again."));
    });
  }

  var form = document.getElementById("attendance-checkin");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var seat = document.getElementById("attendance-seat").value.trim();
      if (!SEAT.test(seat)) {
        fail(t("That is not a seat code: use 1-16 letters, digits or dashes, such as A-12."));
        return;
      }
      send("check-in", { seat: seat });
    });
  }
  ["attendance-break", "attendance-checkout"].forEach(function (id) {
    var btn = document.getElementById(id);
    if (btn) btn.addEventListener("click", function () { send(btn.dataset.action); });
  });
})();
