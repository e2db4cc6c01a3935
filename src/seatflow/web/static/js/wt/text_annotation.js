/* Text annotation view: document classes and labelled spans.
 *
 * Offsets are Unicode code points into payload.text (as the server counts them), end exclusive:
 * the text is split with Array.from, one <span> per character, so a mouse position or a caret
 * maps straight to an offset. Keys: a number picks a class, or labels the selected text when
 * there is a selection; arrows move the caret, Shift+arrows extend the selection (Ctrl+Shift by
 * word, Shift+Up/Down by line); Delete removes the span at the caret; Esc clears the selection.
 */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  S.views = S.views || {};
  var COLORS = 8; // label colours in workspace.css: .ta-c0 ... .ta-c7

  function charClass(ch) {
    if (/\s/.test(ch)) return "space";
    if (/[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]/.test(ch)) return "cjk:" + ch; // each CJK character is a word
    if (/[\p{L}\p{N}_]/u.test(ch)) return "word";
    return "punct:" + ch;
  }

  function mount(root, ctx) {
    var t = ctx.t;
    var ui = S.ui;
    var el = ui.el;
    var schema = ctx.schema || {};
    var classes = schema.classes || [];
    var labels = schema.span_labels || [];
    var multi = !!schema.multi_label;
    var text = ctx.lease.item.payload.text || "";
    var chars = Array.from(text);
    var n = chars.length;
    var initial = ctx.initial || {};
    var chosen = (initial.classes || []).filter(function (c) { return classes.indexOf(c) >= 0; });
    var spans = (initial.spans || []).map(function (s) { return { start: s.start, end: s.end, label: s.label }; });
    var readonly = !!ctx.readonly;
    var anchor = 0;
    var caret = 0;
    var dragging = false;

    // --- DOM ---------------------------------------------------------------------------------
    var textBox = el("div", { class: "ta-text", tabindex: "0", lang: "", "aria-label": t("Text to annotate") });
    var charNodes = chars.map(function (ch, i) {
      var node = document.createElement("span");
      node.textContent = ch;
      node.dataset.i = i;
      return node;
    });
    var frag = document.createDocumentFragment();
    charNodes.forEach(function (node) { frag.appendChild(node); });
    var endMark = el("span", { class: "ta-end", "aria-hidden": "true" });
    frag.appendChild(endMark);
    textBox.appendChild(frag);

    var side = el("aside", { class: "ta-side" });
    var classList = null;
    if (classes.length) {
      classList = el("div", { class: "ta-options", role: multi ? "group" : "radiogroup", "aria-label": t("Class") });
      classes.forEach(function (name, i) {
        classList.appendChild(el("button", {
          type: "button", class: "ta-option", "aria-pressed": "false", dataset: { value: name },
          onclick: function () { toggleClass(name); },
        }, [i < 9 ? ui.kbd(String(i + 1)) : null, el("span", { text: name })]));
      });
      side.appendChild(el("h3", { text: multi ? t("Classes (several allowed)") : t("Class") }));
      side.appendChild(classList);
    }
    var labelList = null;
    var spanList = null;
    var spanCount = null;
    if (labels.length) {
      labelList = el("div", { class: "ta-options ta-labels" });
      labels.forEach(function (name, i) {
        labelList.appendChild(el("button", {
          type: "button", class: "ta-option ta-label ta-c" + (i % COLORS), dataset: { value: name },
          onclick: function () { labelSelection(name); },
        }, [i < 9 ? ui.kbd(String(i + 1)) : null, el("span", { text: name })]));
      });
      side.appendChild(el("h3", { text: t("Span labels") }));
      side.appendChild(el("p", { class: "ta-hint muted", text: classes.length
        ? t("Select text with the mouse or Shift+arrows, then press its number. Without a selection, a number picks the class.")
        : t("Select text with the mouse or Shift+arrows, then press its number.") }));
      side.appendChild(labelList);
      spanCount = el("span", { class: "ta-count" });
      side.appendChild(el("h3", null, [t("Spans") + " ", spanCount]));
      spanList = el("ul", { class: "ta-spans" });
      side.appendChild(spanList);
    }
    var meta = ctx.lease.item.payload.meta || {};
    var metaKeys = Object.keys(meta);
    if (metaKeys.length) {
      var dl = el("dl", { class: "ws-meta-list" });
      metaKeys.forEach(function (k) {
        var v = meta[k];
        dl.appendChild(el("div", null, [el("dt", { text: k }), el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })]));
      });
      side.appendChild(el("h3", { text: t("About this text") }));
      side.appendChild(dl);
    }
    root.appendChild(el("div", { class: "ta" + (labels.length ? " ta-has-spans" : "") }, [
      el("div", { class: "ta-main" }, [textBox]), side,
    ]));

    // --- state -> DOM ------------------------------------------------------------------------
    function selection() {
      return { start: Math.min(anchor, caret), end: Math.max(anchor, caret) };
    }

    function renderText() {
      var sel = selection();
      var cover = new Array(n); // character -> the spans over it, in the order they were made
      var starts = {}; // first character -> the labels of the spans that start there
      spans.forEach(function (s) {
        starts[s.start] = (starts[s.start] ? starts[s.start] + " " : "") + s.label;
        for (var i = Math.max(0, s.start); i < Math.min(n, s.end); i++) {
          if (!cover[i]) cover[i] = [];
          cover[i].push(s);
        }
      });
      for (var i = 0; i < n; i++) {
        var cls = "";
        if (cover[i]) {
          var top = cover[i][cover[i].length - 1];
          cls = "ta-hl ta-c" + (labels.indexOf(top.label) % COLORS);
          if (cover[i].length > 1) cls += " ta-multi";
          if (starts[i]) cls += " ta-start";
        }
        var tagText = starts[i] || "";
        if ((charNodes[i].dataset.l || "") !== tagText) {
          if (tagText) charNodes[i].dataset.l = tagText;
          else delete charNodes[i].dataset.l;
        }
        if (i >= sel.start && i < sel.end) cls += " ta-sel";
        if (!readonly && i === caret) cls += " ta-caret";
        if (charNodes[i].className !== cls) charNodes[i].className = cls;
      }
      endMark.className = "ta-end" + (!readonly && caret === n ? " ta-caret" : "");
    }

    function excerpt(s) {
      var part = chars.slice(s.start, s.end).join("");
      return part.length > 40 ? part.slice(0, 39) + "…" : part;
    }

    function renderSide() {
      if (classList) {
        Array.prototype.forEach.call(classList.children, function (b) {
          var on = chosen.indexOf(b.dataset.value) >= 0;
          b.setAttribute("aria-pressed", on ? "true" : "false");
          b.disabled = readonly;
        });
      }
      if (labelList) {
        Array.prototype.forEach.call(labelList.children, function (b) { b.disabled = readonly; });
      }
      if (spanList) {
        spanList.textContent = "";
        spanCount.textContent = "(" + spans.length + ")";
        sorted().forEach(function (s) {
          var li = el("li", { class: "ta-span", dataset: { start: s.start, end: s.end, label: s.label } }, [
            el("span", { class: "ta-chip ta-c" + (labels.indexOf(s.label) % COLORS), text: s.label }),
            el("button", {
              type: "button", class: "ta-span-text", text: excerpt(s), title: t("Select this span"),
              onclick: function () { anchor = s.start; caret = s.end; renderText(); textBox.focus(); },
            }),
            readonly ? null : el("button", {
              type: "button", class: "ta-remove", text: "×", "aria-label": t("Remove this span"),
              onclick: function () { removeSpan(s); textBox.focus(); },
            }),
          ]);
          spanList.appendChild(li);
        });
        if (!spans.length) spanList.appendChild(el("li", { class: "muted ta-none", text: t("No spans yet.") }));
      }
    }

    function render() {
      renderText();
      renderSide();
    }

    function changed() {
      render();
      ctx.onChange();
    }

    function sorted() {
      return spans.slice().sort(function (a, b) {
        return a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
      });
    }

    // --- editing -----------------------------------------------------------------------------
    function toggleClass(name) {
      if (readonly) return;
      var at = chosen.indexOf(name);
      if (multi) {
        if (at >= 0) chosen.splice(at, 1);
        else chosen.push(name);
      } else {
        chosen = [name]; // one class: the number sets it (pressing it again keeps it)
      }
      changed();
    }

    function trimmed(sel) {
      var s = sel.start;
      var e = sel.end;
      while (s < e && /\s/.test(chars[s])) s++;
      while (e > s && /\s/.test(chars[e - 1])) e--;
      return { start: s, end: e };
    }

    function labelSelection(label) {
      if (readonly) return false;
      var sel = trimmed(selection());
      if (sel.end <= sel.start) return false;
      var same = spans.filter(function (s) { return s.start === sel.start && s.end === sel.end && s.label === label; });
      if (same.length) {
        spans.splice(spans.indexOf(same[0]), 1); // the same label again takes it off
      } else {
        // a span never overlaps another of its own label (the server refuses that): the new one wins
        spans = spans.filter(function (s) { return s.label !== label || s.end <= sel.start || s.start >= sel.end; });
        spans.push({ start: sel.start, end: sel.end, label: label });
      }
      anchor = caret = sel.end;
      changed();
      return true;
    }

    function removeSpan(span) {
      var at = spans.indexOf(span);
      if (at >= 0 && !readonly) {
        spans.splice(at, 1);
        changed();
      }
    }

    function removeAtCaret() {
      if (readonly) return false;
      var sel = selection();
      var hit = spans.filter(function (s) {
        return sel.end > sel.start ? s.start < sel.end && s.end > sel.start : s.start <= caret && caret < s.end;
      });
      if (!hit.length && sel.end === sel.start) {
        hit = spans.filter(function (s) { return s.end === caret; }); // just after a span, like Backspace
      }
      if (!hit.length) return false;
      removeSpan(hit[hit.length - 1]);
      return true;
    }

    // --- caret movement ----------------------------------------------------------------------
    function wordStep(pos, dir) {
      if (dir > 0) {
        while (pos < n && charClass(chars[pos]) === "space") pos++;
        if (pos >= n) return n;
        var kind = charClass(chars[pos]);
        pos++;
        if (kind === "word") while (pos < n && charClass(chars[pos]) === kind) pos++;
        return pos;
      }
      while (pos > 0 && charClass(chars[pos - 1]) === "space") pos--;
      if (pos <= 0) return 0;
      var back = charClass(chars[pos - 1]);
      pos--;
      if (back === "word") while (pos > 0 && charClass(chars[pos - 1]) === back) pos--;
      return pos;
    }

    function rectAt(pos) {
      var node = pos < n ? charNodes[pos] : endMark;
      return node.getBoundingClientRect();
    }

    function lineStep(pos, dir) {
      var here = rectAt(pos);
      var x = here.left;
      var best = pos;
      var bestDist = Infinity;
      var lineTop = null;
      for (var i = pos + dir; i >= 0 && i <= n; i += dir) {
        var r = rectAt(i);
        var moved = dir > 0 ? r.top > here.top + here.height / 2 : r.bottom < here.bottom - here.height / 2;
        if (!moved) continue;
        if (lineTop === null) lineTop = r.top;
        if (Math.abs(r.top - lineTop) > r.height / 2) break; // past the neighbouring line
        var d = Math.abs(r.left - x);
        if (d < bestDist) {
          bestDist = d;
          best = i;
        }
      }
      return best === pos ? (dir > 0 ? n : 0) : best;
    }

    function move(to, extend) {
      caret = Math.max(0, Math.min(n, to));
      if (!extend) anchor = caret;
      renderText();
      var node = caret < n ? charNodes[caret] : endMark;
      if (node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
    }

    // --- mouse -------------------------------------------------------------------------------
    function boundaryAt(ev) {
      var node = ev.target;
      if (node === endMark) return n;
      if (!node.dataset || node.dataset.i === undefined) return null;
      var i = Number(node.dataset.i);
      var r = node.getBoundingClientRect();
      return ev.clientX > r.left + r.width / 2 ? i + 1 : i;
    }

    textBox.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) return;
      var at = boundaryAt(ev);
      if (at === null) return;
      ev.preventDefault(); // our own selection, drawn with classes
      textBox.focus();
      dragging = true;
      if (!ev.shiftKey) anchor = at;
      caret = at;
      renderText();
    });
    textBox.addEventListener("mousemove", function (ev) {
      if (!dragging) return;
      var at = boundaryAt(ev);
      if (at !== null && at !== caret) {
        caret = at;
        renderText();
      }
    });
    function endDrag() {
      dragging = false;
    }
    document.addEventListener("mouseup", endDrag);
    textBox.addEventListener("dblclick", function (ev) {
      var node = ev.target;
      if (!node.dataset || node.dataset.i === undefined) return;
      var i = Number(node.dataset.i);
      anchor = wordStep(i + 1, -1);
      caret = wordStep(i, 1);
      renderText();
    });

    render();

    var keys = [];
    if (classes.length) keys.push({ key: "1–" + Math.min(9, classes.length), help: t("Choose a class") });
    if (labels.length) {
      keys.push(
        { key: "1–" + Math.min(9, labels.length), help: t("With text selected: label the selection") },
        { key: "← →", help: t("Move the cursor") },
        { key: "Shift+← Shift+→", help: t("Extend the selection by a character") },
        { key: "Ctrl+Shift+← Ctrl+Shift+→", help: t("Extend the selection by a word") },
        { key: "Shift+↑ Shift+↓", help: t("Extend the selection by a line") },
        { key: "Delete", help: t("Remove the span at the cursor") },
        { key: "Esc", help: t("Clear the selection") }
      );
    }

    return {
      keys: keys,
      answer: function () {
        if (classes.length && !chosen.length) {
          throw new Error(t("Choose a class first: press a number from 1 to %(n)s.", { n: Math.min(9, classes.length) }));
        }
        return {
          classes: classes.filter(function (c) { return chosen.indexOf(c) >= 0; }),
          spans: sorted().map(function (s) { return { start: s.start, end: s.end, label: s.label }; }),
        };
      },
      onKey: function (ev) {
        var key = ev.key;
        var sel = selection();
        if (/^[1-9]$/.test(key) && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
          if (readonly) return true;
          var k = Number(key) - 1;
          if (labels.length && (sel.end > sel.start || !classes.length)) {
            if (k < labels.length) labelSelection(labels[k]);
            return true;
          }
          if (k < classes.length) toggleClass(classes[k]);
          return true;
        }
        if (!labels.length) return false;
        var word = ev.ctrlKey || ev.altKey || ev.metaKey;
        if (key === "ArrowRight" || key === "ArrowLeft") {
          var dir = key === "ArrowRight" ? 1 : -1;
          if (!ev.shiftKey && sel.end > sel.start && !word) move(dir > 0 ? sel.end : sel.start, false);
          else move(word ? wordStep(caret, dir) : caret + dir, ev.shiftKey);
          return true;
        }
        if (key === "ArrowDown" || key === "ArrowUp") {
          move(lineStep(caret, key === "ArrowDown" ? 1 : -1), ev.shiftKey);
          return true;
        }
        if (key === "Home" || key === "End") {
          move(key === "Home" ? 0 : n, ev.shiftKey);
          return true;
        }
        if (key === "Delete" || key === "Backspace") return removeAtCaret() || true;
        if (key === "Escape" && sel.end > sel.start) {
          anchor = caret;
          renderText();
          return true;
        }
        return false;
      },
      setReadonly: function (value) {
        readonly = !!value;
        render();
      },
      focus: function () {
        textBox.focus({ preventScroll: true });
      },
      destroy: function () {
        document.removeEventListener("mouseup", endDrag);
      },
      // for tests: the current selection as offsets
      selection: selection,
    };
  }

  S.views.text_annotation = {
    preload: function () {
      return Promise.resolve();
    },
    mount: mount,
  };
})();
