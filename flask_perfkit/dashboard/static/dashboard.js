/* flask-perfkit dashboard: polls the history, draws it as SVG, refreshes the tables. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var RANGE_WORDS = { "15m": "the last 15 minutes", "1h": "the last hour", "24h": "the last 24 hours" };
  var settings = JSON.parse(document.getElementById("perfkit-settings").textContent);
  var asked = new URLSearchParams(window.location.search).get("range");
  var view = {
    range: settings.ranges.indexOf(asked) >= 0 ? asked : "1h",
    paused: false,
    timer: null,
    busy: false,
    history: null,
    sort: { key: "total", dir: "descending" }
  };

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function fmt(value) {
    if (value === null || value === undefined || isNaN(value)) { return "–"; }
    var size = Math.abs(value);
    if (size >= 100) { return value.toFixed(0); }
    if (size >= 10) { return value.toFixed(1); }
    return value.toFixed(2);
  }

  function axisLabel(value) { return String(Number(value.toPrecision(3))); }

  function clock(ms, seconds) {
    var options = { hour: "2-digit", minute: "2-digit" };
    if (seconds) { options.second = "2-digit"; }
    return new Date(ms).toLocaleTimeString([], options);
  }

  function keysOf(points, field) {
    var seen = {};
    points.forEach(function (p) { Object.keys(p[field] || {}).forEach(function (k) { seen[k] = true; }); });
    return Object.keys(seen).sort();
  }

  /* Each chart's series: a name and one value (or null, a gap) per point. */
  var SERIES = {
    qps: function (points) {
      return [{ name: "statements", values: points.map(function (p) { return p.qps; }) }];
    },
    p95: function (points) {
      return keysOf(points, "latency_ms").map(function (op) {
        return { name: op, values: points.map(function (p) {
          var l = (p.latency_ms || {})[op];  /* [count, p50, p95, p99] */
          return l ? l[2] : null;
        }) };
      });
    },
    pools: function (points) {
      return keysOf(points, "pools").map(function (bind) {
        var last = null;
        var values = points.map(function (p) {
          var pool = (p.pools || {})[bind];
          if (pool) { last = pool; }
          return pool ? pool.checked_out : null;
        });
        var label = last && last.size ? bind + " (size " + last.size + ")" : bind;
        return { name: label, values: values };
      });
    },
    cache: function (points) {
      return keysOf(points, "cache").map(function (tier) {
        return { name: tier, values: points.map(function (p) {
          var c = (p.cache || {})[tier];
          var lookups = c ? c.hits + c.misses : 0;
          return lookups ? (100 * c.hits) / lookups : null;
        }) };
      });
    }
  };

  function extent(series) {
    var values = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) { values.push(v); } }); });
    if (!values.length) { return null; }
    return { min: Math.min.apply(null, values), max: Math.max.apply(null, values), count: values.length };
  }

  function niceMax(max, unit) {
    if (unit === "%") { return 100; }
    if (max <= 0) { return 1; }
    var step = Math.pow(10, Math.floor(Math.log10(max)));
    var nice = [1, 2, 2.5, 5, 10].map(function (m) { return m * step; });
    for (var i = 0; i < nice.length; i += 1) { if (nice[i] >= max) { return nice[i]; } }
    return 10 * step;
  }

  function plotLine(svg, xs, values, x, y, cls) {
    var run = [];
    function flush() {
      if (run.length > 1) {
        el("polyline", { class: "line " + cls, points: run.join(" ") }, svg);
      } else if (run.length === 1) {
        var xy = run[0].split(",");
        el("circle", { class: "dot " + cls, cx: xy[0], cy: xy[1], r: 2.5 }, svg);
      }
      run = [];
    }
    values.forEach(function (v, i) {
      if (v === null || v === undefined) { flush(); return; }
      run.push(x(xs[i]).toFixed(1) + "," + y(v).toFixed(1));
    });
    flush();
  }

  function drawChart(figure, points) {
    var kind = figure.getAttribute("data-chart");
    var unit = figure.getAttribute("data-unit");
    var svg = figure.querySelector("svg");
    var legend = figure.querySelector(".legend");
    var summary = figure.querySelector(".summary");
    var series = SERIES[kind](points).filter(function (s) {
      return s.values.some(function (v) { return v !== null && v !== undefined; });
    });
    var range = extent(series);
    clear(svg);
    clear(legend);
    var w = Math.max(svg.clientWidth, 200);
    var h = Math.max(svg.clientHeight, 100);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    if (!range) {
      svg.setAttribute("data-points", "0");
      summary.textContent = "No data in " + RANGE_WORDS[view.range] + ".";
      return;
    }
    var xs = points.map(function (p) { return Date.parse(p.time); });
    var left = 40, right = 8, top = 8, bottom = 18;
    var t0 = xs[0], t1 = xs[xs.length - 1];
    if (t1 === t0) { t0 -= 1000; }
    var ceiling = niceMax(range.max, unit);
    var x = function (t) { return left + ((t - t0) / (t1 - t0)) * (w - left - right); };
    var y = function (v) { return top + (1 - v / ceiling) * (h - top - bottom); };
    [0, 0.5, 1].forEach(function (f) {
      el("line", { class: "grid", x1: left, x2: w - right, y1: y(f * ceiling), y2: y(f * ceiling) }, svg);
      el("text", { class: "axis", x: left - 6, y: y(f * ceiling) + 4, "text-anchor": "end" }, svg)
        .textContent = axisLabel(f * ceiling);
    });
    var short = view.range === "15m";
    el("text", { class: "axis", x: left, y: h - 3 }, svg).textContent = clock(t0, short);
    el("text", { class: "axis", x: w - right, y: h - 3, "text-anchor": "end" }, svg).textContent = clock(t1, short);
    var parts = [];
    series.forEach(function (s, i) {
      var cls = "s" + (i % 6);
      plotLine(svg, xs, s.values, x, y, cls);
      var latest = null;
      s.values.forEach(function (v) { if (v !== null) { latest = v; } });
      var item = document.createElement("li");
      item.className = cls;
      var label = document.createElement("span");
      label.textContent = s.name + " " + fmt(latest) + (unit === "/s" ? "/s" : unit ? " " + unit : "");
      item.appendChild(label);
      legend.appendChild(item);
      var own = extent([s]);
      if (own) {
        parts.push(s.name + ": latest " + fmt(latest) + ", min " + fmt(own.min) + ", max " + fmt(own.max));
      }
    });
    svg.setAttribute("data-points", String(range.count));
    summary.textContent = parts.join("; ") + (unit ? " (" + unit + ")" : "") +
      " over " + RANGE_WORDS[view.range] + ".";
  }

  function drawSparklines(points) {
    document.querySelectorAll("tr[data-query-id]").forEach(function (row) {
      var id = row.getAttribute("data-query-id");
      var svg = row.querySelector("svg.sparkline");
      if (!svg) { return; }
      var values = points.map(function (p) {
        var hit = (p.patterns || {})[id];  /* [calls, total ms] */
        return hit ? hit[1] : 0;
      });
      clear(svg);
      var w = 100, h = 24;
      svg.setAttribute("viewBox", "0 0 " + w + " " + h);
      svg.setAttribute("preserveAspectRatio", "none");
      if (!values.length) { return; }
      var max = Math.max.apply(null, values) || 1;
      var n = Math.max(values.length - 1, 1);
      plotLine(svg, values.map(function (_, i) { return i; }), values,
        function (i) { return (i / n) * (w - 4) + 2; },
        function (v) { return h - 2 - (v / max) * (h - 4); }, "s0");
      svg.setAttribute("aria-label", "Time per interval over " + RANGE_WORDS[view.range] +
        ": latest " + fmt(values[values.length - 1]) + " ms, max " + fmt(Math.max.apply(null, values)) + " ms");
    });
  }

  function setStatus(body) {
    var overall = document.getElementById("overall");
    overall.textContent = body.status;
    overall.className = "badge status-" + body.status;
    var list = document.getElementById("checks");
    clear(list);
    Object.keys(body.checks || {}).forEach(function (name) {
      var status = body.checks[name];
      var item = document.createElement("li");
      item.className = "check status-" + status;
      item.setAttribute("data-check", name);
      var label = document.createElement("span");
      label.className = "check-name";
      label.textContent = name;
      var word = document.createElement("span");
      word.className = "check-status";
      word.textContent = status;
      item.appendChild(label);
      item.appendChild(word);
      list.appendChild(item);
    });
    var workers = document.getElementById("workers");
    workers.textContent = body.multiprocess ? "All " + body.workers + " workers summed" : "";
  }

  function say(text) { document.getElementById("updated").textContent = text; }

  function draw() {
    var body = view.history;
    if (!body) { return; }
    var points = body.points || [];
    document.querySelectorAll("figure[data-chart]").forEach(function (f) { drawChart(f, points); });
    drawSparklines(points);
  }

  function stop(text) {
    var button = document.getElementById("pause");
    view.paused = true;
    window.clearInterval(view.timer);
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Resume";
    say(text);
  }

  function loadHistory() {
    if (!settings.history) { return historyOff(); }
    var url = settings.history + "?range=" + encodeURIComponent(view.range);
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          stop("Signed out: reload the page to sign in again.");
          return;
        }
        return response.json().then(function (body) {
          if (!body.points) { say("The history is unavailable (HTTP " + response.status + ")."); return; }
          view.history = body;
          setStatus(body);
          draw();
          say("Updated " + new Date().toLocaleTimeString() + " · " + body.points.length + " points of " +
            body.resolution + " s · " + (view.paused ? "paused" : "refreshing every " + settings.interval + " s"));
        });
      });
  }

  function loadTables() {
    return window.fetch(settings.page, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { return; }
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          fresh.querySelectorAll("[data-swap]").forEach(function (section) {
            var old = document.querySelector('[data-swap="' + section.getAttribute("data-swap") + '"]');
            if (old) { old.replaceWith(document.importNode(section, true)); }
          });
          applySort();
          if (view.history) { drawSparklines(view.history.points || []); }
        });
      });
  }

  function historyOff() {
    say("The history is off (PERFKIT_HISTORY_ENABLED is False): no charts. The rest " +
      (view.paused ? "is paused." : "refreshes every " + settings.interval + " s."));
    return Promise.resolve();
  }

  function tick() {
    if (view.busy) { return Promise.resolve(); }
    view.busy = true;
    return loadTables().then(settings.history ? loadHistory : historyOff).catch(function () {
      say("The last refresh failed; trying again in " + settings.interval + " s.");
    }).then(function () { view.busy = false; });
  }

  function schedule() {
    window.clearInterval(view.timer);
    if (!view.paused) { view.timer = window.setInterval(tick, settings.interval * 1000); }
  }

  function applySort() {
    var table = document.getElementById("patterns");
    if (!table) { return; }
    table.querySelectorAll("th").forEach(function (th) {
      var button = th.querySelector("button[data-sort]");
      if (!button) { return; }
      if (button.getAttribute("data-sort") === view.sort.key) {
        th.setAttribute("aria-sort", view.sort.dir);
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = view.sort.dir === "ascending" ? 1 : -1;
    var cell = function (row) {
      return Number(row.querySelector('[data-key="' + view.sort.key + '"]').getAttribute("data-value"));
    };
    rows.sort(function (a, b) { return sign * (cell(a) - cell(b)); });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) { return; }
    if (target.hasAttribute("data-sort")) {
      var key = target.getAttribute("data-sort");
      var flip = view.sort.key === key && view.sort.dir === "descending";
      view.sort = { key: key, dir: flip ? "ascending" : "descending" };
      applySort();
    } else if (target.hasAttribute("data-range")) {
      view.range = target.getAttribute("data-range");
      document.querySelectorAll("button[data-range]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === target));
      });
      var url = new URL(window.location.href);
      url.searchParams.set("range", view.range);
      window.history.replaceState(null, "", url.pathname + url.search);
      loadHistory().catch(function () { say("The history could not be loaded."); });
    } else if (target.id === "pause") {
      view.paused = !view.paused;
      target.setAttribute("aria-pressed", String(view.paused));
      target.textContent = view.paused ? "Resume" : "Pause";
      schedule();
      if (view.paused) { say("Paused."); } else { tick(); }
    }
  });

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(draw, 150);
  });

  document.querySelectorAll("button[data-range]").forEach(function (b) {
    b.setAttribute("aria-pressed", String(b.getAttribute("data-range") === view.range));
  });
  loadHistory().catch(function () { say("The history could not be loaded."); });
  schedule();
}());
