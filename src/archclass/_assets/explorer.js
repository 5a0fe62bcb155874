// The triangle explorer: hover or focus a point for its classification, filter, search, and follow a
// hybrid's composition. Everything is drawn by `archclass render` into the page; this script only
// reacts. Registry text reaches the page through textContent and never as markup.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("triangle-data").textContent);
  const byId = new Map(data.points.map((p) => [p.id, p]));
  const plot = document.getElementById("plot");
  const wrap = document.querySelector(".plot-wrap");
  const tip = document.getElementById("tooltip");
  const shares = document.getElementById("shares");
  const status = document.getElementById("status");
  const points = new Map([...plot.querySelectorAll("g.point")].map((g) => [g.dataset.id, g]));
  const rows = new Map([...document.querySelectorAll("#entries tbody tr")].map((tr) => [tr.dataset.id, tr]));
  const compositions = new Map([...plot.querySelectorAll("g.composition")].map((g) => [g.dataset.hybrid, g]));
  const usedBy = new Map();
  for (const p of data.points) {
    for (const c of p.components || []) {
      if (!usedBy.has(c.id)) usedBy.set(c.id, []);
      usedBy.get(c.id).push(p.id);
    }
  }
  let pinned = null;

  // ---- filters ----
  const form = document.getElementById("filters");
  const checked = (name) => new Set([...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value));
  const yearBound = (id, fallback) => {
    const value = parseInt(document.getElementById(id).value, 10);
    return Number.isFinite(value) ? value : fallback;
  };
  const haystack = (p) => [p.id, p.name, p.summary, ...(p.aliases || []), ...(p.tags || [])].join("\n").toLowerCase();

  function visibleIds() {
    const families = checked("family");
    const placements = checked("placement");
    const confidences = checked("confidence");
    const from = yearBound("year-from", -Infinity);
    const to = yearBound("year-to", Infinity);
    const words = document.getElementById("search").value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = new Set();
    for (const p of data.points) {
      const text = haystack(p);
      if (families.has(p.family) && placements.has(p.placement) && confidences.has(p.confidence) &&
          p.year >= from && p.year <= to && words.every((w) => text.includes(w))) {
        shown.add(p.id);
      }
    }
    return shown;
  }

  function applyFilters() {
    const shown = visibleIds();
    for (const [id, g] of points) g.classList.toggle("hidden", !shown.has(id));
    for (const [id, tr] of rows) tr.hidden = !shown.has(id);
    for (const [id, g] of compositions) g.classList.toggle("hidden", !shown.has(id));
    status.textContent = `${shown.size} of ${data.points.length} architectures shown`;
    if (pinned && !shown.has(pinned)) unpin();
  }

  form.addEventListener("input", applyFilters);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("reset", () => setTimeout(applyFilters, 0));

  // ---- tooltip ----
  function node(tag, text, className) {
    const element = document.createElement(tag);
    if (text !== undefined && text !== null) element.textContent = String(text);
    if (className) element.className = className;
    return element;
  }

  function jumpButton(id, label) {
    const button = node("button", label, "link");
    button.type = "button";
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      if (points.has(id)) pin(id);
    });
    return button;
  }

  function fillTip(p) {
    tip.replaceChildren();
    const close = node("button", "\u00d7", "close");
    close.type = "button";
    close.setAttribute("aria-label", "close");
    close.addEventListener("click", unpin);
    tip.append(close, node("h2", p.name));
    const meta = node("p", `${p.id} \u00b7 ${p.year} \u00b7 ${p.family} \u00b7 placement ${p.placement} \u00b7 ${p.confidence} confidence`, "meta");
    tip.append(meta);
    if (p.citation) {
      const link = node("a", p.citation.replace(/^https?:\/\//, ""));
      link.href = p.citation;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      const cite = node("p", "Paper: ");
      cite.append(link);
      tip.append(cite);
    }
    tip.append(node("p", `Per step: ${p.compute}; state: ${p.state}`));
    if (p.components) {
      tip.append(node("h3", "Composition (share of layers)"));
      const list = node("ul");
      for (const c of p.components) {
        const item = node("li", `${c.share} `);
        item.append(jumpButton(c.id, c.id), document.createTextNode(` (${c.placement})`));
        list.append(item);
      }
      tip.append(list);
      tip.append(node("p", "Drawn at the share-weighted mean of its components' places; its class comes from the rules below.", "meta"));
    }
    if (usedBy.has(p.id)) {
      const used = node("p", "Layer of: ");
      usedBy.get(p.id).forEach((id, index) => {
        if (index) used.append(document.createTextNode(", "));
        used.append(jumpButton(id, id));
      });
      tip.append(used);
    }
    tip.append(node("h3", "Rules that fired"));
    const rules = node("ul");
    for (const r of p.rules) {
      const item = node("li");
      item.append(node("span", `${r.rule}`, "rule"), document.createTextNode(` \u2192 ${r.value ? "" : "not "}${r.property}: ${r.explanation}`));
      rules.append(item);
    }
    tip.append(rules);
    tip.append(node("h3", "Evidence"));
    tip.append(node("p", p.evidence, "evidence"));
  }

  function placeTip(g) {
    // Beside the point, on whichever side has room, and inside the window where it can be.
    const box = g.getBoundingClientRect();
    const frame = wrap.getBoundingClientRect();
    tip.style.left = "0px";
    tip.style.top = "0px";
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const right = box.right - frame.left + 12;
    const left = right + width > frame.width ? Math.max(0, box.left - frame.left - width - 12) : right;
    const lowest = window.innerHeight - frame.top - height - 8;
    const top = Math.max(-frame.top + 8, Math.min(box.top - frame.top - 20, lowest));
    tip.style.left = `${left}px`;
    tip.style.top = `${Math.max(0, top)}px`;
  }

  function clearFocus() {
    plot.classList.remove("focusing");
    for (const el of plot.querySelectorAll(".related, .active")) el.classList.remove("related", "active");
    for (const tr of document.querySelectorAll("#entries tr.active")) tr.classList.remove("active");
    shares.replaceChildren();
  }

  function focusOn(id) {
    clearFocus();
    const p = byId.get(id);
    plot.classList.add("focusing");
    points.get(id).classList.add("active");
    if (rows.has(id)) rows.get(id).classList.add("active");
    const hybrids = p.components ? [id] : usedBy.get(id) || [];
    for (const hybrid of hybrids) {
      compositions.get(hybrid)?.classList.add("related");
      points.get(hybrid)?.classList.add("related");
      for (const c of byId.get(hybrid).components) points.get(c.id)?.classList.add("related");
    }
    if (p.components) labelShares(p);
  }

  function labelShares(p) {
    const svgNS = "http://www.w3.org/2000/svg";
    const [hx, hy] = coords(points.get(p.id));
    for (const c of p.components) {
      const [cx, cy] = coords(points.get(c.id));
      const label = document.createElementNS(svgNS, "text");
      label.setAttribute("x", String(cx + (hx - cx) * 0.35 + 6));
      label.setAttribute("y", String(cy + (hy - cy) * 0.35));
      label.setAttribute("class", "share");
      label.textContent = `${c.share} ${c.id}`;
      shares.append(label);
    }
  }

  const coords = (g) => [parseFloat(g.dataset.x), parseFloat(g.dataset.y)];

  function show(id) {
    if (pinned) return;
    focusOn(id);
    fillTip(byId.get(id));
    tip.hidden = false;
    placeTip(points.get(id));
  }

  function hide() {
    if (pinned) return;
    tip.hidden = true;
    clearFocus();
  }

  function pin(id) {
    pinned = null;
    show(id);
    pinned = id;
  }

  function unpin() {
    pinned = null;
    hide();
  }

  for (const [id, g] of points) {
    g.addEventListener("pointerenter", () => show(id));
    g.addEventListener("pointerleave", hide);
    g.addEventListener("focus", () => show(id));
    g.addEventListener("blur", hide);
    g.addEventListener("click", (event) => {
      event.stopPropagation();
      pin(id);
    });
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pin(id);
      }
    });
  }
  for (const [id, tr] of rows) {
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      pin(id);
      points.get(id).scrollIntoView({ block: "center", behavior: "smooth" });
    });
  }
  tip.addEventListener("click", (event) => event.stopPropagation());
  document.addEventListener("click", () => { if (pinned) unpin(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") unpin(); });

  applyFilters();
})();
