/* Seatflow image view: the side panel. Labels (with keys), the class of the whole image, the selected
   shape with its attributes (yes/no, choice, text), and the list of objects. All of it is reachable with
   Tab; number keys pick labels and classes without it.                                                */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});
  var h = function () { return C.dom.h.apply(null, arguments); };

  var uid = 0;

  function section(title, body, extra) {
    return h("section.imgv-sec", null, h("h3.imgv-sec-title", null, title, extra || null), body);
  }

  /** Build the panel into `el`; actions = {setClass(name)}. Returns update(). */
  function panel(el, ed, map, t, actions) {
    var schema = ed.schema, group = "imgv-class-" + ++uid;
    var labelBox = h("div.imgv-labels"), classBox = h("div.imgv-classes", { role: "radiogroup", "aria-label": t("Class") });
    var selBox = h("div.imgv-selection"), listBox = h("ul.imgv-objects"), count = h("span.imgv-count");
    var clsBadge = h("span.imgv-badge", { text: t("predicted"), hidden: true });

    var labelButtons = map.labels.map(function (l) {
      var color = C.geometry.labelColor(schema, l.name);
      return h("button.imgv-label", { type: "button", "data-label": l.name,
                                       onclick: function () { ed.setLabel(l.name); ed.canvas.focus(); } },
               h("span.imgv-swatch", { style: "background:" + color }), h("span.imgv-label-name", { text: l.name }),
               l.digit ? C.dom.kbd(l.digit) : null, l.letter ? C.dom.kbd(l.letter.toUpperCase()) : null);
    });
    labelButtons.forEach(function (b) { labelBox.appendChild(b); });
    var classInputs = map.classes.map(function (c) {
      var input = h("input", { type: "radio", name: group, value: c.name,
                               onchange: function () { actions.setClass(c.name); } });
      classBox.appendChild(h("label.imgv-class", null, input, h("span", { text: c.name }),
                             c.digit ? C.dom.kbd((c.shift ? "⇧" : "") + c.digit) : null));
      return input;
    });
    if (labelButtons.length) el.appendChild(section(t("Labels"), labelBox));
    if (classInputs.length) el.appendChild(section(t("Class of the image"), classBox, clsBadge));
    el.appendChild(section(t("Selected"), selBox));
    el.appendChild(section(t("Objects"), listBox, count));

    function setAttr(box, name, value) {
      ed.edit(function (doc) {
        var b = C.model.find(doc, "box", box.id);
        if (value === "" || value === null) delete b.attributes[name]; else b.attributes[name] = value;
        b.predicted = false;
      });
    }

    function attrField(box, a) {
      var id = "imgv-attr-" + uid + "-" + a.name, value = box.attributes[a.name], input;
      var dis = ed.readonly;
      if (a.type === "bool") {
        input = h("input", { type: "checkbox", id: id, "data-attr": a.name, checked: value === true, disabled: dis,
                             onchange: function () { setAttr(box, a.name, input.checked); } });
        return h("div.imgv-field.imgv-check", null, input, h("label", { for: id, text: a.name }));
      }
      if (a.type === "choice") {
        input = h("select", { id: id, "data-attr": a.name, disabled: dis, onchange: function () { setAttr(box, a.name, input.value); } },
                  h("option", { value: "", text: "—" }),
                  (a.choices || []).map(function (c) { return h("option", { value: c, text: c, selected: value === c }); }));
      } else {
        input = h("input", { type: "text", id: id, "data-attr": a.name, value: value || "", disabled: dis,
                             onchange: function () { setAttr(box, a.name, input.value); } });
      }
      return h("div.imgv-field", null, h("label", { for: id, text: a.name }), input);
    }

    function pointState(pt) {
      return !pt ? t("not placed") : pt.v === 0 ? t("skipped") : pt.v === 1 ? t("occluded") : t("visible");
    }

    function describe(sel, shape) {
      if (sel.kind === "kp") {
        var name = C.model.pointNames(schema)[sel.index];
        return t("Keypoint {name}: {state}", { name: name, state: pointState(shape.points[sel.index]) });
      }
      if (sel.kind === "poly") return t("Polygon {label}, {n} points", { label: shape.label, n: shape.points.length });
      return t("Box {label}, {w} × {h} px", { label: shape.label, w: Math.round(shape.w), h: Math.round(shape.h) });
    }

    /** The landmarks of the selected set; a click asks for that one again (also a skipped one). */
    function pointList(set, current) {
      return h("ul.imgv-points", null, C.model.pointNames(schema).map(function (name, i) {
        return h("li", null, h("button.imgv-point", {
          type: "button", disabled: ed.readonly, "aria-current": i === current ? "true" : null,
          title: t("Place {name} again", { name: name }),
          onclick: function () { C.tools.keypoints.replace(ed, set.id, i); ed.canvas.focus(); },
        }, h("span.imgv-dot", { style: "background:" + C.geometry.pointColor(i) }), h("span", { text: name }),
           h("span.imgv-muted", { text: pointState(set.points[i]) })));
      }));
    }

    var lastSel = "";
    function renderSelection() {
      var sel = ed.ui.sel, shape = ed.selected();
      var sig = JSON.stringify([sel, shape, ed.readonly]);
      if (sig === lastSel) return;
      lastSel = sig;
      var focused = document.activeElement && selBox.contains(document.activeElement) ? document.activeElement.getAttribute("data-attr") : null;
      selBox.textContent = "";
      if (!shape) { selBox.appendChild(h("p.imgv-muted", { text: t("Nothing selected. Click a shape to select it.") })); return; }
      selBox.appendChild(h("p.imgv-sel-title", null, describe(sel, shape),
                           shape.predicted ? h("span.imgv-badge", { text: t("predicted") }) : null));
      if (sel.kind === "kp") selBox.appendChild(pointList(shape, sel.index));
      if (sel.kind === "box" && (schema.attributes || []).length) {
        schema.attributes.forEach(function (a) { selBox.appendChild(attrField(shape, a)); });
        var again = focused && selBox.querySelector("[data-attr='" + focused + "']");
        if (again) again.focus();
      }
    }

    function rows() {
      var out = [], names = C.model.pointNames(schema);
      ed.doc.boxes.forEach(function (b) { out.push({ kind: "box", s: b, text: b.label, what: t("box") }); });
      ed.doc.kpsets.forEach(function (k) {
        var placed = k.points.filter(function (p) { return p; }).length;
        out.push({ kind: "kp", s: k, text: k.label || t("keypoints"), what: t("keypoints") + " " + placed + "/" + names.length });
      });
      ed.doc.polygons.forEach(function (p) { out.push({ kind: "poly", s: p, text: p.label, what: t("polygon") }); });
      return out;
    }

    var lastList = "";
    function renderList() {
      var r = rows(), sel = ed.ui.sel;
      var sig = JSON.stringify([r.map(function (x) { return [x.kind, x.s.id, x.text, x.what, x.s.predicted]; }), sel && [sel.kind, sel.id]]);
      if (sig === lastList) return;
      lastList = sig;
      listBox.textContent = "";
      count.textContent = String(r.length);
      if (!r.length) listBox.appendChild(h("li.imgv-muted", { text: t("No objects yet.") }));
      r.forEach(function (x) {
        var on = !!sel && sel.kind === x.kind && sel.id === x.s.id;
        var color = x.kind === "kp" ? C.geometry.pointColor(0) : C.geometry.labelColor(schema, x.s.label);
        listBox.appendChild(h("li", null, h("button.imgv-object", {
          type: "button", "aria-current": on ? "true" : null,
          onclick: function () { ed.select({ kind: x.kind, id: x.s.id, index: x.kind === "kp" ? 0 : undefined }); ed.canvas.focus(); },
        }, h("span.imgv-swatch", { style: "background:" + color }), h("span.imgv-object-name", { text: x.text }),
           h("span.imgv-muted", { text: x.what }), x.s.predicted ? h("span.imgv-badge", { text: t("predicted") }) : null)));
      });
    }

    return function update() {
      labelButtons.forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-label") === ed.ui.label ? "true" : "false");
        b.disabled = ed.readonly;
      });
      classInputs.forEach(function (input) { input.checked = input.value === ed.doc.cls; input.disabled = ed.readonly; });
      clsBadge.hidden = !(ed.doc.cls != null && ed.doc.clsPredicted);
      renderSelection();
      renderList();
    };
  }

  C.panel = { panel: panel };
})();
