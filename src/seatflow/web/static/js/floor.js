/* The live floor (/floor): draws the snapshot the page came with, then follows the server-sent
 * events of /api/v1/floor/stream and redraws only the tiles that changed; counts the times on the
 * tiles up every second; moves a worker to another project through the API.
 * Messages go through Seatflow.t (static/js/i18n.js), so the page speaks the reader's language.
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  function t(msgid, params) {
    return S.t ? S.t(msgid, params) : msgid;
  }

  var config = JSON.parse(document.getElementById("floor-config").textContent);
  var tilesEl = document.getElementById("floor-tiles");
  var projectsEl = document.getElementById("floor-projects");
  var liveEl = document.getElementById("floor-live");
  var tiles = {}; // user id -> {node, key}
  var offset = 0; // server clock - browser clock, ms
  var last = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /** seconds -> "4:05" or "1:02:03" */
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad2(m) : String(m)) + ":" + pad2(s % 60);
  }

  function now() {
    return Date.now() + offset;
  }

  var STATE_LABELS = {
    working: function () { return t("Working"); },
    idle: function () { return t("Idle"); },
    "break": function () { return t("On a break"); },
    offline: function () { return t("Offline"); },
  };

  function isStuck(tile) {
    return tile.stuck || (tile.stuck_after !== null && Date.parse(tile.stuck_after) <= now());
  }

  function drawTile(tile) {
    var li = el("li", "floor-tile");
    li.dataset.user = tile.username;
    li.dataset.state = tile.state;
    if (tile.since) li.dataset.since = tile.since;
    if (tile.stuck_after) li.dataset.stuckAfter = tile.stuck_after;

    var head = el("div", "tile-head");
    var name = el("span", "tile-name", tile.display_name || tile.username);
    name.title = tile.username;
    head.appendChild(name);
    head.appendChild(el("span", "tile-seat", tile.seat ? t("Seat %(seat)s", { seat: tile.seat }) : t("No seat")));
    li.appendChild(head);

    var state = el("div", "tile-state");
    state.appendChild(el("span", "dot dot-" + tile.state));
    state.appendChild(el("span", "tile-state-label", STATE_LABELS[tile.state]()));
    if (tile.since) state.appendChild(el("span", "tile-time", clock((now() - Date.parse(tile.since)) / 1000)));
    li.appendChild(state);

    if (tile.project) li.appendChild(el("div", "tile-project", tile.project.name));
    var marks = el("div", "tile-marks");
    var stuck = el("span", "mark mark-stuck", t("Stuck"));
    stuck.hidden = !isStuck(tile);
    marks.appendChild(stuck);
    if (tile.idle_backlog.length) {
      marks.appendChild(el("span", "mark mark-backlog",
        t("Idle while work waits: %(projects)s", { projects: tile.idle_backlog.join(", ") })));
    }
    li.appendChild(marks);

    var foot = el("div", "tile-foot");
    foot.appendChild(el("span", "tile-assigned",
      tile.assigned_project ? t("Assigned: %(project)s", { project: tile.assigned_project.name }) : ""));
    if (config.projects.length) {
      var btn = el("button", "btn btn-ghost tile-move", t("Move…"));
      btn.type = "button";
      btn.addEventListener("click", function () { openMove(tile); });
      foot.appendChild(btn);
    }
    li.appendChild(foot);
    li.classList.toggle("is-stuck", isStuck(tile));
    return li;
  }

  function tileKey(tile) {
    return JSON.stringify(tile);
  }

  function drawTiles(list) {
    var seen = {};
    var previous = null;
    list.forEach(function (tile) {
      seen[tile.id] = true;
      var key = tileKey(tile);
      var known = tiles[tile.id];
      var node;
      if (known && known.key === key) {
        node = known.node;
      } else {
        node = drawTile(tile);
        if (known) tilesEl.replaceChild(node, known.node);
        tiles[tile.id] = { node: node, key: key, tile: tile };
      }
      var want = previous ? previous.nextSibling : tilesEl.firstChild;
      if (want !== node) tilesEl.insertBefore(node, want);
      previous = node;
    });
    Object.keys(tiles).forEach(function (id) {
      if (!seen[id]) {
        tiles[id].node.remove();
        delete tiles[id];
      }
    });
    document.getElementById("floor-empty").hidden = list.length > 0;
    var counts = { working: 0, idle: 0, "break": 0, offline: 0 };
    list.forEach(function (tile) { counts[tile.state] += 1; });
    var summary = t("%(working)s working · %(idle)s idle · %(away)s on a break · %(offline)s offline",
      { working: counts.working, idle: counts.idle, away: counts["break"], offline: counts.offline });
    document.getElementById("floor-count").textContent = summary;
  }

  function figure(label, value) {
    var d = el("div", "pf");
    d.appendChild(el("span", "pf-num", value));
    d.appendChild(el("span", "pf-label", label));
    return d;
  }

  function drawProjects(list) {
    projectsEl.textContent = "";
    list.forEach(function (p) {
      var card = el("div", "floor-project" + (p.at_risk ? " at-risk" : ""));
      card.dataset.project = p.slug;
      var head = el("div", "fp-head");
      head.appendChild(el("h3", null, p.name));
      var risk = el("span", p.at_risk ? "mark mark-risk" : "mark mark-ok",
        p.at_risk ? t("SLA at risk") : t("On track"));
      head.appendChild(risk);
      card.appendChild(head);
      var figs = el("div", "fp-figs");
      figs.appendChild(figure(t("Backlog"), String(p.backlog)));
      figs.appendChild(figure(t("Due within %(n)s min", { n: config.due_soon_minutes }), String(p.due_soon)));
      figs.appendChild(figure(t("Seats working"), String(p.seats_working)));
      figs.appendChild(figure(t("Avg. handling time"),
        p.aht_seconds === null ? "–" : t("%(n)s s", { n: Math.round(p.aht_seconds) })));
      figs.appendChild(figure(t("Backlog cleared in"),
        p.clear_minutes === null ? "–" : t("%(n)s min", { n: p.clear_minutes })));
      card.appendChild(figs);
      if (p.risk.indexOf("forecast") >= 0) {
        card.appendChild(el("p", "fp-note", t("At this pace the backlog is not cleared before its last deadline.")));
      }
      projectsEl.appendChild(card);
    });
    document.getElementById("floor-projects-empty").hidden = list.length > 0;
  }

  function apply(snap) {
    offset = Date.parse(snap.at) - Date.now();
    last = snap;
    drawTiles(snap.tiles);
    drawProjects(snap.projects);
  }

  /** Every second: the times on the tiles, and a worker who has just become stuck. */
  function tick() {
    Object.keys(tiles).forEach(function (id) {
      var entry = tiles[id];
      var since = entry.node.dataset.since;
      var time = entry.node.querySelector(".tile-time");
      if (since && time) time.textContent = clock((now() - Date.parse(since)) / 1000);
      var stuck = isStuck(entry.tile);
      entry.node.classList.toggle("is-stuck", stuck);
      entry.node.querySelector(".mark-stuck").hidden = !stuck;
    });
  }

  function setLive(state, text) {
    liveEl.dataset.live = state;
    liveEl.textContent = text;
  }

  function connect() {
    if (!window.EventSource) {
      setLive("off", t("This browser cannot follow the floor live; reload the page to refresh it."));
      return;
    }
    var source = new EventSource(config.stream);
    source.addEventListener("open", function () { setLive("live", t("Live")); });
    source.addEventListener("snapshot", function (e) {
      setLive("live", t("Live"));
      apply(JSON.parse(e.data));
    });
    source.addEventListener("problem", function () { setLive("lagging", t("The server is busy; retrying…")); });
    source.addEventListener("gone", function () {
      source.close();
      setLive("off", t("You may no longer see the floor."));
    });
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED) setLive("connecting", t("Reconnecting…"));
    });
  }

  // --- moving a worker ---------------------------------------------------------------------------
  var dialog = document.getElementById("floor-move");
  var select = document.getElementById("floor-move-project");
  var grantBox = document.getElementById("floor-move-grant");
  var grantCheck = document.getElementById("floor-move-grant-box");
  var errorEl = document.getElementById("floor-move-error");
  var moving = null;

  config.projects.forEach(function (p) {
    var opt = el("option", null, p.name);
    opt.value = p.slug;
    select.appendChild(opt);
  });

  function openMove(tile) {
    moving = tile;
    document.getElementById("floor-move-who").textContent = t("Move %(name)s to the project they should work on next.",
      { name: tile.display_name || tile.username });
    var current = tile.assigned_project || tile.project;
    if (current) select.value = current.slug;
    grantBox.hidden = true;
    grantCheck.checked = false;
    errorEl.hidden = true;
    if (dialog.showModal) dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  function closeMove() {
    if (dialog.close) dialog.close();
    else dialog.removeAttribute("open");
    moving = null;
  }

  function toast(text) {
    var node = document.getElementById("floor-toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { node.hidden = true; }, 4000);
  }

  document.getElementById("floor-move-cancel").addEventListener("click", closeMove);
  document.getElementById("floor-move-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!moving) return;
    var who = moving;
    var chosen = select.options[select.selectedIndex];
    var body = { project: select.value, grant: !grantBox.hidden && grantCheck.checked };
    fetch("/api/v1/floor/workers/" + encodeURIComponent(who.username) + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept-Language": document.documentElement.lang || "en" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    }).then(function (res) {
      if (res.status === 200) {
        closeMove();
        toast(t("%(name)s moved to %(project)s.", { name: who.display_name || who.username, project: res.data.project.name }));
      } else if (res.status === 409 && res.data.field === "grant") {
        grantBox.hidden = false;
        var ask = t("%(name)s is not qualified for %(project)s. Qualify them (annotate) and move them?",
          { name: who.display_name || who.username, project: chosen ? chosen.textContent : select.value });
        document.getElementById("floor-move-grant-text").textContent = ask;
      } else {
        errorEl.textContent = t("The move failed: %(detail)s", { detail: res.data.detail || res.status });
        errorEl.hidden = false;
      }
    }).catch(function () {
      errorEl.textContent = t("The server did not answer; try again.");
      errorEl.hidden = false;
    });
  });

  function start() {
    apply(config.snapshot);
    setInterval(tick, 1000);
    connect();
  }

  (S.i18n ? S.i18n.ready : Promise.resolve()).then(start);
  S.floor = { last: function () { return last; } };
})();
