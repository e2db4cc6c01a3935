/* The seat workspace: one item after another with no page loads (docs/workspace-contract.md).
 *
 * - Two leases are held: the current item and the next one, which is mounted off-screen with its
 *   media loaded, so the swap after a submit waits on no network.
 * - Answers go into an outbox kept in localStorage and are sent in the background, retried with
 *   backoff; a refused answer is shown until the worker deals with it, never dropped.
 * - A heartbeat renews the held leases; closing the tab releases them (sendBeacon).
 * - Keys: Enter submits (in review: accepts), ? cheat sheet, i instructions, Esc closes; in review
 *   a accept, r reject, f fix in place. Everything else goes to the view of the work type.
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  S.views = S.views || {};

  function t(msgid, params) {
    return S.t(msgid, params);
  }

  var PREFETCH = 1; // items prepared ahead of the current one
  var NO_WORK_RETRY_MS = 30000;
  var MAX_BACKOFF_MS = 60000; // between lease requests that fail at the network or the server

  var ui = S.ui;
  var el = ui.el;
  var kbd = ui.kbd;
  var clock = ui.clock;
  var serverNow = ui.serverNow;
  var api = S.api.post;
  var isProblem = S.api.isProblem;
  var newKey = S.api.newKey;

  // --- the page -------------------------------------------------------------------------------

  var cfg = JSON.parse(document.getElementById("ws-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var dom = {};
  var state = {
    phase: "loading", // loading | working | empty | error
    current: null, // the slot on screen
    ahead: [], // slots prepared off-screen, in order
    fetching: false,
    fillTimer: null,
    noWorkUntil: 0,
    leaseFailures: 0,
    leaseKey: null, // request_key of the lease being asked for (see fill)
    waiting: null, // a slot we wait on to show
    fixing: false,
    done: 0,
  };

  function itemLabel(lease) {
    return lease.item.external_id || "#" + lease.item.id;
  }

  function setPhase(phase, message) {
    state.phase = phase;
    dom.ws.dataset.state = phase;
    dom.loading.hidden = phase !== "loading";
    dom.empty.hidden = phase !== "empty";
    dom.error.hidden = phase !== "error";
    dom.actions.hidden = phase !== "working";
    if (phase === "error") dom.errorText.textContent = message || "";
    if (phase !== "working") {
      dom.itemId.textContent = "–";
      dom.mode.hidden = true;
      dom.rework.hidden = true;
    }
    updateEmptyCountdown();
  }

  // --- notices ------------------------------------------------------------------------------

  /** A message above the stage. level: info | warn | error; info ones fade after a while. */
  function notice(level, text, actions, id) {
    if (id) {
      var old = document.getElementById(id);
      if (old) old.remove();
    }
    var box = el("div", { class: "ws-notice ws-notice-" + level, role: level === "error" ? "alert" : "status", id: id || null });
    box.appendChild(el("p", { text: text }));
    var buttons = el("div", { class: "ws-notice-actions" });
    (actions || []).forEach(function (a) {
      buttons.appendChild(el("button", {
        type: "button", class: "btn btn-ghost", text: a.label,
        onclick: function () { a.run(box); refocus(); },
      }));
    });
    buttons.appendChild(el("button", {
      type: "button", class: "btn btn-ghost ws-notice-close", "aria-label": t("Dismiss"), text: "×",
      onclick: function () { box.remove(); refocus(); },
    }));
    box.appendChild(buttons);
    dom.notices.appendChild(box);
    if (level === "info") setTimeout(function () { box.remove(); }, 8000);
    return box;
  }

  // --- slots: a leased item with its view ------------------------------------------------------

  function schemaFor() {
    return cfg.project.label_schema;
  }

  function modeOf(lease) {
    if (lease.kind === "review") return "review";
    return lease.rework_of ? "rework" : "annotate";
  }

  function initialOf(lease, mode) {
    if (mode === "review") return lease.review_of ? lease.review_of.answer : null;
    if (mode === "rework") return lease.rework_of.answer;
    var payload = lease.item.payload || {};
    return payload.predictions || null;
  }

  function prepare(lease, initial) {
    var mode = modeOf(lease);
    var slot = {
      lease: lease,
      mode: mode,
      el: el("div", { class: "ws-item is-next", tabindex: "-1", "aria-hidden": "true", dataset: { leaseId: lease.lease_id, itemId: lease.item.id } }),
      view: null,
      isReady: false,
      dropped: false,
      elapsed: 0,
      since: null,
      // when the lease runs out (server time), and its length, to move it on with each heartbeat
      expiresAt: Date.parse(lease.expires_at),
      leaseMs: Date.parse(lease.expires_at) - serverNow(),
    };
    slot.el.inert = true;
    dom.stage.appendChild(slot.el);
    var view = S.views[lease.project.work_type];
    var schema = schemaFor(lease);
    slot.ready = (S.i18n ? S.i18n.ready : Promise.resolve())
      .then(function () {
        if (!view) {
          throw new Error(t("This page has no view for the work type %(type)s.", { type: lease.project.work_type }));
        }
        return Promise.resolve(view.preload ? view.preload(lease, schema) : null).catch(function (err) {
          slot.preloadError = err; // the view shows what is missing; the item still opens
          console.warn("Seatflow: preload of item", lease.item.id, err);
        });
      })
      .then(function () {
        if (slot.dropped) return;
        slot.view = view.mount(slot.el, {
          lease: lease,
          schema: schema,
          mode: mode,
          initial: initial !== undefined ? initial : initialOf(lease, mode),
          readonly: mode === "review",
          t: S.t,
          now: serverNow,
          onChange: function () {
            if (slot === state.current) hideProblem();
          },
        });
        slot.isReady = true;
      });
    return slot;
  }

  function destroySlot(slot) {
    slot.dropped = true;
    try {
      if (slot.view && slot.view.destroy) slot.view.destroy();
    } catch (err) {
      console.warn("Seatflow: destroy", err);
    }
    slot.el.remove();
  }

  function duration(slot) {
    return Math.round(slot.elapsed + (slot.since !== null ? performance.now() - slot.since : 0));
  }

  function pauseClock(slot) {
    if (slot.since !== null) {
      slot.elapsed += performance.now() - slot.since;
      slot.since = null;
    }
  }

  function show(slot) {
    var lease = slot.lease;
    state.current = slot;
    state.fixing = false;
    slot.el.classList.remove("is-next");
    slot.el.classList.add("is-current");
    slot.el.removeAttribute("aria-hidden");
    slot.el.inert = false;
    slot.since = document.visibilityState === "visible" ? performance.now() : null;
    setPhase("working");
    dom.itemId.textContent = itemLabel(lease);
    dom.ws.dataset.mode = slot.mode;
    dom.ws.dataset.leaseId = lease.lease_id;
    showMode(slot);
    showRework(slot);
    hideProblem();
    renderViewKeys(slot.view.keys || []);
    if (slot.preloadError) {
      notice("warn", t("Item %(item)s: %(error)s", { item: itemLabel(lease), error: slot.preloadError.message }), null, "ws-media-warning");
    }
    slot.view.focus();
    tick();
    document.dispatchEvent(new CustomEvent("seatflow:item-ready", {
      detail: { lease_id: lease.lease_id, item_id: lease.item.id, mode: slot.mode, at: performance.now() },
    }));
  }

  function showMode(slot) {
    var labels = { annotate: null, review: t("Review"), rework: t("Rework") };
    var label = labels[slot.mode];
    dom.mode.hidden = !label;
    dom.mode.textContent = label || "";
    dom.mode.className = "ws-mode ws-mode-" + slot.mode;
    var review = slot.mode === "review";
    dom.actionsAnnotate.hidden = review;
    dom.actionsReview.hidden = !review;
    dom.fixing.hidden = true;
    dom.reject.disabled = false;
    dom.fix.disabled = false;
    dom.accept.firstChild.textContent = t("Accept") + " ";
    dom.submit.firstChild.textContent = (slot.mode === "rework" ? t("Submit the corrected answer") : t("Submit")) + " ";
  }

  function showRework(slot) {
    var box = dom.rework;
    box.textContent = "";
    if (slot.mode !== "rework") {
      box.hidden = true;
      return;
    }
    box.appendChild(el("h2", { text: t("Sent back by the reviewer: correct the answer and submit it again") }));
    (slot.lease.rework_of.reviews || []).forEach(function (review) {
      if (review.verdict !== "reject") return;
      var tags = el("ul", { class: "ws-rework-tags" });
      (review.error_tags || []).forEach(function (code) {
        tags.appendChild(el("li", { class: "tag tag-warn", text: tagLabel(code) }));
      });
      box.appendChild(tags);
      if (review.comment) box.appendChild(el("p", { class: "ws-rework-comment", text: review.comment }));
    });
    box.hidden = false;
  }

  function renderViewKeys(keys) {
    var list = dom.viewKeys;
    list.textContent = "";
    keys.forEach(function (k) {
      var dt = el("dt");
      String(k.key).split(" ").forEach(function (part, i) {
        if (i) dt.appendChild(document.createTextNode(" "));
        dt.appendChild(kbd(part));
      });
      list.appendChild(el("div", null, [dt, el("dd", { text: k.help })]));
    });
  }

  function showProblem(text) {
    dom.problem.textContent = text;
    dom.problem.hidden = false;
  }

  function hideProblem() {
    dom.problem.hidden = true;
  }

  function refocus() {
    if (state.current && state.current.view && !dom.help.open && !dom.rejectDialog.open) state.current.view.focus();
  }

  // --- the lease queue --------------------------------------------------------------------------

  function scheduleFill(ms) {
    clearTimeout(state.fillTimer);
    state.fillTimer = setTimeout(function () {
      state.fillTimer = null;
      fill();
    }, ms);
  }

  /** Keep PREFETCH items prepared behind the current one (and one to show when there is none). */
  function fill() {
    if (state.fetching || state.phase === "error") return;
    var wanted = PREFETCH + (state.current ? 0 : 1);
    if (state.ahead.length >= wanted) return;
    var wait = state.noWorkUntil - Date.now();
    if (wait > 0) {
      scheduleFill(wait);
      return;
    }
    state.fetching = true;
    // One key per task wanted, kept across retries: when a lease's answer is lost on the way (network,
    // 5xx from a proxy), the retry gets that same lease back instead of leaving it held for nothing.
    if (!state.leaseKey) state.leaseKey = newKey();
    api("/api/v1/leases", { project_id: cfg.project.id, request_key: state.leaseKey }).then(
      function (lease) {
        state.fetching = false;
        state.leaseKey = null;
        state.leaseFailures = 0;
        state.noWorkUntil = 0;
        state.ahead.push(prepare(lease));
        showNextWhenReady();
        fill();
      },
      function (err) {
        state.fetching = false;
        if (isProblem(err, "no-work")) {
          state.noWorkUntil = Date.now() + NO_WORK_RETRY_MS;
          scheduleFill(NO_WORK_RETRY_MS);
          if (!state.current && !state.ahead.length) setPhase("empty");
          return;
        }
        if (err.status !== 0 && err.status < 500) state.leaseKey = null; // answered: no lease was made
        if (isProblem(err, "conflict") && err.problem.field === "request_key") {
          scheduleFill(0); // the lease of that key ended while we retried: ask again with a new key
          return;
        }
        if (err.status === 0 || err.status >= 500 || err.status === 429) {
          state.leaseFailures += 1;
          var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.leaseFailures - 1));
          scheduleFill(delay);
          if (!state.current) {
            notice("warn", t("Could not get the next item: %(error)s Trying again in %(seconds)s s.",
              { error: err.message, seconds: Math.round(delay / 1000) }), null, "ws-lease-problem");
          }
          return;
        }
        var message = err.status === 401
          ? t("Your session has ended. Log in again to go on working.")
          : t("The server gives you no item: %(error)s", { error: err.message });
        if (state.current) notice("error", message, null, "ws-lease-problem");
        else setPhase("error", message);
      }
    );
  }

  function showNextWhenReady() {
    if (state.current || state.waiting) return;
    var slot = state.ahead[0];
    if (!slot) {
      if (!state.fetching && state.phase !== "error") setPhase(state.noWorkUntil > Date.now() ? "empty" : "loading");
      return;
    }
    if (slot.expiresAt <= serverNow()) {
      // its lease ran out while it waited (no heartbeat got through): take a fresh one instead
      state.ahead.shift();
      destroySlot(slot);
      showNextWhenReady();
      fill();
      return;
    }
    if (slot.isReady) {
      state.ahead.shift();
      show(slot);
      fill();
      return;
    }
    setPhase("loading");
    state.waiting = slot;
    slot.ready.then(
      function () {
        state.waiting = null;
        showNextWhenReady();
      },
      function (err) {
        state.waiting = null;
        state.ahead.splice(state.ahead.indexOf(slot), 1);
        destroySlot(slot);
        release([slot.lease.lease_id]);
        notice("error", t("Item %(item)s cannot be shown and went back to the queue: %(error)s",
          { item: itemLabel(slot.lease), error: err.message }));
        showNextWhenReady();
        fill();
      }
    );
  }

  /** The current item is done (or lost): the prepared one takes its place at once. */
  function advance() {
    var old = state.current;
    state.current = null;
    if (old) {
      pauseClock(old);
      old.el.hidden = true;
      setTimeout(function () { destroySlot(old); }, 0); // after the swap, not before it
    }
    if (!state.ahead.length) state.noWorkUntil = 0; // ask again now rather than wait for the timer
    showNextWhenReady();
    fill();
  }

  function release(ids) {
    if (ids.length) api("/api/v1/leases/release", { lease_ids: ids }).catch(function () {});
  }

  function heldIds() {
    var ids = state.ahead.map(function (s) { return s.lease.lease_id; });
    if (state.current) ids.unshift(state.current.lease.lease_id);
    return ids;
  }

  // --- heartbeat and closing the tab ------------------------------------------------------------

  var lastBeat = Date.now();

  function heartbeat() {
    var held = heldIds();
    var sending = outbox.leaseIds();
    var ids = held.concat(sending.filter(function (id) { return held.indexOf(id) < 0; }));
    lastBeat = Date.now();
    if (!ids.length) return;
    api("/api/v1/leases/heartbeat", { lease_ids: ids }).then(function (out) {
      var slots = state.ahead.concat(state.current ? [state.current] : []);
      slots.forEach(function (slot) {
        if ((out.renewed || []).indexOf(slot.lease.lease_id) >= 0) slot.expiresAt = serverNow() + slot.leaseMs;
      });
      (out.lost || []).forEach(function (id) {
        if (state.current && state.current.lease.lease_id === id) {
          notice("warn", t("Your hold on item %(item)s ran out, so it went back to the queue. Here is the next one.",
            { item: itemLabel(state.current.lease) }));
          advance();
          return;
        }
        state.ahead.slice().forEach(function (slot) {
          if (slot.lease.lease_id === id) {
            state.ahead.splice(state.ahead.indexOf(slot), 1);
            destroySlot(slot);
          }
        });
      });
      fill();
    }, function () { /* the next beat tries again; submits have their own retry */ });
  }

  function releaseOnClose() {
    var ids = heldIds();
    if (!ids.length) return;
    var blob = new Blob([JSON.stringify({ lease_ids: ids })], { type: "application/json" });
    navigator.sendBeacon("/api/v1/leases/release", blob);
  }

  // --- the outbox: answers on their way to the server (js/outbox.js) ---------------------------------

  var outbox = S.Outbox({
    storageKey: "seatflow.outbox." + cfg.user.id,
    send: function (entry) {
      return api("/api/v1/leases/" + entry.lease_id + "/" + entry.action, entry.body);
    },
    onChange: renderSync,
    onExpired: function (entry) {
      setDone(state.done - 1);
      notice("warn", t("Item %(item)s: your hold on it ran out before your answer arrived, so it went back to the queue for a colleague.",
        { item: entry.label }));
    },
    onRefused: function (entry, fresh) {
      if (fresh) setDone(state.done - 1);
      showRefused(entry);
    },
    onSessionLost: function (count, resume) {
      notice("error", t("Your session has ended, so %(n)s answers wait in this browser. Log in again in a new tab; they are sent as soon as you are back.",
        { n: count }), [{
        label: t("Log in in a new tab"),
        run: function () { window.open("/login", "_blank"); },
      }, {
        label: t("Send them now"),
        run: function (box) { box.remove(); resume(); },
      }], "ws-auth");
    },
  });

  /** A refused answer stays on screen (and in localStorage) until the worker deals with it. */
  function showRefused(entry) {
    var actions = [];
    if (entry.lease) {
      actions.push({ label: t("Open it again"), run: function (box) { box.remove(); outbox.drop(entry); reopen(entry); } });
    }
    actions.push({ label: t("Try again"), run: function (box) { box.remove(); outbox.retry(entry); } });
    var box = notice("error", t("Item %(item)s was not saved: %(error)s", { item: entry.label, error: entry.error }),
      actions, "ws-out-" + entry.id);
    box.querySelector(".ws-notice-close").addEventListener("click", function () { outbox.drop(entry); });
  }

  function renderSync(summary) {
    var sync = dom.sync;
    sync.title = summary.error || "";
    if (summary.failed) {
      sync.dataset.sync = "failed";
      sync.textContent = t("%(n)s not saved", { n: summary.failed });
    } else if (!summary.unsent) {
      sync.dataset.sync = "idle";
      sync.textContent = t("All saved");
    } else if (summary.nextTryMs !== null) {
      sync.dataset.sync = "retry";
      sync.textContent = t("%(n)s waiting, next try in %(seconds)s s",
        { n: summary.unsent, seconds: Math.ceil(summary.nextTryMs / 1000) });
    } else {
      sync.dataset.sync = "sending";
      sync.textContent = t("Saving %(n)s…", { n: summary.unsent });
    }
  }

  var DONE_KEY = "seatflow.done." + cfg.user.id + "." + cfg.project.id; // this tab's session, across reloads

  function setDone(n) {
    state.done = Math.max(0, n);
    dom.done.textContent = String(state.done);
    try {
      sessionStorage.setItem(DONE_KEY, String(state.done));
    } catch (e) { /* the count just starts again after a reload */ }
  }

  /** Bring back an item whose answer the server refused (its lease is still held). */
  function reopen(entry) {
    var body = entry.body;
    var answer = entry.action === "review" ? body.fixed_answer || null : body.answer;
    var slot = prepare(entry.lease, answer);
    if (state.current) {
      var cur = state.current;
      pauseClock(cur);
      cur.el.classList.remove("is-current");
      cur.el.classList.add("is-next");
      cur.el.inert = true;
      state.ahead.unshift(cur);
      state.current = null;
    }
    state.ahead.unshift(slot);
    showNextWhenReady();
  }

  // --- answering ------------------------------------------------------------------------------

  function complete(slot, action, body) {
    body.idempotency_key = newKey();
    outbox.add({ lease_id: slot.lease.lease_id, action: action, body: body, label: itemLabel(slot.lease), lease: slot.lease });
    setDone(state.done + 1);
    advance();
  }

  function answerOf(slot) {
    try {
      return { ok: true, value: slot.view.answer() };
    } catch (err) {
      showProblem(err.message);
      return { ok: false };
    }
  }

  function primary() {
    var slot = state.current;
    if (!slot || !slot.view) {
      if (state.phase === "empty") retryNow();
      return;
    }
    if (slot.mode === "review") {
      accept();
      return;
    }
    var answer = answerOf(slot);
    if (!answer.ok) return;
    complete(slot, "submit", { answer: answer.value, duration_ms: duration(slot) });
  }

  function accept() {
    var slot = state.current;
    if (!slot || slot.mode !== "review") return;
    var body = { verdict: "accept" };
    if (state.fixing) {
      var answer = answerOf(slot);
      if (!answer.ok) return;
      body.fixed_answer = answer.value;
    }
    complete(slot, "review", body);
  }

  function startFix() {
    var slot = state.current;
    if (!slot || slot.mode !== "review" || state.fixing) return;
    state.fixing = true;
    slot.view.setReadonly(false);
    dom.fixing.hidden = false;
    dom.reject.disabled = true;
    dom.fix.disabled = true;
    dom.accept.firstChild.textContent = t("Accept with my fix") + " ";
    slot.view.focus();
  }

  // --- reject dialog --------------------------------------------------------------------------

  function errorTags(workType) {
    var marking = ["image_annotation", "text_annotation"];
    var all = [
      { code: "wrong_label", label: t("Wrong label or class"), types: marking },
      { code: "missing", label: t("Something is not marked"), types: marking },
      { code: "extra", label: t("Something is marked that should not be"), types: marking },
      { code: "inaccurate", label: t("Boundary or position is not accurate"), types: marking },
      { code: "wrong_decision", label: t("Wrong decision"), types: ["moderation"] },
      { code: "wrong_reason", label: t("Wrong or missing reason"), types: ["moderation"] },
      { code: "wrong_disposition", label: t("Wrong disposition"), types: ["service_ticket"] },
      { code: "reply_content", label: t("Reply is wrong or incomplete"), types: ["service_ticket"] },
      { code: "reply_tone", label: t("Reply is impolite or unclear"), types: ["service_ticket"] },
      { code: "guidelines", label: t("Instructions not followed"), types: null },
      { code: "other", label: t("Other (see the comment)"), types: null },
    ];
    if (!workType) return all;
    return all.filter(function (tag) { return !tag.types || tag.types.indexOf(workType) >= 0; });
  }

  function tagLabel(code) {
    var found = errorTags(null).filter(function (tag) { return tag.code === code; })[0];
    return found ? found.label : code;
  }

  function openReject() {
    var slot = state.current;
    if (!slot || slot.mode !== "review" || state.fixing) return;
    var box = dom.tags;
    box.querySelectorAll("label").forEach(function (n) { n.remove(); });
    errorTags(slot.lease.project.work_type).forEach(function (tag, i) {
      var input = el("input", { type: "checkbox", value: tag.code });
      box.appendChild(el("label", { class: "ws-tag" }, [input, kbd(String(i + 1)), el("span", { text: tag.label })]));
    });
    dom.rejectComment.value = "";
    dom.rejectProblem.hidden = true;
    dom.rejectDialog.showModal();
    dom.rejectSend.focus();
  }

  function confirmReject() {
    var slot = state.current;
    var tags = Array.prototype.filter.call(dom.tags.querySelectorAll("input"), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
    var comment = dom.rejectComment.value.trim();
    if (!tags.length && !comment) {
      dom.rejectProblem.textContent = t("Pick at least one error tag or write a comment, so the author knows what to fix.");
      dom.rejectProblem.hidden = false;
      return;
    }
    dom.rejectDialog.close();
    if (!slot) return;
    complete(slot, "review", { verdict: "reject", error_tags: tags, comment: comment || null });
  }

  function onRejectKey(ev) {
    var typing = isTyping(ev.target);
    if (ev.key === "Enter" && (!typing || ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      confirmReject();
      return;
    }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^[1-9]$/.test(ev.key)) {
      var input = dom.tags.querySelectorAll("input")[Number(ev.key) - 1];
      if (input) {
        input.checked = !input.checked;
        dom.rejectProblem.hidden = true;
      }
      ev.preventDefault();
    } else if (ev.key === "c") {
      dom.rejectComment.focus();
      ev.preventDefault();
    }
  }

  // --- keys -----------------------------------------------------------------------------------

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "range", "color", "file"].indexOf(target.type) < 0;
  }

  function toggleHelp() {
    if (dom.help.open) dom.help.close();
    else dom.help.showModal();
  }

  function toggleInstructions(open) {
    var show = open === undefined ? dom.instructions.hidden : open;
    dom.instructions.hidden = !show;
    dom.instructionsBtn.setAttribute("aria-expanded", show ? "true" : "false");
    dom.ws.classList.toggle("with-drawer", show);
    if (show) {
      try {
        localStorage.setItem("seatflow.instructions-seen." + cfg.project.id, instructionsStamp());
      } catch (e) { /* private mode: the drawer just opens again next time */ }
    }
  }

  function instructionsStamp() {
    var text = cfg.project.instructions || "";
    var h = 0;
    for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return String(h);
  }

  function onKeyDown(ev) {
    if (ev.isComposing || ev.keyCode === 229) return; // an input method (pinyin) is composing
    if (dom.help.open) {
      if (ev.key === "?") {
        dom.help.close();
        ev.preventDefault();
      }
      return;
    }
    if (dom.rejectDialog.open) {
      onRejectKey(ev);
      return;
    }
    var slot = state.current;
    var view = slot && slot.view;
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      primary();
      return;
    }
    if (isTyping(ev.target)) {
      if (view && view.onKey(ev)) {
        ev.preventDefault();
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        ev.target.blur();
        refocus();
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) {
      if (view && view.onKey(ev)) ev.preventDefault();
      return;
    }
    if (ev.key === "?") {
      ev.preventDefault();
      toggleHelp();
      return;
    }
    if (ev.key === "i") {
      ev.preventDefault();
      toggleInstructions();
      return;
    }
    if (ev.key === "Escape" && !dom.instructions.hidden) {
      ev.preventDefault();
      toggleInstructions(false);
      return;
    }
    if (!view) {
      if (ev.key === "Enter" && state.phase === "empty") {
        ev.preventDefault();
        retryNow();
      }
      return;
    }
    if (slot.mode === "review") {
      var actions = { a: accept, r: openReject, f: startFix };
      if (actions[ev.key]) {
        ev.preventDefault();
        actions[ev.key]();
        return;
      }
    }
    if (view.onKey(ev)) {
      ev.preventDefault();
      return;
    }
    if (ev.key === "Enter") {
      ev.preventDefault();
      primary();
    }
  }

  // --- timers ---------------------------------------------------------------------------------

  var lastShown = "";

  function tick() {
    var text = state.current ? clock(duration(state.current)) : "0:00";
    if (text !== lastShown) {
      dom.timer.textContent = text;
      lastShown = text;
    }
    updateEmptyCountdown();
  }

  function updateEmptyCountdown() {
    if (!dom.emptyRetry) return;
    if (state.phase !== "empty") {
      dom.emptyRetry.textContent = "";
      return;
    }
    var wait = Math.max(0, Math.ceil((state.noWorkUntil - Date.now()) / 1000));
    dom.emptyRetry.textContent = wait ? t("Asking again in %(seconds)s s.", { seconds: wait }) : t("Asking…");
  }

  function retryNow() {
    state.noWorkUntil = 0;
    setPhase("loading");
    fill();
  }

  function onVisibility() {
    var slot = state.current;
    if (document.visibilityState === "hidden") {
      if (slot) pauseClock(slot);
    } else {
      if (slot && slot.since === null) slot.since = performance.now();
      if (Date.now() - lastBeat > cfg.heartbeat_seconds * 1000) heartbeat();
      outbox.pump();
    }
  }

  // --- start ----------------------------------------------------------------------------------

  function bind() {
    [
      ["ws", "ws"], ["stage", "ws-stage"], ["loading", "ws-loading"], ["empty", "ws-empty"],
      ["emptyRetry", "ws-empty-retry"], ["error", "ws-error"], ["errorText", "ws-error-text"],
      ["actions", "ws-actions"], ["actionsAnnotate", "ws-actions-annotate"], ["actionsReview", "ws-actions-review"],
      ["submit", "ws-submit"], ["accept", "ws-accept"], ["reject", "ws-reject"], ["fix", "ws-fix"],
      ["fixing", "ws-fixing"], ["problem", "ws-problem"], ["itemId", "ws-item-id"], ["timer", "ws-timer"],
      ["done", "ws-done"], ["sync", "ws-sync"], ["mode", "ws-mode"], ["rework", "ws-rework"],
      ["notices", "ws-notices"], ["help", "ws-help"], ["viewKeys", "ws-keys-view"],
      ["instructions", "ws-instructions"], ["instructionsBtn", "ws-instructions-btn"],
      ["rejectDialog", "ws-reject-dialog"], ["tags", "ws-tags"], ["rejectComment", "ws-reject-comment"],
      ["rejectProblem", "ws-reject-problem"], ["rejectSend", "ws-reject-send"],
    ].forEach(function (pair) { dom[pair[0]] = $(pair[1]); });

    function click(node, fn) {
      node.addEventListener("click", function (ev) {
        ev.preventDefault();
        node.blur();
        fn();
        refocus();
      });
    }
    click(dom.submit, primary);
    click(dom.accept, accept);
    click(dom.reject, openReject);
    click(dom.fix, startFix);
    click($("ws-help-btn"), toggleHelp);
    click(dom.instructionsBtn, function () { toggleInstructions(); });
    click($("ws-instructions-close"), function () { toggleInstructions(false); });
    click($("ws-retry"), retryNow);
    click($("ws-error-retry"), function () { location.reload(); });
    [dom.help, dom.rejectDialog].forEach(function (dialog) {
      dialog.querySelectorAll("[data-close]").forEach(function (b) {
        b.addEventListener("click", function () { dialog.close(); });
      });
      dialog.addEventListener("close", refocus);
    });
    dom.rejectDialog.addEventListener("input", function () { dom.rejectProblem.hidden = true; });
    $("ws-reject-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      confirmReject();
    });
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("pagehide", releaseOnClose);
    window.addEventListener("pageshow", function (ev) {
      if (ev.persisted) location.reload(); // back from the cache: the leases were given back on leaving
    });
    window.addEventListener("beforeunload", function (ev) {
      if (outbox.unsent()) {
        ev.preventDefault();
        ev.returnValue = "";
      }
    });
  }

  function start() {
    bind();
    setPhase("loading");
    // every message the script writes needs the catalog; the shell is translated by the server
    (S.i18n ? S.i18n.ready : Promise.resolve()).then(run);
  }

  function run() {
    try {
      setDone(Number(sessionStorage.getItem(DONE_KEY)) || 0);
    } catch (e) { /* no storage */ }
    outbox.start();
    fill();
    setInterval(tick, 250);
    setInterval(heartbeat, cfg.heartbeat_seconds * 1000);
    var seen = null;
    try {
      seen = localStorage.getItem("seatflow.instructions-seen." + cfg.project.id);
    } catch (e) { /* no storage: do not insist */ }
    if (cfg.project.instructions && seen !== instructionsStamp()) toggleInstructions(true);
  }

  S.workspace = {
    state: state,
    outbox: outbox,
    heartbeat: heartbeat,
    errorTags: errorTags,
  };

  // Deferred scripts run before DOMContentLoaded: waiting for it means every view has registered.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
