// The growth view of several dumps of one JVM (`oomsleuth diff --html`, `analyze OLD NEW --html`):
// the newest dump's dominator tree by path, sized by retained bytes or by growth and coloured by
// growth; a chart of each top path over time; tables of what grew. Needs D.growth = {diff, flame}
// and the helpers $, esc, bytes, num of the page.
function growthView(G, history) {
  const X = G.diff, F = G.flame, n = X.dumps.length, last = n - 1;
  $("growth-section").hidden = false;
  // x = dump time when every dump carries one and they increase, else the dump's position.
  const ts = X.dumps.map(d => d.timestamp_ms);
  const timed = ts.every((t, i) => t > 0 && (i === 0 || t > ts[i - 1]));
  const when = i => timed ? new Date(ts[i]).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "dump " + (i + 1);
  const signed = v => (v > 0 ? "+" : v < 0 ? "−" : "±") + bytes(Math.abs(v));
  // The words of the text report (growth::Trend::label).
  const label = t => ({monotone: "grew on every step", grew_once: "grew once"})[t] || t.replace(/_/g, " ");
  $("growth-dumps").innerHTML = "<table><tr><th>#</th><th>dump</th><th>taken</th><th class=n>reachable</th><th class=n>objects</th></tr>" +
    X.dumps.map((d, i) => "<tr><td>" + (i + 1) + "</td><td>" + esc(d.path) + (d.truncated ? ' <span class="grow">truncated</span>' : "") + "</td><td>" + esc(timed ? when(i) : d.timestamp_ms ? new Date(d.timestamp_ms).toISOString() : "?") +
      "</td><td class=n>" + bytes(d.reachable_bytes) + "</td><td class=n>" + num(d.reachable_objects) + "</td></tr>").join("") + "</table>" +
    '<div class="facts"><span>heap: <b>' + esc(label(X.heap.trend)) + "</b> (" + signed(X.heap.growth_bytes) + (X.heap.growth_bytes_per_hour != null ? ", " + signed(X.heap.growth_bytes_per_hour) + "/h" : "") + ")</span><span>paths in every dump: <b>" +
    num(X.matched_paths) + "</b>, of which stable: <b>" + num(X.stable_paths) + "</b></span></div>" +
    (X.warnings.length ? '<div class="warnings">' + X.warnings.map(esc).join("<br>") + "</div>" : "");

  // Flame graph of the newest dump's paths.
  const canvas = $("gflame"), ctx = canvas.getContext("2d"), tip = $("gtip"), ROW = 18;
  let byGrowth = false, zoom = [F], frames = [];
  const grown = f => Math.max(f.b[last] - f.b[0], 0);
  const value = f => byGrowth ? grown(f) : f.b[last];
  // Red as the frame grew (its share of its newest size gained since the first dump), green as it
  // shrank, grey when it held still.
  function color(f) {
    const a = f.b[0], b = f.b[last], big = Math.max(a, b, 1), r = (b - a) / big;
    if (Math.abs(b - a) <= Math.max(1024, big / 100)) return "hsl(215,12%,80%)";
    return r > 0 ? "hsl(4," + (45 + 45 * r).toFixed(0) + "%," + (80 - 30 * r).toFixed(0) + "%)" : "hsl(140,45%," + (80 + 25 * r).toFixed(0) + "%)";
  }
  function depthOf(f) { let d = 0; const st = [[f, 0]]; while (st.length) { const [x, k] = st.pop(); if (k > d) d = k; for (const c of x.c) st.push([c, k + 1]); } return d + 1; }
  function draw() {
    const top = zoom[zoom.length - 1];
    const width = canvas.parentElement.clientWidth || 1000;
    const depth = Math.min(depthOf(top), 60) + zoom.length - 1;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr; canvas.height = (depth * ROW + 4) * dpr; canvas.style.height = (depth * ROW + 4) + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, width, depth * ROW + 4);
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    frames = [];
    for (let i = 0; i < zoom.length - 1; i++) frames.push({f: zoom[i], x: 0, y: i * ROW, w: width, up: i});
    const st = [[top, 0, width, zoom.length - 1]];
    while (st.length) {
      const [f, x, w, d] = st.pop();
      frames.push({f, x, y: d * ROW, w});
      if (d >= 60 + zoom.length - 1) continue;
      // Children share the frame's width by their value (by growth, those that shrank get none).
      const total = Math.max(value(f), f.c.reduce((s, c) => s + value(c), 0), 1);
      let cx = x;
      for (const c of f.c) { const cw = w * value(c) / total; if (cw >= 0.5) st.push([c, cx, cw, d + 1]); cx += cw; }
    }
    for (const fr of frames) {
      ctx.fillStyle = fr.up !== undefined ? "#d0d5dd" : color(fr.f);
      ctx.fillRect(fr.x, fr.y, Math.max(fr.w - 1, 0.5), ROW - 1);
      if (fr.w > 40) {
        ctx.fillStyle = "#111";
        const g = fr.f.b[last] - fr.f.b[0];
        const text = fr.f.n + " (" + bytes(fr.f.b[last]) + (g ? ", " + signed(g) : "") + ")";
        const max = Math.floor((fr.w - 6) / 6);
        ctx.fillText(text.length > max ? text.slice(0, Math.max(max - 1, 1)) + "…" : text, fr.x + 3, fr.y + ROW / 2);
      }
    }
    $("gflame-zoom").textContent = zoom.map(z => z.n).join(" › ");
    $("gflame-size").textContent = byGrowth ? "Size by the newest dump" : "Size by growth";
  }
  function frameAt(ev) {
    const r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    for (let i = frames.length - 1; i >= 0; i--) { const fr = frames[i]; if (x >= fr.x && x < fr.x + fr.w && y >= fr.y && y < fr.y + ROW) return fr; }
    return null;
  }
  canvas.addEventListener("click", ev => {
    const fr = frameAt(ev);
    if (!fr) return;
    if (fr.up !== undefined) zoom = zoom.slice(0, fr.up + 1);
    else if (fr.f !== zoom[zoom.length - 1]) {
      const chain = [];
      (function find(x, acc) { if (x === fr.f) { chain.push(...acc, x); return true; } for (const c of x.c) if (find(c, acc.concat([x]))) return true; return false; })(zoom[zoom.length - 1], []);
      zoom = zoom.slice(0, -1).concat(chain);
    }
    draw();
  });
  canvas.addEventListener("mousemove", ev => {
    const fr = frameAt(ev);
    if (!fr) { tip.style.display = "none"; return; }
    tip.innerHTML = esc(fr.f.n) + "<br>" + fr.f.b.map((b, i) => esc(when(i)) + ": " + bytes(b)).join("<br>") + (fr.f.s != null ? "<br>size() " + num(fr.f.s) : "");
    const r = canvas.getBoundingClientRect();
    tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 300) + "px"; tip.style.top = (ev.clientY - r.top + 12) + "px"; tip.style.display = "block";
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  $("gflame-reset").onclick = () => { zoom = [F]; draw(); };
  $("gflame-size").onclick = () => { byGrowth = !byGrowth; draw(); };
  window.addEventListener("resize", draw);
  draw();

  // A chart per top path: retained bytes in every dump, x = time (or order), y from 0.
  function chart(title, full, values, grew, sub) {
    const W = 320, H = 130, L = 8, R = 8, T = 16, B = 22;
    const v1 = Math.max(...values, 1);
    const xs = values.map((_, i) => timed ? (ts[i] - ts[0]) / Math.max(ts[last] - ts[0], 1) : n > 1 ? i / (n - 1) : 0.5);
    const x = i => L + (W - L - R) * xs[i], y = v => H - B - (H - T - B) * v / v1;
    const pts = values.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
    const stroke = grew ? "#d92d20" : "#175cd3";
    const dots = values.map((v, i) => '<circle cx="' + x(i).toFixed(1) + '" cy="' + y(v).toFixed(1) + '" r="3" fill="' + stroke + '" data-bytes="' + v + '"><title>' + esc(when(i)) + ": " + bytes(v) + "</title></circle>" +
      '<text x="' + x(i).toFixed(1) + '" y="' + (y(v) - 5).toFixed(1) + '" font-size="10" text-anchor="' + (i === 0 ? "start" : i === last ? "end" : "middle") + '">' + bytes(v) + "</text>" +
      '<text x="' + x(i).toFixed(1) + '" y="' + (H - 6) + '" font-size="10" fill="#667085" text-anchor="' + (i === 0 ? "start" : i === last ? "end" : "middle") + '">' + esc(timed ? when(i).slice(11, 16) : "#" + (i + 1)) + "</text>").join("");
    return '<div class="chart growth-chart" data-path="' + esc(full) + '"><div class="t' + (grew ? " grow" : "") + '" title="' + esc(full) + '">' + esc(title) + "</div>" +
      '<svg width="' + W + '" height="' + H + '" role="img"><line x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '" stroke="#e3e6ea"/>' +
      '<polyline fill="none" stroke="' + stroke + '" stroke-width="2" points="' + pts + '"/>' + dots + "</svg>" +
      '<div class="dim" style="font-size:11px">' + sub + "</div></div>";
  }
  const rate = p => p.growth_bytes_per_hour != null ? ", " + signed(p.growth_bytes_per_hour) + "/h" : "";
  $("growth-charts").innerHTML = X.growth.length ? X.growth.slice(0, 12).map(p => chart(p.path[p.path.length - 1] || p.class, p.path.join(" → "), p.retained_bytes, p.trend !== "stable",
    esc(label(p.trend)) + ": " + signed(p.growth_bytes) + rate(p) + (p.collection_size.some(s => s != null) ? "; size() " + p.collection_size.map(s => s == null ? "-" : num(s)).join(" → ") : ""))).join("")
    : '<div class="none">No path grew by more than ' + bytes(Math.max(...X.dumps.map(d => d.min_path_bytes), 1024)) + ".</div>";

  const pathCell = p => '<div class="path">' + p.path.map((s, i) => "<div>" + "&nbsp;".repeat(Math.min(i, 12) * 2) + (i ? "→ " : "") + esc(s) + "</div>").join("") + "</div>";
  const series = (vs, f) => vs.map(v => v == null ? "-" : f(v)).join(" → ");
  const rows = (list, cols) => "<table><tr>" + cols.map(c => "<th" + (c[2] ? " class=n" : "") + ">" + esc(c[0]) + "</th>").join("") + "</tr>" +
    list.map(r => "<tr>" + cols.map(c => "<td" + (c[2] ? " class=n" : "") + ">" + c[1](r) + "</td>").join("") + "</tr>").join("") + "</table>";
  $("growth-paths").innerHTML = X.growth.length ? rows(X.growth, [
    ["trend", p => esc(label(p.trend))], ["growth", p => signed(p.growth_bytes) + rate(p), 1], ["retained in each dump", p => series(p.retained_bytes, bytes), 1],
    ["size()", p => series(p.collection_size, num), 1], ["grew most", p => p.elements.slice(0, 3).map(e => esc(e.class) + " +" + num(e.growth_objects)).join("<br>")], ["path", pathCell]]) : "";
  $("growth-classes").innerHTML = rows(X.classes, [
    ["trend", c => esc(label(c.trend))], ["instances", c => series(c.instances, num), 1], ["shallow", c => series(c.shallow_bytes, bytes), 1],
    ["retained", c => series(c.retained_bytes, bytes), 1], ["class", c => esc(c.class)]]);
  $("growth-loaders").innerHTML = (X.class_loaders.length ? rows(X.class_loaders, [["trend", l => esc(label(l.trend))], ["loaders", l => series(l.loaders, num), 1], ["classes", l => series(l.classes, num), 1], ["loader type", l => esc(l.type) + (l.appeared ? " (appeared)" : "")]]) : "") +
    (X.class_families.length ? rows(X.class_families, [["trend", f => esc(label(f.trend))], ["classes", f => series(f.classes, num), 1], ["family", f => esc(f.family) + (f.appeared ? " (appeared)" : "")]]) : "") ||
    '<p class="dim">No class loader type or generated-class family grew.</p>';
  if (history && history.suspects.length) {
    $("growth-suspects").hidden = false;
    $("growth-suspects-list").innerHTML = rows(history.suspects, [["suspect", s => "#" + s.rank], ["trend", s => esc(s.stable ? "stable" : label(s.trend))],
      ["growth", s => signed(s.growth_bytes) + rate(s), 1], ["retained in each dump", s => series(s.retained_bytes, bytes), 1], ["title", s => esc(s.title)]]);
  }
  return {frames: () => frames.length, ink: () => { const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data; let k = 0; for (let i = 3; i < img.length; i += 4) if (img[i] > 0) k++; return k / Math.max(img.length / 4, 1); }};
}
