// Self-test for headless browsers (`page.html#selftest`): what the growth view drew, added to
// what <pre id="selftest"> holds.
if (location.hash === "#selftest" && view) {
  const charts = [...document.querySelectorAll(".growth-chart")].map(c => ({path: c.dataset.path, bytes: [...c.querySelectorAll("circle")].map(p => Number(p.dataset.bytes))}));
  const out = Object.assign({errors}, JSON.parse($("selftest").textContent || "{}"), {growth_frames: view.frames(), growth_ink: view.ink(), growth_charts: charts,
    growth_rows: document.querySelectorAll("#growth-paths tr").length - 1, growth_suspects: document.querySelectorAll("#growth-suspects-list tr").length - 1});
  $("selftest").textContent = JSON.stringify(out);
}
