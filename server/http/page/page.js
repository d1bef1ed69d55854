// The leaderboard page: plain JavaScript over the /v1 JSON API, no framework and nothing loaded from
// elsewhere. The view (board, category, style control, tie model, CI resampling, snapshot) lives in the URL
// hash so it can be linked; an EventSource on the leaderboard's event stream keeps the table current.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const HEATMAP_TOP_K = 10;

  const site = readSiteConfig();
  const el = {
    boardTabs: document.getElementById("board-tabs"),
    categoryTabs: document.getElementById("category-tabs"),
    search: document.getElementById("search"),
    compare: document.getElementById("compare"),
    styleControl: document.getElementById("style-control"),
    styleToggle: document.getElementById("style-toggle"),
    ties: document.getElementById("ties"),
    cluster: document.getElementById("cluster"),
    clusterControl: document.getElementById("cluster-control"),
    tieNote: document.getElementById("tie-model-note"),
    runAudit: document.getElementById("run-audit"),
    audit: document.getElementById("audit"),
    message: document.getElementById("message"),
    table: document.getElementById("leaderboard"),
    head: document.getElementById("leaderboard-head"),
    body: document.querySelector("#leaderboard tbody"),
    caption: document.getElementById("leaderboard-caption"),
    empty: document.getElementById("empty"),
    coefficients: document.getElementById("style-coefficients"),
    lastUpdated: document.getElementById("last-updated"),
    live: document.getElementById("live"),
    ciChart: document.getElementById("ci-chart"),
    heatmap: document.getElementById("heatmap"),
  };

  // What the visitor looks at. compare: a snapshot's name, "" for none, null for the default (the newest
  // scheduled snapshot). ties: "half", "davidson" or "rao-kupper"; cluster: "none" (votes), "voter" or
  // "prompt". The API refuses a fitted tie model with style control or a cluster, and a cluster with style
  // control: the controls reset each other so the view never asks for such a combination.
  const view = { board: "", category: "", style: false, compare: null, ties: "half", cluster: "none" };
  const TIE_MODELS = ["half", "davidson", "rao-kupper"];
  const TIE_LABELS = { davidson: "Davidson", "rao-kupper": "Rao–Kupper" };
  const TIE_SYMBOLS = { davidson: "ν", "rao-kupper": "θ" };
  const CLUSTER_NOUNS = { voter: "voters", prompt: "prompts" };
  const sort = { key: "rank", dir: "asc" };
  let boards = [];
  let competitors = new Map();
  let snapshots = [];
  let feed = null; // the latest leaderboard feed shown
  let generation = 0; // bumps on every view change: answers for an older view are dropped
  let source = null; // the EventSource of the current view
  let retryTimer = 0;
  let matrixTimer = 0;
  const rowsByModel = new Map(); // model -> <tr>, reused so rows move instead of being rebuilt
  let auditShown = null; // the { board, category } the audit panel describes
  let auditGeneration = 0;
  const AUDIT_LISTED = 5; // cycles, voters and tie rates listed

  const COLUMNS = [
    { key: "rank", label: "Rank", numeric: true, value: (r) => r.rank, title: "Position by rating" },
    {
      key: "rank_ub", label: "Rank (UB)", numeric: true, value: (r) => r.rank_ub,
      title: "1 + the number of models whose 95% interval lies entirely above this model's",
    },
    { key: "model", label: "Model", numeric: false, value: (r) => displayName(r).toLowerCase() },
    { key: "organization", label: "Organization", numeric: false, value: (r) => (r.organization || "").toLowerCase() || null },
    { key: "license", label: "License", numeric: false, value: (r) => (r.license || "").toLowerCase() || null },
    {
      key: "open_weights", label: "Open", numeric: true, title: "Open weights",
      value: (r) => (r.open_weights === null || r.open_weights === undefined ? null : r.open_weights ? 1 : 0),
    },
    { key: "rating", label: "Rating", numeric: true, value: (r) => r.rating },
    {
      key: "ci", label: "95% CI", numeric: true, title: "Width of the 95% confidence interval",
      value: (r) => (r.rating_lower === null || r.rating_upper === null ? null : r.rating_upper - r.rating_lower),
    },
    { key: "votes", label: "Votes", numeric: true, value: (r) => r.votes },
    {
      key: "rank_delta", label: "Δ Rank", numeric: true, title: "Places gained since the compared snapshot",
      value: (r) => nullable(r.rank_delta),
    },
    {
      key: "rating_delta", label: "Δ Rating", numeric: true, title: "Rating change since the compared snapshot",
      value: (r) => nullable(r.rating_delta),
    },
  ];

  // ---- start -------------------------------------------------------------------------------------

  document.title = site.title || document.title;
  buildHead();
  el.search.addEventListener("input", applySearch);
  el.compare.addEventListener("change", () => {
    view.compare = el.compare.value;
    viewChanged();
  });
  el.styleToggle.addEventListener("change", () => {
    view.style = el.styleToggle.checked;
    if (view.style) {
      view.ties = "half";
      view.cluster = "none";
    }
    viewChanged();
  });
  el.ties.addEventListener("change", () => {
    view.ties = TIE_MODELS.includes(el.ties.value) ? el.ties.value : "half";
    if (view.ties !== "half") {
      view.style = false;
      view.cluster = "none";
    }
    viewChanged();
  });
  el.cluster.addEventListener("change", () => {
    view.cluster = el.cluster.value || "none";
    if (view.cluster !== "none") {
      view.style = false;
      view.ties = "half";
    }
    viewChanged();
  });
  el.runAudit.addEventListener("click", runAudit);
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => drawCiChart(feed ? feed.rows : []), 150);
  });
  window.addEventListener("hashchange", () => {
    readHash();
    viewChanged();
  });
  start();

  async function start() {
    readHash();
    try {
      // Competitors only add links and names: the board still shows without them.
      const [boardList, competitorList] = await Promise.all([
        getJSON("/v1/boards"),
        getJSON("/v1/competitors").catch(() => ({ competitors: [] })),
      ]);
      boards = boardList.boards || [];
      competitors = new Map((competitorList.competitors || []).map((c) => [c.name, c]));
    } catch (error) {
      showMessage(error.message);
      el.lastUpdated.textContent = "";
      return;
    }
    if (boards.length === 0) {
      showMessage("No boards yet: submit votes to create one.");
      el.lastUpdated.textContent = "";
      el.empty.hidden = false;
      return;
    }
    viewChanged();
  }

  // ---- the view and its URL ----------------------------------------------------------------------

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    view.board = params.get("board") || "";
    view.category = params.get("category") || "";
    view.style = params.get("style") === "1";
    view.ties = TIE_MODELS.includes(params.get("ties")) ? params.get("ties") : "half";
    view.cluster = params.get("cluster") || "none";
    view.compare = params.has("compare") ? (params.get("compare") === "none" ? "" : params.get("compare")) : null;
  }

  function writeHash() {
    const params = new URLSearchParams();
    params.set("board", view.board);
    if (view.category) params.set("category", view.category);
    if (view.style) params.set("style", "1");
    if (view.ties !== "half") params.set("ties", view.ties);
    if (view.cluster !== "none") params.set("cluster", view.cluster);
    if (view.compare !== null) params.set("compare", view.compare === "" ? "none" : view.compare);
    const hash = "#" + params.toString();
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function currentBoard() {
    return boards.find((b) => b.name === view.board);
  }

  function currentCategory() {
    const board = currentBoard();
    return board && view.category ? (board.categories || []).find((c) => c.name === view.category) : undefined;
  }

  function styleAvailable() {
    const scope = view.category ? currentCategory() : currentBoard();
    return Boolean(scope && Number(scope.style_votes) > 0);
  }

  function clustersAvailable() {
    // A category view can give only the clusters its own votes carry ids for.
    const scope = view.category ? currentCategory() : currentBoard();
    return ((scope && scope.clusters) || []).filter((c) => c in CLUSTER_NOUNS);
  }

  // A linked or stale view made valid: a fitted tie model wins over a cluster and style control, a
  // cluster over style control (the controls' handlers reset the others when one is chosen).
  function normalizeView() {
    if (!styleAvailable()) view.style = false;
    if (!clustersAvailable().includes(view.cluster)) view.cluster = "none";
    if (view.ties !== "half") {
      view.style = false;
      view.cluster = "none";
    }
    if (view.cluster !== "none") view.style = false;
  }

  function renderModelControls() {
    el.styleControl.hidden = !styleAvailable();
    el.styleToggle.checked = view.style;
    el.ties.value = view.ties;
    const clusters = clustersAvailable();
    el.clusterControl.hidden = clusters.length === 0;
    el.cluster.querySelectorAll("option").forEach((option) => {
      option.hidden = option.value !== "none" && !clusters.includes(option.value);
      option.disabled = option.hidden;
    });
    el.cluster.value = view.cluster;
  }

  async function viewChanged() {
    if (boards.length === 0) return;
    const gen = ++generation;
    closeSource();
    if (!currentBoard()) view.board = boards[0].name;
    if (view.category && !currentCategory()) view.category = "";
    normalizeView();
    renderBoardTabs();
    renderCategoryTabs();
    renderModelControls();
    if (auditShown && (auditShown.board !== view.board || auditShown.category !== view.category)) clearAudit();
    hideMessage();

    try {
      const list = await getJSON(`/v1/boards/${encodeURIComponent(view.board)}/snapshots`);
      if (gen !== generation) return;
      snapshots = list.snapshots || [];
    } catch (error) {
      if (gen !== generation) return;
      snapshots = [];
    }
    if (view.compare === null) {
      const scheduled = snapshots.filter((s) => s.scheduled);
      view.compare = scheduled.length ? scheduled[scheduled.length - 1].name : "";
    } else if (view.compare && !snapshots.some((s) => s.name === view.compare)) {
      view.compare = "";
    }
    renderCompareSelect();
    writeHash();

    try {
      const first = await loadLeaderboard();
      if (gen !== generation) return;
      showFeed(first);
    } catch (error) {
      if (gen !== generation) return;
      showFeed(null);
      showMessage(error.message);
    }
    loadMatrix(gen);
    openSource(gen);
  }

  function queryParams() {
    const params = new URLSearchParams();
    if (view.category) params.set("category", view.category);
    if (view.style) params.set("style_control", "true");
    if (view.ties !== "half") params.set("ties", view.ties);
    if (view.cluster !== "none") params.set("cluster", view.cluster);
    if (view.compare) params.set("compare_to", view.compare);
    return params;
  }

  function boardPath(suffix) {
    return `/v1/boards/${encodeURIComponent(view.board)}/${suffix}`;
  }

  // Every listed row: the first page, then further pages while rows are missing.
  async function loadLeaderboard() {
    const params = queryParams();
    const first = await getJSON(`${boardPath("leaderboard")}?${params}`);
    return completeRows(first, params);
  }

  async function completeRows(page, params) {
    const rows = page.rows.slice();
    while (rows.length < page.total_rows) {
      const more = new URLSearchParams(params);
      more.set("offset", String(rows.length));
      more.set("min_seq", String(page.as_of_seq));
      const next = await getJSON(`${boardPath("leaderboard")}?${more}`);
      if (!next.rows.length || next.as_of_seq !== page.as_of_seq) break; // the board moved on: show what we have
      rows.push(...next.rows);
    }
    return { ...page, rows };
  }

  // ---- live updates ------------------------------------------------------------------------------

  function openSource(gen) {
    if (gen !== generation || typeof EventSource === "undefined") return;
    setLive("connecting");
    const es = new EventSource(`${boardPath("leaderboard/events")}?${queryParams()}`);
    source = es;
    es.addEventListener("open", () => {
      if (source === es) setLive("on");
    });
    es.addEventListener("leaderboard", async (event) => {
      if (source !== es) return;
      setLive("on");
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (data.rows.length < data.total_rows) {
        try {
          data = await completeRows(data, queryParams());
        } catch (error) {
          return;
        }
        if (source !== es) return;
      }
      showFeed(data);
      scheduleMatrix(gen);
    });
    // The server's own "error" event carries data; the browser's connection errors do not.
    es.addEventListener("error", (event) => {
      if (source !== es) return;
      if (event.data) {
        let message = "the live stream ended";
        try {
          const error = JSON.parse(event.data).error;
          message = `${error.code}: ${error.message}`;
        } catch (ignored) {
          // keep the generic message
        }
        closeSource();
        setLive("off", message);
        retryTimer = window.setTimeout(() => openSource(gen), 10000);
      } else if (es.readyState === EventSource.CLOSED) {
        // refused (an HTTP error): the browser gives up, so try again later
        closeSource();
        setLive("off", "the server refused the stream");
        retryTimer = window.setTimeout(() => openSource(gen), 10000);
      } else {
        setLive("connecting"); // the browser reconnects by itself
      }
    });
  }

  function closeSource() {
    window.clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    setLive("off");
  }

  function setLive(state, detail) {
    el.live.dataset.state = state;
    el.live.querySelector(".live-text").textContent =
      state === "on" ? "live" : state === "connecting" ? "connecting…" : "offline";
    el.live.title = detail ? `Live updates stopped: ${detail}` : "Live updates: the table follows new votes";
  }

  // ---- tabs and controls -------------------------------------------------------------------------

  function renderBoardTabs() {
    renderTabs(el.boardTabs, boards.map((b) => ({ value: b.name, label: b.display_name || b.name })), view.board,
      "board-tab", "board", (value) => {
        view.board = value;
        view.category = "";
        view.compare = null;
        viewChanged();
      });
  }

  function renderCategoryTabs() {
    const board = currentBoard();
    const categories = (board && board.categories) || [];
    const tabs = [{ value: "", label: "Overall" }].concat(
      categories.map((c) => ({ value: c.name, label: titleCase(c.name), title: `${formatCount(c.votes)} votes` })),
    );
    renderTabs(el.categoryTabs, tabs, view.category, "category-tab", "category", (value) => {
      view.category = value;
      viewChanged();
    });
    el.categoryTabs.hidden = categories.length === 0;
  }

  function renderTabs(container, tabs, selected, className, dataName, choose) {
    container.replaceChildren();
    tabs.forEach((tab) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = className;
      button.setAttribute("role", "tab");
      button.dataset[dataName] = tab.value;
      button.textContent = tab.label;
      if (tab.title) button.title = tab.title;
      const isSelected = tab.value === selected;
      button.setAttribute("aria-selected", String(isSelected));
      button.tabIndex = isSelected ? 0 : -1;
      button.addEventListener("click", () => {
        if (tab.value !== selected) choose(tab.value);
      });
      button.addEventListener("keydown", (event) => {
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        const buttons = Array.from(container.querySelectorAll("button"));
        const next = buttons[(buttons.indexOf(button) + step + buttons.length) % buttons.length];
        next.focus();
        event.preventDefault();
      });
      container.appendChild(button);
    });
  }

  function renderCompareSelect() {
    el.compare.replaceChildren(new Option("none", ""));
    snapshots
      .slice()
      .reverse()
      .forEach((s) => {
        const when = s.created ? ` (${new Date(s.created * 1000).toLocaleDateString()})` : "";
        el.compare.appendChild(new Option(`${s.name}${when}${s.scheduled ? "" : " · manual"}`, s.name));
      });
    el.compare.value = view.compare || "";
    el.compare.disabled = snapshots.length === 0;
  }

  // ---- the table ---------------------------------------------------------------------------------

  function buildHead() {
    el.head.replaceChildren();
    COLUMNS.forEach((column) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.key = column.key;
      th.className = column.numeric ? "num" : "";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = column.label;
      if (column.title) button.title = column.title;
      button.addEventListener("click", () => {
        if (sort.key === column.key) {
          sort.dir = sort.dir === "asc" ? "desc" : "asc";
        } else {
          sort.key = column.key;
          sort.dir = ["rank", "rank_ub", "model", "organization", "license"].includes(column.key) ? "asc" : "desc";
        }
        updateSortMarks();
        if (feed) renderRows(feed);
      });
      th.appendChild(button);
      el.head.appendChild(th);
    });
    updateSortMarks();
  }

  function updateSortMarks() {
    el.head.querySelectorAll("th").forEach((th) => {
      if (th.dataset.key === sort.key) th.setAttribute("aria-sort", sort.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  function showFeed(data) {
    feed = data;
    if (!data) {
      el.body.replaceChildren();
      rowsByModel.clear();
      el.empty.hidden = true;
      el.coefficients.hidden = true;
      el.tieNote.hidden = true;
      el.tieNote.textContent = "";
      el.caption.textContent = "Leaderboard";
      el.lastUpdated.textContent = "";
      drawCiChart([]);
      el.heatmap.replaceChildren();
      return;
    }
    hideMessage();
    renderRows(data);
    renderCaption(data);
    renderLastUpdated(data);
    renderCoefficients(data);
    renderTieNote(data);
    drawCiChart(data.rows);
  }

  function renderCaption(data) {
    const board = currentBoard();
    const parts = [(board && board.display_name) || data.board, data.category ? titleCase(data.category) : "Overall"];
    let text = `${parts.join(" — ")}: ${data.rows.length} models`;
    if (data.style_control) text += ", style control on";
    if (TIE_LABELS[data.tie_model]) text += `, ${TIE_LABELS[data.tie_model]} ties`;
    if (CLUSTER_NOUNS[data.cluster]) text += `, CIs resample whole ${CLUSTER_NOUNS[data.cluster]}`;
    if (data.compared_to) text += `, changes since snapshot ${data.compared_to.name}`;
    el.caption.textContent = text;
  }

  function renderLastUpdated(data) {
    const seconds = typeof data.as_of_time === "number" ? data.as_of_time : Date.parse(data.as_of) / 1000;
    el.lastUpdated.replaceChildren();
    if (Number.isFinite(seconds)) {
      const date = new Date(seconds * 1000);
      const time = document.createElement("time");
      time.dateTime = date.toISOString();
      time.textContent = date.toLocaleString();
      el.lastUpdated.append("Last updated ", time);
    }
    el.lastUpdated.append(` · ${formatCount(data.total_votes)} votes`);
    el.lastUpdated.dataset.votes = String(data.total_votes);
    el.lastUpdated.dataset.seq = String(data.as_of_seq);
  }

  function renderCoefficients(data) {
    const coefficients = data.style_control ? data.style_coefficients || [] : [];
    el.coefficients.hidden = coefficients.length === 0;
    el.coefficients.textContent = coefficients.length
      ? "Style coefficients (log-odds per standard deviation): " +
        coefficients.map((c) => `${c.name} ${signed(c.value, 3)}`).join(", ")
      : "";
  }

  // A fitted tie model: its parameter with the 95% interval, and the fit's AIC (lower is better, to
  // compare tie models on the same votes).
  function renderTieNote(data) {
    const label = TIE_LABELS[data.tie_model];
    const value = data.tie_parameter;
    el.tieNote.hidden = !label || typeof value !== "number";
    el.tieNote.textContent = "";
    if (el.tieNote.hidden) return;
    let text = `${label} tie parameter ${TIE_SYMBOLS[data.tie_model]} = ${formatParameter(value)}`;
    if (typeof data.tie_parameter_lower === "number" && typeof data.tie_parameter_upper === "number") {
      text += ` (95% CI ${formatParameter(data.tie_parameter_lower)}–${formatParameter(data.tie_parameter_upper)})`;
    }
    if (typeof data.aic === "number") text += ` · AIC ${data.aic.toFixed(1)}`;
    el.tieNote.textContent = text;
    el.tieNote.dataset.tieModel = data.tie_model;
  }

  function formatParameter(v) {
    return v.toFixed(3);
  }

  function renderRows(data) {
    const previous = new Map(Array.from(rowsByModel, ([model, tr]) => [model, tr.dataset.rank]));
    const column = COLUMNS.find((c) => c.key === sort.key) || COLUMNS[0];
    const sign = sort.dir === "asc" ? 1 : -1;
    const rows = data.rows.slice().sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      if (x === null || x === undefined || x !== x) return y === null || y === undefined || y !== y ? a.rank - b.rank : 1;
      if (y === null || y === undefined || y !== y) return -1;
      if (x < y) return -sign;
      if (x > y) return sign;
      return a.rank - b.rank;
    });
    const seen = new Set();
    const compared = Boolean(data.compared_to);
    rows.forEach((row) => {
      seen.add(row.model);
      let tr = rowsByModel.get(row.model);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.model = row.model;
        rowsByModel.set(row.model, tr);
      }
      fillRow(tr, row, compared);
      const before = previous.get(row.model);
      if (before !== undefined && before !== String(row.rank)) {
        tr.classList.remove("moved");
        void tr.offsetWidth; // restart the highlight's animation
        tr.classList.add("moved");
      }
      el.body.appendChild(tr); // in sorted order: an existing row moves
    });
    for (const [model, tr] of rowsByModel) {
      if (!seen.has(model)) {
        tr.remove();
        rowsByModel.delete(model);
      }
    }
    el.empty.hidden = rows.length > 0;
    applySearch();
  }

  function fillRow(tr, row, compared) {
    tr.dataset.rank = String(row.rank);
    tr.classList.toggle("preliminary", Boolean(row.preliminary));
    const cells = [
      numCell(String(row.rank), "rank"),
      numCell(row.rank_ub === null ? "—" : String(row.rank_ub), "rank-ub"),
      modelCell(row),
      textCell(row.organization || "", "organization"),
      textCell(row.license || "", "license"),
      openCell(row.open_weights),
      numCell(row.rating.toFixed(0), "rating"),
      ciCell(row),
      numCell(formatCount(row.votes), "votes"),
      deltaRankCell(row, compared),
      deltaRatingCell(row, compared),
    ];
    tr.replaceChildren(...cells);
  }

  function modelCell(row) {
    const td = document.createElement("td");
    td.className = "model";
    const name = displayName(row);
    const link = linkOf(row.model);
    let label;
    if (link) {
      label = document.createElement("a");
      label.href = link;
      label.rel = "noopener noreferrer";
      label.target = "_blank";
    } else {
      label = document.createElement("span");
    }
    label.className = "model-name";
    label.textContent = name;
    if (name !== row.model) label.title = row.model;
    td.appendChild(label);
    if (row.preliminary) {
      const badge = document.createElement("span");
      badge.className = "badge preliminary-badge";
      badge.textContent = "preliminary";
      const board = currentBoard();
      const threshold = board && Number(board.preliminary_votes) > 0 ? `fewer than ${board.preliminary_votes}` : "few";
      badge.title = `Preliminary: ${threshold} votes so far, so the rating may still move a lot`;
      td.appendChild(badge);
    }
    if (row.status && row.status !== "active") {
      const badge = document.createElement("span");
      badge.className = "badge status-badge";
      badge.textContent = row.status;
      td.appendChild(badge);
    }
    return td;
  }

  function textCell(text, className) {
    const td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    return td;
  }

  function numCell(text, className) {
    const td = textCell(text, className);
    td.classList.add("num");
    return td;
  }

  function openCell(open) {
    const td = document.createElement("td");
    td.className = "open-weights";
    if (open === true) {
      td.textContent = "✓";
      td.title = "Open weights";
      td.setAttribute("aria-label", "open weights");
    } else if (open === false) {
      td.textContent = "✗";
      td.title = "Closed weights";
      td.setAttribute("aria-label", "closed weights");
    }
    return td;
  }

  function ciCell(row) {
    if (row.rating_lower === null || row.rating_upper === null) return numCell("—", "ci");
    const up = row.rating_upper - row.rating;
    const down = row.rating - row.rating_lower;
    const td = numCell(`+${up.toFixed(0)}/−${down.toFixed(0)}`, "ci");
    td.title = `[${row.rating_lower.toFixed(1)}, ${row.rating_upper.toFixed(1)}]`;
    return td;
  }

  function deltaRankCell(row, compared) {
    const td = numCell("", "rank-delta");
    if (!compared) return td;
    if (row.rank_delta === null || row.rank_delta === undefined) {
      td.textContent = "new";
      td.classList.add("new");
    } else if (row.rank_delta > 0) {
      td.textContent = `▲${row.rank_delta}`;
      td.classList.add("up");
      td.setAttribute("aria-label", `up ${row.rank_delta}`);
    } else if (row.rank_delta < 0) {
      td.textContent = `▼${-row.rank_delta}`;
      td.classList.add("down");
      td.setAttribute("aria-label", `down ${-row.rank_delta}`);
    } else {
      td.textContent = "=";
    }
    return td;
  }

  function deltaRatingCell(row, compared) {
    const td = numCell("", "rating-delta");
    if (!compared || row.rating_delta === null || row.rating_delta === undefined) return td;
    td.textContent = signed(row.rating_delta, 1);
    if (row.rating_delta > 0.05) td.classList.add("up");
    else if (row.rating_delta < -0.05) td.classList.add("down");
    return td;
  }

  function applySearch() {
    const query = el.search.value.trim().toLowerCase();
    let shown = 0;
    el.body.querySelectorAll("tr").forEach((tr) => {
      const row = feed && feed.rows.find((r) => r.model === tr.dataset.model);
      const haystack = row ? [row.model, row.display_name || "", row.organization || ""].join("\n").toLowerCase() : "";
      const match = !query || haystack.includes(query);
      tr.hidden = !match;
      if (match) shown += 1;
    });
    el.table.dataset.shown = String(shown);
  }

  // ---- the CI chart ------------------------------------------------------------------------------

  function drawCiChart(rows) {
    const svg = el.ciChart;
    svg.replaceChildren();
    const ordered = rows.slice().sort((a, b) => a.rank - b.rank);
    const rowHeight = 18;
    const top = 24;
    // As wide as its box (phones included), so labels keep their size instead of being scaled down.
    const box = svg.parentElement ? svg.parentElement.clientWidth - 18 : 0;
    const width = Math.max(320, Math.min(1000, box || 760));
    const labelWidth = Math.min(190, Math.round(width * 0.36));
    const right = 20;
    const height = top + Math.max(1, ordered.length) * rowHeight + 10;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    svg.dataset.rows = String(ordered.length);
    if (!ordered.length) {
      svg.appendChild(svgText(width / 2, top, "No ratings yet", { "text-anchor": "middle", class: "axis-label" }));
      return;
    }
    let lo = Infinity;
    let hi = -Infinity;
    ordered.forEach((r) => {
      lo = Math.min(lo, r.rating_lower ?? r.rating, r.rating);
      hi = Math.max(hi, r.rating_upper ?? r.rating, r.rating);
    });
    if (hi - lo < 1) {
      lo -= 10;
      hi += 10;
    }
    const pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
    const x = (v) => labelWidth + ((v - lo) / (hi - lo)) * (width - labelWidth - right);

    const step = niceStep((hi - lo) / Math.max(2, Math.floor((width - labelWidth - right) / 70)));
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
      svg.appendChild(svgEl("line", { x1: x(t), x2: x(t), y1: top - 6, y2: height - 6, class: "grid" }));
      svg.appendChild(svgText(x(t), top - 10, t.toFixed(0), { "text-anchor": "middle", class: "axis-label" }));
    }
    ordered.forEach((r, i) => {
      const y = top + i * rowHeight + rowHeight / 2;
      const g = svgEl("g", { class: r.preliminary ? "ci-row preliminary" : "ci-row", "data-model": r.model });
      const title = svgEl("title", {});
      const interval = r.rating_lower === null ? "" : ` (95% CI ${r.rating_lower.toFixed(0)}–${r.rating_upper.toFixed(0)})`;
      title.textContent = `${r.rank}. ${displayName(r)}: ${r.rating.toFixed(0)}${interval}`;
      g.appendChild(title);
      const label = truncate(`${r.rank}. ${displayName(r)}`, Math.floor(labelWidth / 6.5));
      g.appendChild(svgText(labelWidth - 8, y + 4, label, { "text-anchor": "end", class: "ci-label" }));
      if (r.rating_lower !== null && r.rating_upper !== null) {
        g.appendChild(svgEl("line", { x1: x(r.rating_lower), x2: x(r.rating_upper), y1: y, y2: y, class: "ci-bar" }));
        [r.rating_lower, r.rating_upper].forEach((v) =>
          g.appendChild(svgEl("line", { x1: x(v), x2: x(v), y1: y - 4, y2: y + 4, class: "ci-bar" })),
        );
      }
      g.appendChild(svgEl("circle", { cx: x(r.rating), cy: y, r: 4, class: "ci-dot" }));
      svg.appendChild(g);
    });
  }

  function niceStep(raw) {
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / power;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
  }

  // ---- the audit (on request: it reads the vote log) -----------------------------------------------

  function clearAudit() {
    auditGeneration += 1;
    auditShown = null;
    el.audit.replaceChildren();
    el.runAudit.disabled = false;
  }

  async function runAudit() {
    const gen = ++auditGeneration;
    const scope = { board: view.board, category: view.category };
    const params = new URLSearchParams();
    if (scope.category) params.set("category", scope.category);
    el.runAudit.disabled = true;
    el.audit.replaceChildren(auditLine("audit-status", "Auditing the votes…"));
    try {
      const audit = await getJSON(`/v1/boards/${encodeURIComponent(scope.board)}/audit?${params}`);
      if (gen !== auditGeneration) return;
      auditShown = scope;
      renderAudit(audit);
    } catch (error) {
      if (gen !== auditGeneration) return;
      auditShown = scope;
      el.audit.replaceChildren(auditLine("audit-error message", `Audit failed: ${error.message}`));
    } finally {
      if (gen === auditGeneration) el.runAudit.disabled = false;
    }
  }

  function auditLine(className, text) {
    const p = document.createElement("p");
    p.className = className;
    if (text !== undefined) p.textContent = text;
    return p;
  }

  function flagMark(flagged, title) {
    const mark = document.createElement("span");
    mark.className = flagged ? "flag flagged" : "flag ok";
    mark.textContent = flagged ? "flagged" : "ok";
    mark.title = title;
    return mark;
  }

  function percent(v) {
    return typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "—";
  }

  function renderAudit(audit) {
    const nodes = [];
    const scope = `${audit.board}${audit.category ? ` — ${titleCase(audit.category)}` : ""}`;
    nodes.push(auditLine("audit-scope note", `${scope}: ${formatCount(audit.votes)} votes, up to #${audit.as_of_seq}`));

    const bias = audit.position_bias || {};
    const position = auditLine("audit-position");
    position.dataset.flagged = String(Boolean(bias.flagged));
    position.dataset.rate = String(bias.win_rate_a);
    const strong = document.createElement("strong");
    strong.textContent = "Position bias: ";
    const rate = document.createElement("span");
    rate.className = "audit-rate";
    rate.textContent = percent(bias.win_rate_a);
    position.append(strong, "side A wins ", rate,
      ` of ${formatCount(bias.decisive_votes || 0)} decisive votes (95% CI ${percent(bias.lower)}–${percent(bias.upper)}) `,
      flagMark(Boolean(bias.flagged), bias.flagged ? "The interval excludes 50%: the side shown first wins more (or less) often"
        : "The interval includes 50%"));
    nodes.push(position);

    const cycles = audit.intransitivity || {};
    const cycleLine = auditLine("audit-cycles");
    cycleLine.dataset.cycles = String(cycles.cycles);
    const cycleHead = document.createElement("strong");
    cycleHead.textContent = "Intransitive cycles: ";
    const count = document.createElement("span");
    count.className = "audit-cycle-count";
    count.textContent = String(cycles.cycles ?? 0);
    cycleLine.append(cycleHead, count,
      ` among ${formatCount(cycles.triads_tested || 0)} triads tested (${formatCount(cycles.pairs_tested || 0)} pairs) `,
      flagMark(Number(cycles.cycles) > 0, "A cycle: A beats B, B beats C and C beats A, each significantly"));
    nodes.push(cycleLine);
    const top = (cycles.top || []).slice(0, AUDIT_LISTED);
    if (top.length) {
      const list = document.createElement("ul");
      list.className = "audit-triads";
      top.forEach((cycle) => {
        const names = cycle.models.map((m) => displayName({ model: m }));
        const li = document.createElement("li");
        const rates = (cycle.win_rates || []).map(percent).join(", ");
        li.textContent = `${names[0]} > ${names[1]} > ${names[2]} > ${names[0]}` + (rates ? ` (${rates})` : "");
        list.appendChild(li);
      });
      nodes.push(list);
    }

    const voters = audit.voters || {};
    const voterLine = auditLine("audit-voters");
    voterLine.dataset.flagged = String(voters.flagged ?? 0);
    const voterHead = document.createElement("strong");
    voterHead.textContent = "Flagged voters: ";
    const flaggedIds = (voters.flagged_voters || []).slice(0, AUDIT_LISTED).map((v) => v.voter_id);
    let voterText = `${formatCount(voters.flagged || 0)} of ${formatCount(voters.voters || 0)}`;
    if (flaggedIds.length) voterText += ` (${flaggedIds.join(", ")}${(voters.flagged || 0) > flaggedIds.length ? ", …" : ""})`;
    if (voters.votes_without_voter) voterText += `; ${formatCount(voters.votes_without_voter)} votes without a voter id`;
    voterLine.append(voterHead, voterText, " ",
      flagMark(Number(voters.flagged) > 0, "Voters whose votes disagree with the ratings far more than chance allows"));
    nodes.push(voterLine);

    const ties = (audit.ties || []).filter((t) => t.votes > 0).sort((a, b) => b.tie_rate - a.tie_rate)
      .slice(0, AUDIT_LISTED);
    const tieLine = auditLine("audit-ties");
    const tieHead = document.createElement("strong");
    tieHead.textContent = "Highest tie rates: ";
    tieLine.append(tieHead, ties.length
      ? ties.map((t) => `${displayName({ model: t.model })} ${percent(t.tie_rate)}` +
          (t.ties_both_bad ? ` (both bad ${percent(t.both_bad_rate)})` : "")).join(", ")
      : "none");
    nodes.push(tieLine);
    el.audit.replaceChildren(...nodes);
  }

  // ---- the heatmap -------------------------------------------------------------------------------

  function scheduleMatrix(gen) {
    window.clearTimeout(matrixTimer);
    matrixTimer = window.setTimeout(() => loadMatrix(gen), 300);
  }

  async function loadMatrix(gen) {
    if (!feed || !feed.rows.length) {
      el.heatmap.replaceChildren();
      return;
    }
    const params = queryParams();
    params.delete("compare_to");
    params.set("top_k", String(HEATMAP_TOP_K));
    try {
      const matrix = await getJSON(`${boardPath("matrix")}?${params}`);
      if (gen !== generation) return;
      drawHeatmap(matrix);
    } catch (error) {
      if (gen !== generation) return;
      el.heatmap.replaceChildren(document.createTextNode(`Win probabilities unavailable: ${error.message}`));
    }
  }

  // Diverging: red below 0.5, white at 0.5, blue above; saturated by 0.1 away from 0.5 so 0.4 and 0.6 differ.
  function probabilityColour(p) {
    const t = Math.min(1, Math.abs(p - 0.5) / 0.4);
    const ease = Math.pow(t, 0.7);
    const end = p < 0.5 ? [202, 0, 32] : [5, 113, 176];
    const mix = end.map((c) => Math.round(255 + (c - 255) * ease));
    return `rgb(${mix[0]}, ${mix[1]}, ${mix[2]})`;
  }

  function drawHeatmap(matrix) {
    const models = matrix.models || [];
    const k = models.length;
    el.heatmap.replaceChildren();
    if (k < 2) {
      el.heatmap.textContent = "Too few models for a win-probability matrix.";
      return;
    }
    const cell = 46;
    const labelWidth = 170;
    const top = 130;
    const legendHeight = 56;
    const width = labelWidth + k * cell + 90; // room for the last rotated column label
    const height = top + k * cell + legendHeight;
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "heatmap-svg" });
    svg.setAttribute("aria-label", "Predicted probability that the row model beats the column model");
    const names = models.map((m) => displayName({ model: m }));
    names.forEach((name, j) => {
      const cx = labelWidth + j * cell + cell / 2;
      svg.appendChild(svgText(cx, top - 8, truncate(name, 22), {
        transform: `rotate(-45 ${cx} ${top - 8})`, class: "axis-label",
      }));
    });
    names.forEach((name, i) => {
      const cy = top + i * cell + cell / 2;
      svg.appendChild(svgText(labelWidth - 8, cy + 4, truncate(name, 24), { "text-anchor": "end", class: "axis-label" }));
      for (let j = 0; j < k; j++) {
        const p = matrix.predicted_win_probability[i * k + j];
        const g = svgEl("g", { class: "cell", "data-row": models[i], "data-col": models[j] });
        const rect = svgEl("rect", {
          x: labelWidth + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1,
          fill: i === j ? "#e9ecf1" : probabilityColour(p),
        });
        g.appendChild(rect);
        if (i !== j) {
          g.dataset.p = String(p);
          const title = svgEl("title", {});
          title.textContent = `P(${names[i]} beats ${names[j]}) = ${p.toFixed(3)}`;
          g.appendChild(title);
          const dark = Math.abs(p - 0.5) > 0.3;
          g.appendChild(svgText(labelWidth + j * cell + cell / 2, top + i * cell + cell / 2 + 4, p.toFixed(2), {
            "text-anchor": "middle", class: dark ? "cell-value light" : "cell-value",
          }));
        }
        svg.appendChild(g);
      }
    });
    // legend: the colour scale from 0 to 1
    const legendY = top + k * cell + 20;
    const legendWidth = Math.min(260, k * cell);
    const steps = 40;
    for (let s = 0; s < steps; s++) {
      svg.appendChild(svgEl("rect", {
        x: labelWidth + (s * legendWidth) / steps, y: legendY, width: legendWidth / steps + 0.5, height: 12,
        fill: probabilityColour(s / (steps - 1)),
      }));
    }
    [0, 0.25, 0.5, 0.75, 1].forEach((v) => {
      svg.appendChild(svgText(labelWidth + v * legendWidth, legendY + 26, v.toFixed(2), {
        "text-anchor": "middle", class: "axis-label",
      }));
    });
    svg.appendChild(svgText(labelWidth - 8, legendY + 10, "P(row wins)", { "text-anchor": "end", class: "axis-label" }));
    el.heatmap.appendChild(svg);
  }

  // ---- helpers -----------------------------------------------------------------------------------

  function readSiteConfig() {
    try {
      return JSON.parse(document.getElementById("site").textContent) || {};
    } catch (error) {
      return {};
    }
  }

  async function getJSON(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new Error(`cannot reach the server (${error.message})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const error = body && body.error;
      throw new Error(error ? `${error.code}: ${error.message}` : `HTTP ${response.status} for ${url}`);
    }
    if (body === null) throw new Error(`not JSON: ${url}`);
    return body;
  }

  function showMessage(text) {
    el.message.textContent = text;
    el.message.hidden = false;
  }

  function hideMessage() {
    el.message.hidden = true;
    el.message.textContent = "";
  }

  function displayName(row) {
    if (row.display_name) return row.display_name;
    const competitor = competitors.get(row.model);
    return (competitor && competitor.display_name) || row.model;
  }

  function linkOf(model) {
    const competitor = competitors.get(model);
    const links = (competitor && competitor.links) || {};
    const url = links.website || Object.values(links)[0];
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : "";
  }

  function nullable(v) {
    return v === undefined ? null : v;
  }

  function signed(v, digits) {
    const text = Math.abs(v).toFixed(digits);
    return v > 0 ? `+${text}` : v < 0 && Number(text) !== 0 ? `−${text}` : text;
  }

  function formatCount(n) {
    return Number(n).toLocaleString();
  }

  function titleCase(name) {
    return name
      .split(/[_-]/)
      .map((part) => (part ? part[0].toUpperCase() + part.slice(1) : part))
      .join(" ");
  }

  function truncate(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function svgEl(name, attributes) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, String(value)));
    return node;
  }

  function svgText(x, y, text, attributes) {
    const node = svgEl("text", { x, y, ...attributes });
    node.textContent = text;
    return node;
  }
})();
