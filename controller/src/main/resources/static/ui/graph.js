// The service graph page: polls GET /api/graph and, for the service clicked, GET
// /api/services/{namespace}/{name}, and draws them. Plain DOM and SVG, no libraries: the page
// must work where nothing can be downloaded. Every name shown comes from reports and manifests,
// so text is only ever set with textContent, never parsed as HTML.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const params = new URLSearchParams(window.location.search);
  // Seconds between refreshes: ?refresh=N (at least 1), else 3.
  const refreshSeconds = Math.max(1, Number(params.get("refresh")) || 3);
  const layout = { width: 900, nodeWidth: 230, nodeHeight: 32, rowGap: 70, top: 30, left: 20 };

  let selected = null; // {namespace, name} of the service whose panel is open
  let lastGraph = null;
  let refreshes = 0;
  let timer = null;
  let generation = 0; // of refreshNow calls: only the newest one schedules the next refresh
  let started = 0; // refreshes started: only the newest one draws what it fetched

  const $ = (id) => document.getElementById(id);

  function token() {
    return window.sessionStorage.getItem("weft-token");
  }

  async function getJson(path) {
    const headers = { Accept: "application/json" };
    if (token()) {
      headers.Authorization = "Bearer " + token();
    }
    const response = await fetch(path, { headers: headers, cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (notJson) {
      body = null;
    }
    if (response.status === 401 || response.status === 403) {
      $("token-form").hidden = false;
    }
    if (!response.ok) {
      const reason =
        body && body.error ? body.error
          : body && body.errors ? body.errors.map((e) => e.field + ": " + e.reason).join("; ")
            : "HTTP " + response.status;
      const problem = new Error(reason);
      problem.status = response.status;
      throw problem;
    }
    return body;
  }

  // Numbers as the edges' labels and the table show them.
  function formatRate(rps) {
    return (rps >= 100 ? rps.toFixed(0) : rps >= 10 ? rps.toFixed(1) : rps.toFixed(2)) + " rps";
  }
  function formatPercent(ratio, digits) {
    return (ratio * 100).toFixed(digits) + "%";
  }
  function formatMillis(ms) {
    return (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2)) + " ms";
  }
  function isMutualTls(edge) {
    return edge.connectionSecurity === "mutual_tls";
  }
  function hasVersion(edge) {
    return edge.destinationVersion && edge.destinationVersion !== "unknown";
  }
  function edgeLabel(edge) {
    const parts = [];
    if (hasVersion(edge)) {
      parts.push(edge.destinationVersion);
    }
    parts.push(formatRate(edge.requestsPerSecond));
    parts.push(formatPercent(edge.errorRatio, 1) + " err");
    parts.push("p50 " + formatMillis(edge.p50Millis));
    parts.push("p99 " + formatMillis(edge.p99Millis));
    parts.push(formatPercent(edge.versionShare, 0));
    if (isMutualTls(edge)) {
      parts.push("mTLS");
    }
    return parts.join(" · ");
  }

  // A service node's host is name.namespace.svc.<cluster domain>; the registry knows it by name.
  function serviceKey(node) {
    const labels = node.name.split(".");
    const name = labels.length > 2 && labels[1] === node.namespace && labels[2] === "svc"
      ? labels[0] : node.name;
    return { namespace: node.namespace, name: name };
  }
  function shortName(node) {
    if (node.kind === "workload") {
      return node.namespace + "/" + node.name;
    }
    const key = serviceKey(node);
    return key.name + "." + key.namespace;
  }
  function slug(text) {
    return text.replace(/[^A-Za-z0-9_-]+/g, "-");
  }
  function edgeId(edge) {
    return "edge-" + slug(edge.source + "--" + edge.destination + "--" + edge.destinationVersion
      + "--" + edge.connectionSecurity);
  }

  function svg(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) {
      element.setAttribute(key, value);
    }
    if (parent) {
      parent.appendChild(element);
    }
    return element;
  }

  function drawGraph(graph) {
    const root = $("graph");
    const focused = document.activeElement && document.activeElement.id;
    while (root.firstChild) {
      root.removeChild(root.firstChild);
    }
    const workloads = graph.nodes.filter((n) => n.kind === "workload");
    const services = graph.nodes.filter((n) => n.kind === "service");
    const rows = Math.max(workloads.length, services.length, 1);
    const height = layout.top * 2 + (rows - 1) * layout.rowGap + layout.nodeHeight;
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", "0 0 " + layout.width + " " + height);
    $("graph-empty").hidden = graph.edges.length > 0;

    const byId = {};
    graph.nodes.forEach((node) => { byId[node.id] = node; });
    const positions = {};
    const place = (nodes, x) => nodes.forEach((node, i) => {
      positions[node.id] = { x: x, y: layout.top + i * layout.rowGap };
    });
    place(workloads, layout.left);
    place(services, layout.width - layout.left - layout.nodeWidth);

    // Edges first, so nodes are drawn over their ends; parallel edges (versions) fan out.
    const siblings = {};
    graph.edges.forEach((edge) => {
      const pair = edge.source + " " + edge.destination;
      siblings[pair] = (siblings[pair] || 0) + 1;
    });
    const drawn = {};
    const edgeLayer = svg("g", { id: "edges" }, root);
    graph.edges.forEach((edge) => {
      const from = positions[edge.source];
      const to = positions[edge.destination];
      if (!from || !to) {
        return;
      }
      const pair = edge.source + " " + edge.destination;
      const index = drawn[pair] || 0;
      drawn[pair] = index + 1;
      const spread = (index - (siblings[pair] - 1) / 2) * 18;
      const x1 = from.x + layout.nodeWidth;
      const y1 = from.y + layout.nodeHeight / 2;
      const x2 = to.x;
      const y2 = to.y + layout.nodeHeight / 2;
      const middleX = (x1 + x2) / 2;
      const middleY = (y1 + y2) / 2 + spread;
      const label = edgeLabel(edge);
      const group = svg("g", {
        id: edgeId(edge),
        class: "edge" + (isMutualTls(edge) ? " mtls" : "") + (edge.errors > 0 ? " errors" : ""),
        "data-source": edge.source,
        "data-destination": edge.destination,
        "data-version": edge.destinationVersion,
        "data-connection-security": edge.connectionSecurity,
        "data-requests": String(edge.requests),
        "aria-label": (byId[edge.source] ? shortName(byId[edge.source]) : edge.source) + " calls "
          + (byId[edge.destination] ? shortName(byId[edge.destination]) : edge.destination)
          + ": " + label,
      }, edgeLayer);
      svg("path", {
        d: "M" + x1 + "," + y1 + " C" + middleX + "," + y1 + " " + middleX + "," + middleY
          + " " + (x2 - 6) + "," + y2,
        "marker-end": "url(#arrow)",
      }, group);
      const title = svg("title", {}, group);
      title.textContent = edge.source + " → " + edge.destination
        + (hasVersion(edge) ? " (" + edge.destinationVersion + ")" : "") + ": "
        + edge.requests + " requests, " + edge.errors + " errors; " + label;
      const text = svg("text", {
        class: "edge-label", x: String(middleX), y: String(middleY - 4), "text-anchor": "middle",
      }, group);
      text.textContent = label;
    });
    const defs = svg("defs", {}, root);
    const marker = svg("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "8",
      markerHeight: "8", orient: "auto-start-reverse",
    }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#57606a" }, marker);

    const nodeLayer = svg("g", { id: "nodes" }, root);
    graph.nodes.forEach((node) => {
      const at = positions[node.id];
      const isService = node.kind === "service";
      const key = isService ? serviceKey(node) : null;
      const isSelected = isService && selected && selected.namespace === key.namespace
        && selected.name === key.name;
      const group = svg("g", {
        id: "node-" + slug(node.id),
        class: "node " + node.kind + (isSelected ? " selected" : ""),
        "data-node-id": node.id,
        "data-kind": node.kind,
        transform: "translate(" + at.x + "," + at.y + ")",
      }, nodeLayer);
      svg("rect", { width: String(layout.nodeWidth), height: String(layout.nodeHeight) }, group);
      const title = svg("title", {}, group);
      title.textContent = node.kind + " " + node.name + " (namespace " + node.namespace + ")";
      const text = svg("text", { class: "node-label", x: "8", y: String(layout.nodeHeight / 2) },
        group);
      text.textContent = shortName(node);
      if (isService) {
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "button");
        group.setAttribute("aria-label", "service " + shortName(node) + ": show its panel");
        group.addEventListener("click", () => select(key));
        group.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            select(key);
          }
        });
      }
    });
    if (focused && $(focused)) {
      $(focused).focus();
    }
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  function drawTable(graph) {
    const nodes = {};
    graph.nodes.forEach((node) => { nodes[node.id] = node; });
    const body = $("edges-body");
    body.replaceChildren();
    graph.edges.forEach((edge) => {
      const row = document.createElement("tr");
      row.id = "row-" + edgeId(edge);
      row.dataset.source = edge.source;
      row.dataset.destination = edge.destination;
      row.dataset.version = edge.destinationVersion;
      cell(row, nodes[edge.source] ? shortName(nodes[edge.source]) : edge.source);
      const to = document.createElement("td");
      const destination = nodes[edge.destination];
      if (destination) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = shortName(destination);
        button.addEventListener("click", () => select(serviceKey(destination)));
        to.appendChild(button);
      } else {
        to.textContent = edge.destination;
      }
      row.appendChild(to);
      cell(row, edge.destinationVersion);
      cell(row, String(edge.requests), "number");
      cell(row, formatRate(edge.requestsPerSecond), "number");
      cell(row, formatPercent(edge.errorRatio, 1), "number");
      cell(row, formatMillis(edge.p50Millis), "number");
      cell(row, formatMillis(edge.p99Millis), "number");
      cell(row, formatPercent(edge.versionShare, 0), "number");
      cell(row, isMutualTls(edge) ? "yes" : "no");
      body.appendChild(row);
    });
  }

  function drawPanel(details, graph) {
    $("panel-error").hidden = true;
    $("panel-details").hidden = false;
    const panel = $("service-panel");
    panel.dataset.registryVersion = String(details.registryVersion);
    panel.dataset.shownService = details.namespace + "/" + details.name;

    const ports = $("panel-ports").tBodies[0];
    ports.replaceChildren();
    details.ports.forEach((port) => {
      const row = document.createElement("tr");
      row.dataset.port = String(port.port);
      cell(row, port.name || "(unnamed)");
      cell(row, String(port.port), "number");
      cell(row, port.targetPort);
      cell(row, port.protocol + (port.appProtocol ? " / " + port.appProtocol : ""));
      ports.appendChild(row);
    });

    const summary = $("panel-endpoints-summary");
    summary.dataset.ready = String(details.readyEndpoints);
    summary.dataset.notReady = String(details.notReadyEndpoints);
    summary.textContent = details.readyEndpoints + " ready, " + details.notReadyEndpoints
      + " not ready";
    const zones = $("panel-zones").tBodies[0];
    zones.replaceChildren();
    details.zones.forEach((zone) => {
      const row = document.createElement("tr");
      row.dataset.zone = zone.zone;
      cell(row, zone.zone || "(no zone)");
      cell(row, String(zone.ready), "number");
      cell(row, String(zone.notReady), "number");
      zones.appendChild(row);
    });

    const attached = $("panel-attached");
    attached.replaceChildren();
    $("panel-attached-none").hidden = details.attached.length > 0;
    details.attached.forEach((config) => {
      const item = document.createElement("li");
      item.className = "attached";
      item.dataset.kind = config.kind;
      item.dataset.namespace = config.namespace;
      item.dataset.name = config.name;
      const name = document.createElement("strong");
      name.textContent = config.kind + " " + config.namespace + "/" + config.name;
      item.appendChild(name);
      const conditions = document.createElement("ul");
      config.conditions.forEach((condition) => {
        const line = document.createElement("li");
        const status = condition.status ? "True" : "False";
        line.className = "condition " + status.toLowerCase();
        line.dataset.type = condition.type;
        line.dataset.status = status;
        line.dataset.reason = condition.reason;
        line.textContent = condition.type + ": " + status + " (" + condition.reason + ")"
          + (condition.message ? " — " + condition.message : "");
        conditions.appendChild(line);
      });
      item.appendChild(conditions);
      attached.appendChild(item);
    });

    const rates = $("panel-rates");
    rates.replaceChildren();
    const nodes = {};
    graph.nodes.forEach((node) => { nodes[node.id] = node; });
    const incoming = graph.edges.filter((edge) => {
      const node = nodes[edge.destination];
      if (!node) {
        return false;
      }
      const key = serviceKey(node);
      return key.namespace === details.namespace && key.name === details.name;
    });
    $("panel-rates-none").hidden = incoming.length > 0;
    incoming.forEach((edge) => {
      const item = document.createElement("li");
      item.className = "rate";
      item.dataset.source = edge.source;
      item.dataset.version = edge.destinationVersion;
      item.textContent = "from " + (nodes[edge.source] ? shortName(nodes[edge.source]) : edge.source)
        + ": " + edgeLabel(edge);
      rates.appendChild(item);
    });
  }

  function showPanelProblem(message) {
    $("panel-details").hidden = true;
    const error = $("panel-error");
    error.hidden = false;
    error.textContent = message;
  }

  function select(key) {
    selected = key;
    window.location.hash = "service=" + encodeURIComponent(key.namespace + "/" + key.name);
    $("service-panel").hidden = false;
    $("service-panel").dataset.service = key.namespace + "/" + key.name;
    delete $("service-panel").dataset.shownService;
    $("panel-service").textContent = key.name + "." + key.namespace;
    refreshNow();
  }

  function closePanel() {
    selected = null;
    $("service-panel").hidden = true;
    delete $("service-panel").dataset.service;
    delete $("service-panel").dataset.shownService;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    if (lastGraph) {
      drawGraph(lastGraph);
    }
  }

  async function refresh() {
    const status = $("status");
    const ticket = ++started;
    try {
      const graph = await getJson("/api/graph?window=" + encodeURIComponent($("window").value));
      if (ticket !== started) {
        return; // a newer refresh (a click, another window) started meanwhile: it draws
      }
      lastGraph = graph;
      drawGraph(graph);
      drawTable(graph);
      if (selected) {
        const key = selected;
        try {
          const details = await getJson("/api/services/" + encodeURIComponent(key.namespace)
            + "/" + encodeURIComponent(key.name));
          if (selected === key && ticket === started) {
            drawPanel(details, graph);
          }
        } catch (problem) {
          if (selected === key) {
            showPanelProblem(problem.message);
          }
        }
      }
      status.classList.remove("problem");
      status.textContent = "updated " + new Date().toLocaleTimeString() + ", every "
        + refreshSeconds + " s";
    } catch (problem) {
      status.classList.add("problem");
      status.textContent = "cannot load the graph: " + problem.message;
    }
    refreshes += 1;
    status.dataset.refreshes = String(refreshes);
  }

  function refreshNow() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    generation += 1;
    const mine = generation;
    refresh().finally(() => {
      if (mine === generation) {
        timer = window.setTimeout(refreshNow, refreshSeconds * 1000);
      }
    });
  }

  $("window").addEventListener("change", refreshNow);
  $("panel-close").addEventListener("click", closePanel);
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.sessionStorage.setItem("weft-token", $("token").value.trim());
    $("token").value = "";
    $("token-form").hidden = true;
    refreshNow();
  });
  const linked = /^#service=(.+)$/.exec(window.location.hash);
  if (linked) {
    const [namespace, name] = decodeURIComponent(linked[1]).split("/");
    if (namespace && name) {
      select({ namespace: namespace, name: name });
      return;
    }
  }
  refreshNow();
})();
