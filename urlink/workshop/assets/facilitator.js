// urlink workshop: the facilitator's screen (projector). Results arrive as Server-Sent
// Events over fetch (so the token stays in a header), and the screen redraws without reload.
"use strict";
(() => {
  const { t, h, api, fmt, svgMap, langButton } = window.U;
  const app = document.getElementById("app");
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  const S = { info: null, res: null, method: null, smaaOf: "pooled", strategy: null, stream: "down", error: null };

  function label(id) { return id === "pooled" ? t("pooled") : id === "uniform" ? t("uniform") : (S.info.groups.find((g) => g.id === id) || { label: id }).label; }
  function ranksOf(entry) { return entry ? Object.fromEntries(entry.ranking[S.method].map((r) => [r.strategy, r.rank])) : {}; }

  async function stream() {
    for (;;) {
      try {
        const res = await fetch("/api/events", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
        if (res.status === 403) { S.error = (await res.json()).error; S.stream = "down"; render(); return; }
        if (!res.ok || !res.body) throw new Error(String(res.status));
        S.stream = "live"; render();
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let k;
          while ((k = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, k); buf = buf.slice(k + 2);
            let event = "message"; const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) event = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            }
            if (event === "results" && data.length) { S.res = JSON.parse(data.join("\n")); render(); }
          }
        }
      } catch (err) { /* the server restarts: try again */ }
      S.stream = "down"; render();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  async function post(path) {
    const res = await api("POST", path, {}, token);
    S.error = res.ok ? null : res.data.error || String(res.status);
    render();
  }
  async function download(path, name) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + token } });
    if (!res.ok) { S.error = (await res.json()).error; render(); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function header() {
    const r = S.res;
    const joinUrl = location.origin + "/join/" + (r ? r.join_code : "");
    return [
      h("div", { class: "bar" },
        h("h1", { class: "grow" }, S.info.name),
        h("span", { id: "round" }, r ? [t("round", { n: r.round }), " · ", r.open ? t("open") : t("frozen")] : "…"),
        h("button", { id: "freeze-btn", class: "primary", disabled: !(r && r.open), onclick: () => post("/api/rounds/freeze") }, t("freeze")),
        h("button", { id: "open-btn", disabled: !(r && !r.open), onclick: () => post("/api/rounds/open") }, t("next")),
        h("button", { id: "export-csv", onclick: () => download("/api/export/weights.csv", S.info.name + "_workshop_weights.csv") }, t("export_csv")),
        h("button", { id: "export-report", onclick: () => download("/api/export/report.html", S.info.name + "_workshop_report.html") }, t("export_report")),
        h("select", { id: "method", onchange: (e) => { S.method = e.target.value; render(); } },
          S.info.methods.map((m) => h("option", { value: m, selected: m === S.method }, t(m)))),
        langButton(render)),
      h("div", { class: "bar" }, t("participants_at"), ": ", h("span", { class: "join", id: "join-url" }, joinUrl),
        h("span", { class: "grow" }),
        h("small", { id: "stream-state", class: S.stream }, S.stream === "live" ? t("live") : t("reconnect")),
        r ? h("small", { id: "version", "data-version": r.version, "data-submissions": r.submissions }, " · ", t("rescored", { ms: r.current.elapsed_ms }), " · #", r.version) : null),
      S.error ? h("p", { class: "bad", id: "error" }, S.error) : null,
    ];
  }
  function rankingTable() {
    const cur = S.res.current;
    const cols = S.info.groups.map((g) => g.id).filter((g) => g in cur.groups);
    const entries = cols.map((g) => cur.groups[g]);
    if (cur.pooled) { cols.push("pooled"); entries.push(cur.pooled); }
    if (!cols.length) return h("p", { id: "ranking", class: "muted" }, t("nobody"));
    const last = S.res.rounds.length ? S.res.rounds[S.res.rounds.length - 1].results : null;
    const prev = last && S.res.open ? cols.map((g) => (g === "pooled" ? ranksOf(last.pooled) : ranksOf(last.groups[g]))) : null;
    const now = entries.map(ranksOf);
    const order = S.info.strategies.map((s) => s.name);
    const base = S.res.current.pooled ? "pooled" : cols[0];
    const sortBy = now[cols.indexOf(base)];
    const names = ["baseline", ...order].filter((n) => n in sortBy).sort((a, b) => sortBy[a] - sortBy[b]);
    const titles = Object.fromEntries(S.info.strategies.map((s) => [s.name, s.title]));
    return h("table", { id: "ranking" },
      h("tr", {}, h("th", {}, t("strategy")), cols.map((g) => h("th", {}, label(g)))),
      names.map((n) => h("tr", { class: "clickable" + (n === S.strategy ? " selected" : ""), "data-strategy": n, onclick: () => { S.strategy = n; render(); } },
        h("td", {}, titles[n] || n),
        cols.map((g, i) => {
          const r = now[i][n];
          const p = prev && prev[i][n];
          const move = p && p !== r ? h("small", { class: p > r ? "up" : "down" }, p > r ? " ▲" + (p - r) : " ▼" + (r - p)) : null;
          return h("td", { "data-group": g }, h("b", {}, r), move);
        }))));
  }
  function smaaPanel() {
    const cur = S.res.current;
    const sets = ["pooled", ...S.info.groups.map((g) => g.id).filter((g) => g in cur.groups), "uniform"];
    if (!S.smaaChosen || !sets.includes(S.smaaOf) || (S.smaaOf === "pooled" && !cur.pooled)) S.smaaOf = cur.pooled ? "pooled" : "uniform";
    const sm = S.smaaOf === "uniform" ? cur.uniform[S.method] : S.smaaOf === "pooled" ? cur.pooled.smaa[S.method] : cur.groups[S.smaaOf].smaa[S.method];
    const names = Object.keys(sm.first).sort((a, b) => sm.first[b] - sm.first[a]);
    const m = names.length;
    return h("div", { class: "card", id: "smaa" },
      h("div", { class: "bar" }, h("h2", { class: "grow" }, "SMAA"),
        h("select", { id: "smaa-of", onchange: (e) => { S.smaaOf = e.target.value; S.smaaChosen = true; render(); } },
          sets.filter((s) => s !== "pooled" || cur.pooled).map((s) => h("option", { value: s, selected: s === S.smaaOf }, label(s))))),
      h("p", { class: "muted" }, t("pfirst"), " · ", sm.samples, " samples",
        sm.first_joint ? [" · ", t("with_inputs"), " (", sm.input_samples, ")"] : []),
      h("table", {},
        sm.first_joint ? h("tr", {}, h("th", {}), h("th", {}, t("weights_only")), h("th", {}, t("inputs_only")), h("th", {}, t("both"))) : [],
        names.map((n) => h("tr", {}, h("td", {}, n),
          h("td", {}, h("span", { class: "pbar", style: "width:" + (sm.first[n] * 160).toFixed(1) + "px" }), " ", sm.first[n].toFixed(2)),
          sm.first_joint ? [h("td", { class: "p-inputs" }, (sm.first_inputs[n] ?? 0).toFixed(2)), h("td", { class: "p-joint" }, (sm.first_joint[n] ?? 0).toFixed(2))] : []))),
      h("p", { class: "muted" }, t("acc")),
      h("table", { class: "heat" }, h("tr", {}, h("th", {}), Array.from({ length: m }, (_, k) => h("th", {}, k + 1))),
        names.map((n) => h("tr", {}, h("td", { style: "text-align:left" }, n), sm.acceptability[n].map((v) =>
          h("td", { style: `background: rgba(34,113,177,${v.toFixed(3)}); color: ${v > 0.5 ? "#fff" : "#1d2327"}` }, v >= 0.005 ? v.toFixed(2) : ""))))));
  }
  function submittedPanel() {
    const who = S.res.current.submitted;
    return h("div", { class: "card", id: "submitted" }, h("h2", {}, t("who")),
      S.info.groups.map((g) => {
        const mine = who.filter((w) => w.group === g.id);
        return h("p", { "data-group": g.id }, h("b", {}, g.label, ": "),
          mine.length ? mine.map((w) => w.name + " (" + w.mode + (w.round !== S.res.round ? ", " + t("round", { n: w.round }) : "") + ")").join(", ") : h("span", { class: "muted" }, t("nobody")));
      }));
  }
  function mapPanel() {
    if (!S.info.zones.length) return null;
    const s = S.info.strategies.find((x) => x.name === S.strategy) || S.info.strategies[0];
    S.strategy = s.name;
    return h("div", { class: "card", id: "map" }, h("h2", {}, t("map"), ": ", s.title),
      svgMap(S.info.zones, new Set(s.sites.map((x) => x.id)), S.info.effects[s.name] || {}),
      h("p", { class: "muted" }, t("sites"), ": ", s.sites.map((x) => x.name).join(", "), " · ", t("effect"), " · ", t("cost"), ": ", s.cost === "unknown" ? t("unknown") : s.cost));
  }
  function roundsPanel() {
    if (!S.res.rounds.length) return null;
    return h("div", { class: "card", id: "rounds" }, h("h2", {}, t("rounds")),
      S.res.rounds.map((r) => {
        const top = r.results.pooled ? r.results.pooled.ranking[S.method].slice().sort((a, b) => a.rank - b.rank).slice(0, 3).map((x) => x.rank + ". " + x.strategy).join("  ") : t("nobody");
        return h("p", { "data-round": r.number }, h("b", {}, t("round", { n: r.number }), " (", t("frozen"), "): "), top);
      }));
  }
  function render() {
    if (!S.info) { app.replaceChildren(h("p", { class: "bad" }, S.error || "…")); return; }
    if (!S.res) { app.replaceChildren(...header().filter(Boolean)); return; }
    app.replaceChildren(...header().filter(Boolean),
      h("div", { class: "grid" },
        h("div", {}, h("div", { class: "card" }, rankingTable()), mapPanel(), roundsPanel()),
        h("div", {}, submittedPanel(), smaaPanel())));
  }
  (async () => {
    const res = await api("GET", "/api/info", undefined, token);
    if (!res.ok) { S.error = res.data.error || String(res.status); render(); return; }
    S.info = res.data; S.method = S.info.methods[0];
    render();
    stream();
  })();
})();
