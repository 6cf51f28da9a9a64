// urlink workshop: helpers shared by both pages. Every text goes in through textContent
// (never innerHTML), so names typed by participants cannot become markup.
"use strict";
window.U = (() => {
  let lang = localStorage.getItem("urlink-lang") || ((navigator.language || "").startsWith("zh") ? "zh" : "en");
  const T = {
    join: ["加入", "Join"], group: ["利益相关方群体", "Stakeholder group"], name: ["姓名或桌号", "Name or table"],
    points: ["100分分配", "100 points"], ahp: ["两两比较 (AHP)", "Pairwise (AHP)"], strategies: ["策略", "Strategies"],
    sum: ["合计", "Total"], submit: ["提交", "Submit"], submitted: ["已提交：第 {n} 轮", "Submitted for round {n}"],
    round: ["第 {n} 轮", "Round {n}"], open: ["进行中", "open"], frozen: ["已冻结", "frozen"],
    cr: ["一致性比率 CR", "Consistency ratio CR"], consistent: ["一致 (≤ 0.10)", "consistent (≤ 0.10)"],
    revise: ["请先修改：{a} 对 {b}（现为 {v}，其他判断约为 {w}）", "Revise first: {a} vs {b} (now {v}; your other judgments put it near {w})"],
    equal: ["同等重要", "equally important"], more: ["更重要", "more important"],
    sites: ["地点", "Sites"], actor: ["责任方", "Actor"], cost: ["成本", "Cost"], unknown: ["未知", "unknown"],
    indicator: ["指标", "Indicator"], baseline: ["基准", "Baseline"], value: ["策略值", "With strategy"], change: ["变化", "Change"],
    pooled: ["合并", "pooled"], strategy: ["策略", "Strategy"], who: ["已提交", "Submitted"], nobody: ["尚无", "nobody yet"],
    freeze: ["冻结本轮", "Freeze round"], next: ["开启下一轮", "Open next round"], export_csv: ["导出权重 CSV", "Export weights CSV"],
    export_report: ["导出报告", "Export report"], pfirst: ["排名第一概率 P(first)", "P(first)"], with_inputs: ["含输入不确定性的样本", "input samples"], weights_only: ["仅权重", "weights"], inputs_only: ["仅输入", "inputs"], both: ["两者", "both"], acc: ["排名可接受度", "Rank acceptability"],
    uniform: ["均匀权重", "uniform weights"], map: ["地图", "Map"], rounds: ["各轮", "Rounds"], live: ["实时", "live"],
    reconnect: ["重新连接…", "reconnecting…"], participants_at: ["参与地址", "Participants"], lang: ["English", "中文"],
    method: ["方法", "Method"], weighted_sum: ["加权和", "weighted sum"], topsis: ["TOPSIS", "TOPSIS"],
    since: ["较上一轮", "since last round"], rescored: ["重新计算 {ms} 毫秒", "re-scored in {ms} ms"],
    effect: ["居民可达性收益（人·分钟）", "residents' access gain (person-minutes)"], wait: ["等待主持人开启下一轮", "wait for the facilitator to open the next round"],
  };
  function t(key, vars) {
    const pair = T[key];
    let s = pair ? pair[lang === "zh" ? 0 : 1] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", String(v));
    return s;
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "style") el.style.cssText = v; // CSSOM: allowed by the page's CSP
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of kids.flat(3)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  async function api(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    try {
      const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
      const type = res.headers.get("content-type") || "";
      const data = type.includes("json") ? await res.json() : await res.text();
      return { ok: res.ok, status: res.status, data };
    } catch (err) {
      return { ok: false, status: 0, data: { error: String(err) } };
    }
  }
  function indicatorLabel(ind) { return lang === "zh" ? ind.zh : ind.short; }
  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    const a = Math.abs(x);
    return a >= 100 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
  }
  function svgMap(zones, sites, values) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "map");
    if (!zones || !zones.length) return svg;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const z of zones) {
      for (const m of z.path.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)) {
        const x = +m[1], y = +m[2];
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
    svg.setAttribute("viewBox", [x0, y0, x1 - x0, y1 - y0].join(" "));
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    const vals = Object.values(values || {});
    const top = vals.length ? Math.max(...vals.map(Math.abs)) : 0;
    for (const z of zones) {
      const p = document.createElementNS(NS, "path");
      p.setAttribute("d", z.path);
      if (sites && sites.has(z.id)) p.setAttribute("class", "site");
      else if (values && z.id in values && top > 0) {
        const v = values[z.id] / top;
        p.style.fill = v >= 0 ? `rgba(0,138,32,${0.15 + 0.75 * v})` : `rgba(179,45,46,${0.15 - 0.75 * v})`;
      }
      const title = document.createElementNS(NS, "title");
      title.textContent = z.name + (values && z.id in values ? ": " + fmt(values[z.id]) : "");
      p.append(title);
      svg.append(p);
    }
    return svg;
  }
  function langButton(rerender) {
    return h("button", { id: "lang", onclick: () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("urlink-lang", lang); rerender(); } }, t("lang"));
  }
  function randomId() {
    const a = new Uint8Array(12); crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return { t, h, api, indicatorLabel, fmt, svgMap, langButton, randomId, get lang() { return lang; } };
})();
