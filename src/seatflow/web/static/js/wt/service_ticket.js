/* Service ticket view: the customer's message and the order beside a reply box.
 *
 * Keys: c then a number inserts a canned reply (placeholders filled from the order and the
 * customer, by the same rules as the server's render_canned in worktypes/ticket.py) and selects
 * the first placeholder still open; e edits the reply, Esc leaves it; 1..9 pick the disposition;
 * Ctrl+Enter sends from inside the reply box.
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  S.views = S.views || {};
  var PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  var REPLY_MAX = 5000;

  function has(obj, name) {
    return obj !== null && typeof obj === "object" && Object.prototype.hasOwnProperty.call(obj, name);
  }

  /** What Python's str() prints for a JSON scalar (True, not true). */
  function pyStr(value) {
    if (value === true) return "True";
    if (value === false) return "False";
    return String(value);
  }

  /** The canned reply with its {placeholders} filled; mirrors ticket.render_canned on the server. */
  function renderCanned(template, order, customer) {
    order = order || {};
    customer = customer || {};
    function lookup(name) {
      if (has(order, name)) return order[name];
      var sources = [["order_", order], ["customer_", customer]];
      for (var i = 0; i < sources.length; i++) {
        var prefix = sources[i][0];
        var rest = name.slice(prefix.length);
        if (name.slice(0, prefix.length) === prefix && has(sources[i][1], rest)) return sources[i][1][rest];
      }
      return null;
    }
    return template.replace(PLACEHOLDER, function (whole, name) {
      var value = lookup(name);
      if (value === null || value === undefined || typeof value === "object" || value === "") return whole;
      return pyStr(value);
    });
  }

  function shown(value, t) {
    if (value === true) return t("yes");
    if (value === false) return t("no");
    return value !== null && typeof value === "object" ? JSON.stringify(value) : pyStr(value);
  }

  function fieldRows(el, t, obj, skip) {
    var dl = el("dl", { class: "tk-fields" });
    Object.keys(obj || {}).forEach(function (k) {
      if (skip && skip.indexOf(k) >= 0) return;
      var v = obj[k];
      var list = null;
      if (Array.isArray(v)) {
        list = el("ul", { class: "tk-list" });
        v.forEach(function (x) {
          list.appendChild(el("li", { text: shown(x, t) }));
        });
      }
      dl.appendChild(el("div", null, [el("dt", { text: k }), el("dd", null, [list || document.createTextNode(shown(v, t))])]));
    });
    return dl;
  }

  function mount(root, ctx) {
    var t = ctx.t;
    var ui = S.ui;
    var el = ui.el;
    var payload = ctx.lease.item.payload;
    var schema = ctx.schema || {};
    var dispositions = schema.dispositions || [];
    var canned = schema.canned_replies || [];
    var initial = ctx.initial || {};
    var disposition = initial.disposition || null;
    var readonly = !!ctx.readonly;
    var cannedPending = false; // "c" pressed: the next number picks a canned reply
    var customer = payload.customer || {};
    var order = payload.order || {};

    // --- the customer and the order -----------------------------------------------------------
    var left = el("section", { class: "tk-left", "aria-label": t("Customer and order") });
    var deadline = el("span", { class: "tk-deadline" });
    var who = el("div", { class: "tk-who" }, [
      el("strong", { class: "tk-name", text: customer.name || "" }),
      payload.channel ? el("span", { class: "tag", text: payload.channel }) : null,
      deadline,
    ]);
    function showDeadline() {
      if (!ctx.lease.item.deadline) return;
      var left = ui.timeLeft(ctx.lease.item.deadline);
      deadline.className = "tk-deadline tk-deadline-" + left.level;
      deadline.textContent = t("Reply due: %(left)s", { left: left.text });
    }
    showDeadline();
    var timer = setInterval(showDeadline, 1000);
    left.appendChild(who);
    var extraCustomer = Object.keys(customer).filter(function (k) { return k !== "name"; });
    if (extraCustomer.length) left.appendChild(fieldRows(el, t, customer, ["name"]));
    left.appendChild(el("h3", { text: t("Message") }));
    left.appendChild(el("div", { class: "tk-message", text: payload.message || "" }));
    left.appendChild(el("h3", { text: t("Order") }));
    left.appendChild(fieldRows(el, t, order));
    if (payload.meta && Object.keys(payload.meta).length) {
      left.appendChild(el("h3", { text: t("More about this ticket") }));
      left.appendChild(fieldRows(el, t, payload.meta));
    }

    // --- the reply ---------------------------------------------------------------------------
    var right = el("section", { class: "tk-right", "aria-label": t("Your reply") });
    var cannedBox = null;
    if (canned.length) {
      cannedBox = el("div", { class: "tk-canned" });
      canned.forEach(function (c, i) {
        cannedBox.appendChild(el("button", {
          type: "button", class: "tk-canned-btn", dataset: { key: c.key }, title: renderCanned(c.text, order, customer),
          onclick: function () { insertCanned(i); },
        }, [i < 9 ? ui.kbd(String(i + 1)) : null, el("span", { text: c.title })]));
      });
      right.appendChild(el("h3", null, [t("Canned replies") + " ", el("span", { class: "muted tk-keyhint" }, [ui.kbd("c"), " + ", ui.kbd("1–" + Math.min(9, canned.length))])]));
      right.appendChild(cannedBox);
    }
    var reply = el("textarea", { class: "tk-reply", rows: "9", maxlength: String(REPLY_MAX), spellcheck: "true",
      "aria-label": t("Reply to the customer") });
    reply.value = initial.reply || "";
    var replyInfo = el("p", { class: "tk-reply-info muted" });
    right.appendChild(el("label", { class: "tk-reply-label" }, [el("span", null, [t("Reply") + " ", ui.kbd("e")])]));
    right.appendChild(reply);
    right.appendChild(replyInfo);

    var dispoBox = el("div", { class: "tk-dispositions", role: "radiogroup", "aria-label": t("Disposition") });
    dispositions.forEach(function (d, i) {
      dispoBox.appendChild(el("button", {
        type: "button", class: "tk-dispo", role: "radio", "aria-checked": "false", dataset: { code: d.code },
        onclick: function () { choose(d.code); },
      }, [i < 9 ? ui.kbd(String(i + 1)) : null, el("span", { text: d.title })]));
    });
    right.appendChild(el("h3", { text: t("Disposition") }));
    right.appendChild(dispoBox);

    root.appendChild(el("div", { class: "tk" }, [left, right]));

    // --- state -> DOM ------------------------------------------------------------------------
    function openPlaceholders() {
      var found = [];
      var m;
      PLACEHOLDER.lastIndex = 0;
      while ((m = PLACEHOLDER.exec(reply.value)) !== null) found.push({ text: m[0], start: m.index, end: m.index + m[0].length });
      return found;
    }

    function render() {
      Array.prototype.forEach.call(dispoBox.children, function (b) {
        b.setAttribute("aria-checked", b.dataset.code === disposition ? "true" : "false");
        b.disabled = readonly;
      });
      if (cannedBox) {
        cannedBox.classList.toggle("is-picking", cannedPending);
        Array.prototype.forEach.call(cannedBox.children, function (b) { b.disabled = readonly; });
      }
      reply.readOnly = readonly;
      var open = openPlaceholders();
      replyInfo.textContent = "";
      replyInfo.appendChild(document.createTextNode(t("%(n)s of %(max)s characters", { n: reply.value.length, max: REPLY_MAX })));
      if (open.length) {
        replyInfo.appendChild(el("span", { class: "tk-open", text: " · " + t("Still to fill in: %(names)s",
          { names: open.map(function (p) { return p.text; }).join(" ") }) }));
      }
    }

    function choose(code) {
      if (readonly) return;
      disposition = code;
      render();
      ctx.onChange();
    }

    function selectFirstPlaceholder() {
      var open = openPlaceholders();
      if (!open.length) return false;
      reply.focus();
      reply.setSelectionRange(open[0].start, open[0].end);
      return true;
    }

    function insertCanned(i) {
      if (readonly || !canned[i]) return;
      var text = renderCanned(canned[i].text, order, customer);
      var value = reply.value;
      var start = reply.selectionStart;
      var end = reply.selectionEnd;
      if (!value.trim()) {
        reply.value = text;
      } else {
        var at = document.activeElement === reply || start !== value.length ? start : value.length;
        var upto = document.activeElement === reply ? end : at;
        var before = value.slice(0, at);
        var sep = before && !/\s$/.test(before) ? " " : "";
        reply.value = before + sep + text + value.slice(upto);
        reply.setSelectionRange(at + sep.length + text.length, at + sep.length + text.length);
      }
      if (!selectFirstPlaceholder()) reply.setSelectionRange(reply.value.length, reply.value.length);
      render();
      ctx.onChange();
    }

    reply.addEventListener("input", function () {
      render();
      ctx.onChange();
    });

    render();

    var keys = [];
    if (canned.length) keys.push({ key: "c 1–" + Math.min(9, canned.length), help: t("Insert a canned reply (then type over the selected placeholder)") });
    keys.push(
      { key: "e", help: t("Write in the reply box") },
      { key: "Esc", help: t("Leave the reply box") },
      { key: "1–" + Math.min(9, dispositions.length), help: t("Choose the disposition") },
      { key: "Ctrl+Enter", help: t("Send from inside the reply box") }
    );

    return {
      keys: keys,
      answer: function () {
        var text = reply.value.trim();
        if (!text) throw new Error(t("Write a reply first: press e to type, or c and a number for a canned reply."));
        var open = openPlaceholders();
        if (open.length) {
          throw new Error(t("The reply still contains %(placeholder)s: replace it with the real value.", { placeholder: open[0].text }));
        }
        if (!disposition) {
          throw new Error(t("Choose a disposition: press a number from 1 to %(n)s.", { n: Math.min(9, dispositions.length) }));
        }
        return { reply: text, disposition: disposition };
      },
      onKey: function (ev) {
        if (ev.target === reply) {
          if (ev.key === "Tab" && !ev.shiftKey && openPlaceholders().length) {
            return selectFirstPlaceholder(); // Tab jumps to the next placeholder to fill in
          }
          return false;
        }
        if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
        var key = ev.key;
        if (cannedPending) {
          cannedPending = false;
          if (/^[1-9]$/.test(key)) insertCanned(Number(key) - 1);
          render();
          return true;
        }
        if (key === "c" && canned.length && !readonly) {
          cannedPending = true;
          render();
          return true;
        }
        if (key === "e" && !readonly) {
          reply.focus();
          reply.setSelectionRange(reply.value.length, reply.value.length);
          return true;
        }
        if (/^[1-9]$/.test(key)) {
          var k = Number(key) - 1;
          if (k < dispositions.length) choose(dispositions[k].code);
          return true;
        }
        return false;
      },
      setReadonly: function (value) {
        readonly = !!value;
        render();
      },
      focus: function () {
        if (document.activeElement !== reply) root.focus({ preventScroll: true });
      },
      destroy: function () {
        clearInterval(timer);
      },
      renderCanned: renderCanned,
    };
  }

  S.views.service_ticket = { preload: function () { return Promise.resolve(); }, mount: mount, renderCanned: renderCanned };
})();
