/* Moderation view: an image, a video or a text; approve, reject (with reasons) or escalate.
 *
 * Keys: 1 approve, 2 reject, 3 escalate. After 2 the numbers pick the policy's reasons until Esc.
 * n writes a note. Video: Space play/pause, arrows seek 5 s, [ and ] or Shift+1..4 set the speed
 * (1x, 1.5x, 2x, 4x), Shift+arrows jump between keyframes, m mutes. The keyframe strip is drawn
 * in the browser by seeking a hidden copy of the video.
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  S.views = S.views || {};
  var SPEEDS = [1, 1.5, 2, 4];
  var SEEK_SECONDS = 5;
  var FRAME_SECONDS = 1 / 30;
  var THUMB_WIDTH = 160;

  function mediaUrl(lease) {
    var ref = lease.item.payload.media;
    if (!ref) return null;
    return (lease.item.media && lease.item.media[ref]) || ref;
  }

  function once(target, name) {
    return new Promise(function (resolve, reject) {
      function ok() { cleanup(); resolve(); }
      function bad() { cleanup(); reject(new Error(name + " failed")); }
      function cleanup() {
        target.removeEventListener(name, ok);
        target.removeEventListener("error", bad);
      }
      target.addEventListener(name, ok);
      target.addEventListener("error", bad);
    });
  }

  function preload(lease) {
    var kind = lease.item.payload.kind;
    var url = mediaUrl(lease);
    if (kind === "text" || !url) return Promise.resolve();
    return S.media.load(url).then(function (src) {
      if (kind !== "image") return null;
      var img = new Image();
      img.src = src;
      return img.decode ? img.decode().catch(function () {}) : null;
    });
  }

  /** Seek and wait until the frame at ``time`` is decoded: 'seeked' alone can leave the previous
   *  frame in place, so wait for the frame callback too (or a short while where there is none). */
  function seekFrame(video, time) {
    var framed = new Promise(function (resolve) {
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(function () { resolve(); });
      setTimeout(resolve, video.requestVideoFrameCallback ? 1000 : 100);
    });
    var seeked = once(video, "seeked");
    video.currentTime = time;
    return Promise.all([seeked, framed]);
  }

  /** Thumbnails at even steps through the video, drawn from a hidden copy; click one to jump there. */
  function keyframeStrip(src, player, strip, t) {
    var probe = document.createElement("video");
    var cancelled = false;
    probe.muted = true;
    probe.preload = "auto";
    probe.playsInline = true;
    probe.src = src;
    var thumbs = [];
    once(probe, "loadeddata").then(function () { // a first frame decoded: seeking now yields real frames
      var d = probe.duration;
      if (!isFinite(d) || d <= 0) throw new Error("no duration");
      var count = Math.min(12, Math.max(4, Math.round(d / 3)));
      var ratio = probe.videoHeight && probe.videoWidth ? probe.videoHeight / probe.videoWidth : 9 / 16;
      var times = [];
      for (var k = 0; k < count; k++) times.push(Math.min(d - 0.05, (k + 0.5) * d / count));
      times.forEach(function (time) {
        var canvas = document.createElement("canvas");
        canvas.width = THUMB_WIDTH;
        canvas.height = Math.round(THUMB_WIDTH * ratio);
        var button = S.ui.el("button", {
          type: "button", class: "mod-thumb is-loading", tabindex: "-1", dataset: { time: time.toFixed(3) },
          title: t("Jump to %(time)s", { time: S.ui.clock(time * 1000) }),
          onclick: function () { player.currentTime = time; },
        }, [canvas, S.ui.el("span", { text: S.ui.clock(time * 1000) })]);
        strip.appendChild(button);
        thumbs.push({ time: time, canvas: canvas, button: button });
      });
      return thumbs.reduce(function (chain, thumb) {
        return chain.then(function () {
          if (cancelled) return null;
          return seekFrame(probe, thumb.time).then(function () {
            thumb.canvas.getContext("2d").drawImage(probe, 0, 0, thumb.canvas.width, thumb.canvas.height);
            thumb.button.classList.remove("is-loading");
          });
        });
      }, Promise.resolve());
    }).catch(function () {
      if (!cancelled) strip.appendChild(S.ui.el("p", { class: "muted", text: t("No keyframes for this video.") }));
    }).then(function () {
      probe.removeAttribute("src");
      probe.load();
    });
    return {
      thumbs: thumbs,
      cancel: function () { cancelled = true; },
    };
  }

  function mount(root, ctx) {
    var t = ctx.t;
    var ui = S.ui;
    var el = ui.el;
    var lease = ctx.lease;
    var payload = lease.item.payload;
    var policy = ctx.schema || { reasons: [] };
    var reasons = policy.reasons || [];
    var canEscalate = policy.escalation !== false;
    var initial = ctx.initial || {};
    var decision = initial.decision || null;
    var chosen = (initial.reasons || []).slice();
    var readonly = !!ctx.readonly;
    var url = mediaUrl(lease);
    var player = null;
    var strip = null;
    var started = false;
    var timers = [];

    // --- the item ----------------------------------------------------------------------------
    var stage = el("div", { class: "mod-media mod-" + payload.kind });
    var speedButtons = [];
    var timeText = null;
    if (payload.kind === "image") {
      stage.appendChild(el("img", { class: "mod-img", src: S.media.url(url), alt: t("Image to moderate") }));
    } else if (payload.kind === "video") {
      player = el("video", { class: "mod-player", src: S.media.url(url), controls: true, playsinline: true, preload: "auto" });
      var speeds = el("div", { class: "mod-speeds", role: "group", "aria-label": t("Playback speed") });
      SPEEDS.forEach(function (rate) {
        var b = el("button", {
          type: "button", class: "mod-speed", tabindex: "-1", dataset: { rate: rate }, text: rate + "×",
          onclick: function () { setSpeed(rate); },
        });
        speedButtons.push(b);
        speeds.appendChild(b);
      });
      timeText = el("span", { class: "mod-time", text: "0:00" });
      var stripBox = el("div", { class: "mod-strip", "aria-label": t("Keyframes") });
      stage.appendChild(player);
      stage.appendChild(el("div", { class: "mod-vbar" }, [speeds, timeText]));
      stage.appendChild(stripBox);
      strip = keyframeStrip(S.media.url(url), player, stripBox, t);
      player.addEventListener("timeupdate", showTime);
      player.addEventListener("ratechange", showSpeed);
    } else {
      stage.appendChild(el("div", { class: "mod-textbox", text: payload.text || "" }));
    }

    // --- the decision ------------------------------------------------------------------------
    var side = el("aside", { class: "mod-side" });
    var facts = el("div", { class: "mod-facts" });
    var deadline = el("div", { class: "mod-deadline" });
    facts.appendChild(deadline);
    if (typeof payload.prescreen_score === "number") {
      var score = payload.prescreen_score;
      var level = score >= 0.7 ? "high" : score >= 0.4 ? "mid" : "low";
      facts.appendChild(el("div", { class: "mod-score mod-score-" + level }, [
        el("span", { class: "mod-fact-label", text: t("Machine risk score") }),
        el("strong", { text: score.toFixed(2) }),
        el("span", { class: "mod-meter", "aria-hidden": "true" }, [el("span", { style: "width:" + Math.round(score * 100) + "%" })]),
      ]));
    }
    var labels = payload.prescreen_labels || [];
    if (labels.length) {
      facts.appendChild(el("div", { class: "mod-prescreen" }, [
        el("span", { class: "mod-fact-label", text: t("The pre-screen saw") }),
      ].concat(labels.map(function (label) { return el("span", { class: "tag tag-muted", text: label }); }))));
    }
    side.appendChild(facts);

    var decisions = [
      { value: "approve", key: "1", label: t("Approve") },
      { value: "reject", key: "2", label: t("Reject") },
    ];
    if (canEscalate) decisions.push({ value: "escalate", key: "3", label: t("Escalate") });
    var decisionBox = el("div", { class: "mod-decisions", role: "radiogroup", "aria-label": t("Decision") });
    decisions.forEach(function (d) {
      decisionBox.appendChild(el("button", {
        type: "button", class: "mod-decision mod-" + d.value, role: "radio", "aria-checked": "false",
        dataset: { value: d.value }, onclick: function () { decide(d.value); },
      }, [ui.kbd(d.key), el("span", { text: d.label })]));
    });
    side.appendChild(el("h3", { text: t("Decision") }));
    side.appendChild(decisionBox);

    var reasonHead = el("h3", { text: t("Reason for rejecting") });
    var reasonHint = el("p", { class: "muted mod-hint", text: t("Press the number of each reason that applies; Esc goes back to the decision.") });
    var reasonBox = el("div", { class: "mod-reasons", role: "group", "aria-label": t("Reason for rejecting") });
    reasons.forEach(function (r, i) {
      reasonBox.appendChild(el("button", {
        type: "button", class: "mod-reason", "aria-pressed": "false", dataset: { code: r.code },
        onclick: function () { toggleReason(r.code); },
      }, [
        i < 9 ? ui.kbd(String(i + 1)) : null,
        el("span", { class: "mod-reason-title", text: r.title }),
        el("span", { class: "mod-sev mod-sev-" + r.severity, title: t("Severity %(n)s of 5", { n: r.severity }), text: "S" + r.severity }),
      ]));
    });
    var reasonSection = el("div", { class: "mod-reason-section" }, [reasonHead, reasonHint, reasonBox]);
    side.appendChild(reasonSection);

    var note = el("textarea", { class: "mod-note-input", rows: "2", maxlength: "2000" });
    note.value = initial.note || "";
    note.addEventListener("input", function () { ctx.onChange(); });
    side.appendChild(el("label", { class: "field mod-note" }, [el("span", null, [t("Note") + " ", ui.kbd("n")]), note]));

    var meta = payload.meta || {};
    var metaKeys = Object.keys(meta);
    if (metaKeys.length) {
      var dl = el("dl", { class: "ws-meta-list" });
      metaKeys.forEach(function (k) {
        var v = meta[k];
        dl.appendChild(el("div", null, [el("dt", { text: k }), el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })]));
      });
      side.appendChild(dl);
    }

    root.appendChild(el("div", { class: "mod" }, [stage, side]));

    // --- state -> DOM ------------------------------------------------------------------------
    function render() {
      Array.prototype.forEach.call(decisionBox.children, function (b) {
        b.setAttribute("aria-checked", b.dataset.value === decision ? "true" : "false");
        b.disabled = readonly;
      });
      Array.prototype.forEach.call(reasonBox.children, function (b) {
        b.setAttribute("aria-pressed", chosen.indexOf(b.dataset.code) >= 0 ? "true" : "false");
        b.disabled = readonly || decision !== "reject";
      });
      reasonSection.classList.toggle("is-active", decision === "reject");
      note.readOnly = readonly;
    }

    function showDeadline() {
      if (!lease.item.deadline) {
        deadline.className = "mod-deadline";
        deadline.textContent = t("No deadline");
        return;
      }
      var left = ui.timeLeft(lease.item.deadline);
      deadline.className = "mod-deadline mod-deadline-" + left.level;
      deadline.textContent = "";
      deadline.appendChild(el("span", { class: "mod-fact-label", text: t("Deadline") }));
      deadline.appendChild(el("strong", { text: left.text }));
    }

    function showTime() {
      if (player && timeText) {
        timeText.textContent = ui.clock(player.currentTime * 1000) + " / " + ui.clock((player.duration || 0) * 1000);
        if (strip) {
          var now = player.currentTime;
          strip.thumbs.forEach(function (th, i) {
            var next = strip.thumbs[i + 1];
            var start = i === 0 ? 0 : (strip.thumbs[i - 1].time + th.time) / 2;
            var end = next ? (th.time + next.time) / 2 : Infinity;
            th.button.classList.toggle("is-now", now >= start && now < end);
          });
        }
      }
    }

    function showSpeed() {
      speedButtons.forEach(function (b) {
        b.classList.toggle("is-active", Number(b.dataset.rate) === player.playbackRate);
      });
    }

    // --- editing -----------------------------------------------------------------------------
    function decide(value) {
      if (readonly) return;
      decision = value;
      if (value !== "reject") chosen = [];
      render();
      if (value === "reject" && reasonSection.scrollIntoView) reasonSection.scrollIntoView({ block: "nearest" });
      ctx.onChange();
    }

    function toggleReason(code) {
      if (readonly || decision !== "reject") return;
      var at = chosen.indexOf(code);
      if (at >= 0) chosen.splice(at, 1);
      else chosen.push(code);
      render();
      ctx.onChange();
    }

    function setSpeed(rate) {
      if (player) player.playbackRate = rate;
    }

    function stepSpeed(dir) {
      if (!player) return;
      var i = SPEEDS.indexOf(player.playbackRate);
      if (i < 0) i = 0;
      setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i + dir))]);
    }

    function jumpKeyframe(dir) {
      if (!strip || !strip.thumbs.length) return;
      var now = player.currentTime;
      var times = strip.thumbs.map(function (th) { return th.time; });
      var target = dir > 0
        ? times.filter(function (x) { return x > now + 0.05; })[0]
        : times.filter(function (x) { return x < now - 0.05; }).pop();
      if (target === undefined) target = dir > 0 ? times[times.length - 1] : 0;
      player.currentTime = target;
    }

    function videoKey(ev) {
      if (!player) return false;
      var key = ev.key;
      if (ev.shiftKey && /^Digit[1-4]$/.test(ev.code)) {
        setSpeed(SPEEDS[Number(ev.code.slice(5)) - 1]);
        return true;
      }
      if (key === " ") {
        if (player.paused) player.play().catch(function () {});
        else player.pause();
        return true;
      }
      if (key === "ArrowLeft" || key === "ArrowRight") {
        var dir = key === "ArrowRight" ? 1 : -1;
        if (ev.shiftKey) jumpKeyframe(dir);
        else player.currentTime = Math.max(0, Math.min(player.duration || 0, player.currentTime + dir * SEEK_SECONDS));
        return true;
      }
      if (key === "[" || key === "]") {
        stepSpeed(key === "]" ? 1 : -1);
        return true;
      }
      if (key === "," || key === ".") {
        player.pause();
        player.currentTime = Math.max(0, player.currentTime + (key === "." ? 1 : -1) * FRAME_SECONDS);
        return true;
      }
      if (key === "m") {
        player.muted = !player.muted;
        return true;
      }
      return false;
    }

    render();
    showDeadline();
    timers.push(setInterval(showDeadline, 1000));
    if (player) showSpeed();

    var keys = [
      { key: "1", help: t("Approve") },
      { key: "2", help: t("Reject, then pick the reasons by number") },
    ];
    if (canEscalate) keys.push({ key: "3", help: t("Escalate to a senior moderator") });
    keys.push({ key: "Esc", help: t("Back from the reasons to the decision") }, { key: "n", help: t("Write a note") });
    if (player) {
      keys.push(
        { key: "Space", help: t("Play or pause") },
        { key: "← →", help: t("Back or forward 5 seconds") },
        { key: "[ ]", help: t("Slower or faster") },
        { key: "Shift+1 Shift+2 Shift+3 Shift+4", help: t("Speed 1×, 1.5×, 2×, 4×") },
        { key: "Shift+← Shift+→", help: t("Previous or next keyframe") },
        { key: ", .", help: t("One frame back or forward") },
        { key: "m", help: t("Sound on or off") }
      );
    }

    return {
      keys: keys,
      answer: function () {
        if (!decision) {
          throw new Error(canEscalate
            ? t("Choose a decision first: 1 approve, 2 reject, 3 escalate.")
            : t("Choose a decision first: 1 approve, 2 reject."));
        }
        if (decision === "reject" && !chosen.length) {
          throw new Error(t("A rejection needs a reason: press the number of the reason."));
        }
        var text = note.value.trim();
        return {
          decision: decision,
          reasons: decision === "reject"
            ? reasons.map(function (r) { return r.code; }).filter(function (c) { return chosen.indexOf(c) >= 0; })
            : [],
          note: text || null,
        };
      },
      onKey: function (ev) {
        if (ev.target === note) return false; // typing a note
        if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
        if (videoKey(ev)) return true;
        var key = ev.key;
        if (/^[1-9]$/.test(key) && !ev.shiftKey) {
          if (readonly) return true;
          var k = Number(key) - 1;
          if (decision === "reject") {
            if (k < reasons.length) toggleReason(reasons[k].code);
          } else if (k < decisions.length) {
            decide(decisions[k].value);
          }
          return true;
        }
        if (key === "Escape" && decision === "reject" && !readonly) {
          decision = null;
          chosen = [];
          render();
          ctx.onChange();
          return true;
        }
        if (key === "n" && !readonly) {
          note.focus();
          return true;
        }
        return false;
      },
      setReadonly: function (value) {
        readonly = !!value;
        render();
      },
      focus: function () {
        if (document.activeElement !== note) root.focus({ preventScroll: true });
        if (player && !started) {
          started = true;
          player.play().catch(function () {
            player.muted = true; // no sound before the first key press of the session
            player.play().catch(function () {});
          });
        }
      },
      destroy: function () {
        timers.forEach(clearInterval);
        if (strip) strip.cancel();
        if (player) {
          player.pause();
          player.removeAttribute("src");
          player.load();
        }
        if (url && payload.kind !== "text") S.media.release(url);
      },
    };
  }

  S.views.moderation = { preload: preload, mount: mount };
})();
