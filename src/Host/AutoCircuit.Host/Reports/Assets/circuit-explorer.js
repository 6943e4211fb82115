// The circuit explorer of report.html: plain JavaScript and SVG, no libraries, nothing from the network.
// It reads the JSON in #ce-data (written by CircuitExplorer.cs) and draws the top-k edges of one algorithm, or the
// difference of two algorithms' top-k circuits, over the model's nodes laid out by layer (columns) and, for graphs with
// token positions, by position (bands). Pan by dragging, zoom with the wheel or the buttons; hover an edge or node for
// its scores; search a node by name.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var dataElement = document.getElementById("ce-data");
  if (!dataElement) {
    return;
  }

  var data = JSON.parse(dataElement.textContent);
  var known = {};
  (data.known || []).forEach(function (id) { known[id] = true; });
  var $ = function (id) { return document.getElementById(id); };
  var svg = $("ce-svg");
  var viewport = $("ce-viewport");
  var edgeLayer = $("ce-edges");
  var nodeLayer = $("ce-nodes");
  var tip = $("ce-tip");
  var slider = $("ce-k");
  var algoA = $("ce-algo");
  var algoB = $("ce-algo-b");
  var diff = $("ce-diff");
  var search = $("ce-search");

  var FONT = 11, BOX_H = 20, ROW_H = 28, COL_GAP = 70, BAND_GAP = 18, BAND_HEAD = 20, LABEL_W = data.seqLen === null ? 16 : 110;

  // Layout: one box per (node, position); columns by layer, rows in graph order, bands by position.
  var positions = data.positions.length ? data.positions : [null];
  var layers = [];
  data.nodes.forEach(function (n) { if (layers.indexOf(n.layer) < 0) { layers.push(n.layer); } });
  layers.sort(function (a, b) { return a - b; });
  var columns = layers.map(function (l) { return data.nodes.filter(function (n) { return n.layer === l; }); });
  var rows = Math.max.apply(null, columns.map(function (c) { return c.length; }).concat([1]));
  var boxW = Math.max(56, Math.max.apply(null, data.nodes.map(function (n) { return n.key.length; }).concat([1])) * FONT * 0.62 + 16);
  var bandH = BAND_HEAD + rows * ROW_H;
  var place = {};
  positions.forEach(function (pos, b) {
    var top = b * (bandH + BAND_GAP) + BAND_HEAD;
    columns.forEach(function (col, c) {
      var x = LABEL_W + c * (boxW + COL_GAP);
      var offset = (rows - col.length) * ROW_H / 2;
      col.forEach(function (n, r) {
        place[n.index + "@" + pos] = { x: x, y: top + offset + r * ROW_H + ROW_H / 2, column: c, mid: top + rows * ROW_H / 2 };
      });
    });
  });
  var width = LABEL_W + columns.length * (boxW + COL_GAP) - COL_GAP + 24;
  var height = positions.length * (bandH + BAND_GAP);

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }

  // Bands and layer labels.
  var bandLayer = $("ce-bands");
  positions.forEach(function (pos, b) {
    var top = b * (bandH + BAND_GAP);
    if (pos !== null) {
      el("rect", { x: 4, y: top, width: width - 8, height: bandH, rx: 6, fill: "#f6f7f9" }, bandLayer);
      var label = data.seqLabels && pos < data.seqLabels.length ? pos + ": " + data.seqLabels[pos] : "position " + pos;
      el("text", { x: 12, y: top + bandH / 2 + 4, "font-size": 12, "font-weight": "bold" }, bandLayer).textContent = label;
    }

    if (b === 0) {
      columns.forEach(function (col, c) {
        el("text", { x: LABEL_W + c * (boxW + COL_GAP) + boxW / 2, y: top + 13, "font-size": 10, fill: "#777", "text-anchor": "middle" }, bandLayer)
          .textContent = "layer " + layers[c];
      });
    }
  });

  // Nodes.
  var nodeElements = {};
  data.nodes.forEach(function (n) {
    positions.forEach(function (pos) {
      var p = place[n.index + "@" + pos];
      var g = el("g", { "class": "ce-node", "data-key": n.key, "data-pos": pos === null ? "" : pos }, nodeLayer);
      el("rect", { x: p.x, y: p.y - BOX_H / 2, width: boxW, height: BOX_H, rx: 4 }, g);
      el("text", { x: p.x + boxW / 2, y: p.y + 4, "text-anchor": "middle", "font-size": FONT }, g).textContent = n.key;
      g.addEventListener("mouseenter", function (ev) { showNodeTip(n, pos, ev); });
      g.addEventListener("mousemove", moveTip);
      g.addEventListener("mouseleave", hideTip);
      (nodeElements[n.key] = nodeElements[n.key] || []).push(g);
    });
  });

  // Controls.
  data.algorithms.forEach(function (a, i) {
    [algoA, algoB].forEach(function (select, s) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = a.label;
      if ((s === 0 && i === 0) || (s === 1 && i === Math.min(1, data.algorithms.length - 1))) { o.selected = true; }
      select.appendChild(o);
    });
  });
  slider.max = String(data.maxEdges);
  slider.value = String(Math.min(data.initialEdges, data.maxEdges));
  if (data.algorithms.length < 2) {
    diff.disabled = true;
  }

  function topK(alg, k) {
    var set = {};
    alg.top.slice(0, k).forEach(function (t, r) { set[t[0]] = { score: Number(t[1]), text: t[2], rank: r + 1 }; });
    return set;
  }

  function curve(e) {
    var a = place[e.src + "@" + e.pos], z = place[e.dest + "@" + e.pos];
    var x1 = a.x + boxW, y1 = a.y, x2 = z.x, y2 = z.y + (e.port === "q" ? -6 : e.port === "v" ? 6 : 0);
    var dx = Math.max(30, (x2 - x1) * 0.45);
    var span = z.column - a.column;
    var bow = span < 2 ? 0 : Math.min(rows * ROW_H / 2 + BAND_HEAD / 2, 12 + 12 * (span - 1));
    var up = Math.min(y1, y2) <= a.mid ? -1 : 1;
    return "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + (y1 + up * bow) + " " + (x2 - dx) + "," + (y2 + up * bow) + " " + x2 + "," + y2;
  }

  var drawn = [];

  function render() {
    var k = Number(slider.value);
    var a = data.algorithms[Number(algoA.value)];
    var b = data.algorithms[Number(algoB.value)];
    var isDiff = diff.checked && !diff.disabled;
    algoB.disabled = !isDiff;
    $("ce-k-value").textContent = String(k);
    var inA = topK(a, k), inB = isDiff ? topK(b, k) : {};
    var ids = Object.keys(inA).concat(Object.keys(inB).filter(function (id) { return !(id in inA); })).map(Number);
    var maxAbs = 0;
    ids.forEach(function (id) {
      [inA[id], inB[id]].forEach(function (s) { if (s && isFinite(s.score)) { maxAbs = Math.max(maxAbs, Math.abs(s.score)); } });
    });

    // Weakest first, so the strongest are drawn on top.
    var weight = function (id) { return Math.max(inA[id] ? Math.abs(inA[id].score) : 0, inB[id] ? Math.abs(inB[id].score) : 0); };
    ids.sort(function (x, y) { return weight(x) - weight(y); });
    while (edgeLayer.firstChild) { edgeLayer.removeChild(edgeLayer.firstChild); }
    drawn = [];
    var counts = { both: 0, a: 0, b: 0 };
    ids.forEach(function (id) {
      var e = data.edges[id], sa = inA[id], sb = inB[id];
      var cls, color;
      if (isDiff) {
        cls = sa && sb ? "ce-both" : sa ? "ce-only-a" : "ce-only-b";
        color = sa && sb ? "#555" : sa ? a.color : b.color;
        counts[sa && sb ? "both" : sa ? "a" : "b"]++;
      } else {
        cls = "";
        color = sa.score > 0 ? data.positive : sa.score < 0 ? data.negative : data.zero;
      }

      var w = !isFinite(weight(id)) ? 7 : maxAbs === 0 ? 1 : 0.8 + 6.2 * weight(id) / maxAbs;
      var path = el("path", {
        "class": ("ce-edge " + cls).trim(), d: curve(e), stroke: color, "stroke-width": w.toFixed(2),
        "data-edge": id, "data-name": e.name, "data-rank": sa ? sa.rank : "", "data-rank-b": sb ? sb.rank : "",
      }, edgeLayer);
      if (isDiff && !sa) { path.setAttribute("stroke-dasharray", "6 3"); }
      if (known[id]) { path.classList.add("ce-known"); }
      path.addEventListener("mouseenter", function (ev) { showEdgeTip(e, id, sa, sb, a, b, isDiff, ev); });
      path.addEventListener("mousemove", moveTip);
      path.addEventListener("mouseleave", hideTip);
      drawn.push(id);
    });

    var involved = {};
    drawn.forEach(function (id) {
      var e = data.edges[id];
      involved[data.nodes[e.src].key + "@" + e.pos] = true;
      involved[data.nodes[e.dest].key + "@" + e.pos] = true;
    });
    Object.keys(nodeElements).forEach(function (key) {
      nodeElements[key].forEach(function (g) {
        var pos = g.getAttribute("data-pos");
        g.classList.toggle("ce-on", !!involved[key + "@" + (pos === "" ? "null" : pos)]);
      });
    });

    $("ce-status").textContent = drawn.length + " edges drawn (top " + k + (isDiff ? " of each" : "") + " of " + data.graphEdges + ")";
    $("ce-diff-summary").textContent = isDiff
      ? "in both: " + counts.both + " · only " + a.label + ": " + counts.a + " · only " + b.label + ": " + counts.b
      : "";
    $("ce-diff-summary").setAttribute("data-both", counts.both);
    $("ce-diff-summary").setAttribute("data-only-a", counts.a);
    $("ce-diff-summary").setAttribute("data-only-b", counts.b);
    applySearch();
  }

  // Tooltip.
  function showEdgeTip(e, id, sa, sb, a, b, isDiff, ev) {
    var lines = [e.name + (e.port ? " (" + e.port + " input)" : "") + (e.pos === null ? "" : " @ " + positionLabel(e.pos))];
    if (sa) { lines.push(a.label + ": score " + sa.text + " (rank " + sa.rank + ")"); }
    else if (isDiff) { lines.push(a.label + ": not in its top " + slider.value); }
    if (isDiff) { lines.push(sb ? b.label + ": score " + sb.text + " (rank " + sb.rank + ")" : b.label + ": not in its top " + slider.value); }
    if (known[id]) { lines.push("in the known circuit"); }
    showTip(lines, ev);
  }

  function showNodeTip(n, pos, ev) {
    var into = 0, out = 0;
    drawn.forEach(function (id) {
      var e = data.edges[id];
      if (e.pos !== pos) { return; }
      if (e.dest === n.index) { into++; }
      if (e.src === n.index) { out++; }
    });
    showTip([n.key + (pos === null ? "" : " @ " + positionLabel(pos)), into + " drawn edges in, " + out + " out"], ev);
  }

  function positionLabel(pos) {
    return data.seqLabels && pos < data.seqLabels.length ? pos + ": " + data.seqLabels[pos] : "position " + pos;
  }

  function showTip(lines, ev) {
    tip.textContent = "";
    lines.forEach(function (l) { var d = document.createElement("div"); d.textContent = l; tip.appendChild(d); });
    tip.hidden = false;
    moveTip(ev);
  }

  function moveTip(ev) {
    var box = $("ce-frame").getBoundingClientRect();
    tip.style.left = (ev.clientX - box.left + 14) + "px";
    tip.style.top = (ev.clientY - box.top + 14) + "px";
  }

  function hideTip() { tip.hidden = true; }

  // Search: highlight matching nodes and their drawn edges; Enter centres the first match.
  function applySearch() {
    var q = search.value.trim().toLowerCase();
    var hits = 0;
    Object.keys(nodeElements).forEach(function (key) {
      var match = q.length > 0 && key.toLowerCase().indexOf(q) >= 0;
      if (match) { hits++; }
      nodeElements[key].forEach(function (g) {
        g.classList.toggle("ce-hit", match);
        g.classList.toggle("ce-dim", q.length > 0 && !match);
      });
    });
    Array.prototype.forEach.call(edgeLayer.childNodes, function (p) {
      var e = data.edges[Number(p.getAttribute("data-edge"))];
      var touches = q.length > 0 && (data.nodes[e.src].key.toLowerCase().indexOf(q) >= 0 || data.nodes[e.dest].key.toLowerCase().indexOf(q) >= 0);
      p.classList.toggle("ce-hit", touches);
      p.classList.toggle("ce-dim", q.length > 0 && !touches);
    });
    $("ce-search-count").textContent = q.length === 0 ? "" : hits === 1 ? "1 node" : hits + " nodes";
    return hits;
  }

  // Pan and zoom: a translate + scale on the viewport group.
  var view = { x: 0, y: 0, s: 1 };
  function applyView() {
    viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.s + ")");
  }

  // A frame as tall as the drawing at the width it gets, within reason; then everything in view.
  var frameWidth = svg.getBoundingClientRect().width || width;
  svg.style.height = Math.round(Math.min(640, Math.max(200, height * Math.min(1, frameWidth / width) + 16))) + "px";

  function fit() {
    var frame = svg.getBoundingClientRect();
    var s = Math.min(1, (frame.width || width) / width, (frame.height || height) / height);
    view = { x: ((frame.width || width) - width * s) / 2, y: 8, s: s };
    applyView();
  }

  function zoomAt(factor, cx, cy) {
    var s = Math.min(8, Math.max(0.1, view.s * factor));
    view.x = cx - (cx - view.x) * s / view.s;
    view.y = cy - (cy - view.y) * s / view.s;
    view.s = s;
    applyView();
  }

  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    svg.classList.add("ce-dragging");
  });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) { return; }
    view.x = drag.vx + ev.clientX - drag.x;
    view.y = drag.vy + ev.clientY - drag.y;
    applyView();
  });
  window.addEventListener("pointerup", function () { drag = null; svg.classList.remove("ce-dragging"); });
  $("ce-zoom-in").addEventListener("click", function () { var r = svg.getBoundingClientRect(); zoomAt(1.25, r.width / 2, r.height / 2); });
  $("ce-zoom-out").addEventListener("click", function () { var r = svg.getBoundingClientRect(); zoomAt(0.8, r.width / 2, r.height / 2); });
  $("ce-fit").addEventListener("click", fit);

  search.addEventListener("input", applySearch);
  search.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") { return; }
    var q = search.value.trim().toLowerCase();
    var key = Object.keys(nodeElements).filter(function (k) { return q && k.toLowerCase().indexOf(q) >= 0; })[0];
    if (!key) { return; }
    var node = data.nodes.filter(function (n) { return n.key === key; })[0];
    var p = place[node.index + "@" + positions[0]];
    var r = svg.getBoundingClientRect();
    view.s = Math.max(view.s, 1);
    view.x = r.width / 2 - (p.x + boxW / 2) * view.s;
    view.y = r.height / 2 - p.y * view.s;
    applyView();
  });
  [slider, algoA, algoB, diff].forEach(function (c) { c.addEventListener("input", render); c.addEventListener("change", render); });

  svg.setAttribute("data-width", String(width));
  svg.setAttribute("data-height", String(height));
  render();
  fit();
  $("ce-frame").setAttribute("data-ready", "true");
})();
