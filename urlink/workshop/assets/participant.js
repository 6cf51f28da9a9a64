// urlink workshop: the participants' page (phones and laptops).
"use strict";
(() => {
  const { t, h, api, indicatorLabel, fmt, svgMap, langButton, randomId } = window.U;
  const app = document.getElementById("app");
  const code = decodeURIComponent(location.pathname.split("/").pop() || "").toUpperCase();
  const saved = JSON.parse(localStorage.getItem("urlink-join-" + code) || "null");
  const S = { info: null, me: saved, tab: "points", points: null, pairs: null, ahp: null, message: null, pending: null, round: 0, open: true };
  let ahpTimer = null;

  function intPoints(values) {
    // integer points summing to 100, by largest remainder
    const total = values.reduce((a, b) => a + b, 0);
    const raw = total > 0 ? values.map((v) => (v / total) * 100) : values.map(() => 100 / values.length);
    const out = raw.map(Math.floor);
    let short = 100 - out.reduce((a, b) => a + b, 0);
    const order = raw.map((v, i) => [v - Math.floor(v), i]).sort((a, b) => b[0] - a[0]);
    for (let k = 0; k < short; k++) out[order[k % order.length][1]] += 1;
    return out;
  }
  function setPoint(i, v) {
    // the moved slider keeps its value; the others share the rest in their proportions
    v = Math.max(0, Math.min(100, Math.round(v)));
    const rest = 100 - v;
    const others = S.points.map((p, j) => (j === i ? 0 : p));
    const base = others.some((p) => p > 0) ? others : others.map((p, j) => (j === i ? 0 : 1));
    const bsum = base.reduce((a, b) => a + b, 0);
    const raw = base.map((p, j) => (j === i ? 0 : (p / bsum) * rest));
    const out = raw.map(Math.floor);
    const short = rest - out.reduce((a, b) => a + b, 0);
    const order = raw.map((x, j) => [x - Math.floor(x), j]).filter(([, j]) => j !== i).sort((a, b) => b[0] - a[0]);
    for (let k = 0; k < short && order.length; k++) out[order[k % order.length][1]] += 1;
    out[i] = v;
    S.points = out;
    render();
  }
  function saatyValue(k) { return k >= 0 ? k + 1 : 1 / (1 - k); }
  function saatyText(k) { return k === 0 ? "1" : k > 0 ? String(k + 1) : "1/" + (1 - k); }
  function judgments() {
    return S.pairs.map((p) => [p.row, p.col, saatyValue(p.k)]);
  }
  async function checkAhp() {
    const res = await api("POST", "/api/ahp", { code, judgments: judgments() });
    S.ahp = res.ok ? res.data : { error: res.data.error };
    render();
  }
  async function join(group, name) {
    const res = await api("POST", "/api/join", { code, group, name });
    if (!res.ok) { S.message = { ok: false, text: res.data.error || String(res.status) }; render(); return; }
    S.me = res.data;
    localStorage.setItem("urlink-join-" + code, JSON.stringify(S.me));
    S.message = null;
    initWeights();
    render();
  }
  function initWeights() {
    const ids = S.info.indicators.map((i) => i.id);
    const form = S.info.form_points[S.me.group];
    S.points = intPoints(form ? form : ids.map(() => 1));
    S.pairs = [];
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) S.pairs.push({ row: ids[i], col: ids[j], k: 0 });
    S.ahp = null;
  }
  async function submit() {
    const body = { secret: S.me.secret, group: S.me.group, round: S.round, client_id: S.pending || (S.pending = randomId()) };
    if (S.tab === "ahp") body.judgments = judgments();
    else body.points = Object.fromEntries(S.info.indicators.map((ind, i) => [ind.id, S.points[i]]));
    const res = await api("POST", "/api/submit", body);
    if (res.ok) { S.pending = null; S.message = { ok: true, text: t("submitted", { n: res.data.round }) }; }
    else if (res.status === 0) S.message = { ok: false, text: res.data.error }; // keep the id: a retry is stored once
    else { S.pending = null; S.message = { ok: false, text: res.data.error || String(res.status) }; }
    render();
  }
  async function poll() {
    const res = await api("GET", "/api/status?code=" + encodeURIComponent(code));
    if (res.ok && (res.data.round !== S.round || res.data.open !== S.open)) {
      S.round = res.data.round; S.open = res.data.open; render();
    }
  }

  function header() {
    const state = S.open ? t("open") : t("frozen");
    return h("div", { class: "bar" },
      h("h1", { class: "grow" }, S.info ? S.info.name : "urlink"),
      h("span", { id: "round" }, t("round", { n: S.round }), " · ", state),
      langButton(render));
  }
  function joinForm() {
    const groups = S.info.groups.map((g) => h("label", { style: "display:block;margin:.3rem 0" },
      h("input", { type: "radio", name: "group", value: g.id, id: "join-group-" + g.id }), " ", g.label));
    const name = h("input", { type: "text", id: "join-name", maxlength: 40, autocomplete: "off" });
    return h("div", { class: "card" },
      h("h2", {}, t("group")), groups,
      h("h2", {}, t("name")), name, " ",
      h("button", { class: "primary", id: "join-btn", onclick: () => {
        const g = document.querySelector("input[name=group]:checked");
        join(g ? g.value : "", name.value);
      } }, t("join")));
  }
  function pointsTab() {
    const rows = S.info.indicators.map((ind, i) => h("div", { class: "slider" },
      h("label", { for: "pt-" + ind.id, title: ind.en }, indicatorLabel(ind)),
      h("input", { type: "range", min: 0, max: 100, step: 1, value: S.points[i], id: "pt-" + ind.id, "data-indicator": ind.id,
        onchange: (e) => setPoint(i, +e.target.value) }),
      h("b", {}, S.points[i])));
    const total = S.points.reduce((a, b) => a + b, 0);
    return h("div", { class: "card" }, rows, h("p", {}, t("sum"), ": ", h("b", { id: "points-sum" }, total)));
  }
  function ahpTab() {
    const byId = Object.fromEntries(S.info.indicators.map((i) => [i.id, indicatorLabel(i)]));
    const rev = S.ahp && S.ahp.revise;
    const rows = S.pairs.map((p, n) => h("div", { class: "pair" + (rev && ((rev.row === p.row && rev.col === p.col) || (rev.row === p.col && rev.col === p.row)) ? " revise" : ""), "data-pair": p.row + "|" + p.col },
      h("span", { class: "r" }, byId[p.row]),
      h("span", {}, h("input", { type: "range", min: -8, max: 8, step: 1, value: -p.k, "aria-label": byId[p.row] + " / " + byId[p.col], "data-pair": n,
        onchange: (e) => { p.k = -(+e.target.value); clearTimeout(ahpTimer); ahpTimer = setTimeout(checkAhp, 250); render(); } }),
        h("small", {}, " ", p.k === 0 ? t("equal") : p.k > 0 ? "← " + saatyText(p.k) : saatyText(-p.k) + " →")),
      h("span", {}, byId[p.col])));
    let status = null;
    if (S.ahp && S.ahp.error) status = h("p", { class: "bad", id: "cr" }, S.ahp.error);
    else if (S.ahp) {
      status = h("div", {},
        h("p", { id: "cr", class: S.ahp.consistent ? "ok" : "bad" }, t("cr"), " = ", S.ahp.consistency_ratio.toFixed(3), S.ahp.consistent ? " · " + t("consistent") : " > 0.10"),
        rev ? h("p", { id: "revise", class: "bad" }, t("revise", { a: byId[rev.row], b: byId[rev.col], v: fmt(rev.value), w: fmt(rev.implied) })) : null,
        h("table", {}, S.info.indicators.map((ind) => h("tr", {}, h("td", {}, indicatorLabel(ind)),
          h("td", {}, h("span", { class: "pbar", style: "width:" + (S.ahp.weights[ind.id] * 200).toFixed(1) + "px" }), " ", (S.ahp.weights[ind.id] * 100).toFixed(1), "%")))));
    }
    return h("div", { class: "card" }, h("p", { class: "muted" }, "← ", t("more"), " · ", t("equal"), " · ", t("more"), " →"), rows, status);
  }
  function strategiesTab() {
    const inds = Object.fromEntries(S.info.indicators.map((i) => [i.id, i]));
    return S.info.strategies.map((s) => {
      const sites = new Set(s.sites.map((x) => x.id));
      return h("div", { class: "card strategy", "data-strategy": s.name },
        h("h2", {}, s.title),
        h("p", {}, h("b", {}, t("sites"), ": "), s.sites.map((x) => x.name).join(", ") || "–"),
        s.actor ? h("p", {}, h("b", {}, t("actor"), ": "), s.actor) : null,
        h("p", {}, h("b", {}, t("cost"), ": "), s.cost === "unknown" ? t("unknown") : s.cost),
        S.info.zones.length ? svgMap(S.info.zones, sites, null) : null,
        h("table", {}, h("tr", {}, h("th", {}, t("indicator")), h("th", {}, t("baseline")), h("th", {}, t("value")), h("th", {}, t("change"))),
          s.changes.map((c) => {
            const d = c.value - c.baseline;
            const good = inds[c.indicator].direction === "max" ? d > 0 : d < 0;
            return h("tr", {}, h("td", {}, indicatorLabel(inds[c.indicator])), h("td", {}, fmt(c.baseline)), h("td", {}, fmt(c.value)),
              h("td", { class: d === 0 ? "" : good ? "better" : "worse" }, c.change_pct === null ? "–" : (c.change_pct > 0 ? "+" : "") + c.change_pct.toFixed(1) + "%"));
          })));
    });
  }
  function render() {
    const parts = [header()];
    if (!S.info) { app.replaceChildren(...parts, h("p", { class: "bad" }, S.message ? S.message.text : "…")); return; }
    if (!S.me) parts.push(joinForm());
    else {
      const group = S.info.groups.find((g) => g.id === S.me.group);
      parts.push(h("p", {}, h("b", {}, group ? group.label : S.me.group), " · ", S.me.name));
      const tab = (id) => h("button", { id: "tab-" + id, "aria-selected": S.tab === id ? "true" : "false", onclick: () => { S.tab = id; if (id === "ahp" && !S.ahp) checkAhp(); render(); } }, t(id));
      parts.push(h("div", { class: "bar tabs" }, tab("points"), tab("ahp"), tab("strategies")));
      if (S.tab === "points") parts.push(pointsTab());
      else if (S.tab === "ahp") parts.push(ahpTab());
      else parts.push(...strategiesTab());
      if (S.tab !== "strategies") {
        parts.push(h("div", { class: "bar" },
          h("button", { class: "primary", id: "submit-btn", disabled: !S.open, onclick: submit }, t("submit")),
          S.open ? null : h("span", { class: "muted" }, t("wait"))));
      }
    }
    if (S.message) parts.push(h("p", { id: "submit-msg", class: S.message.ok ? "ok" : "bad" }, S.message.text));
    const y = window.scrollY;
    app.replaceChildren(...parts);
    window.scrollTo(0, y);
  }
  (async () => {
    const res = await api("GET", "/api/info?code=" + encodeURIComponent(code));
    if (!res.ok) { S.message = { ok: false, text: res.data.error || String(res.status) }; render(); return; }
    S.info = res.data; S.round = res.data.round; S.open = res.data.open;
    if (S.me && !S.info.groups.some((g) => g.id === S.me.group)) S.me = null;
    if (S.me) initWeights();
    render();
    setInterval(poll, 3000);
  })();
})();
