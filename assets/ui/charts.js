// The run page's charts, drawn by uPlot (served from the package's own copy as
// /assets/uplot.js, a global): pages/s, in flight and queued, failures,
// latency, responses by status, throttle delays.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
/** Hosts drawn (latency: the busiest; throttle: the most delayed). */
const HOSTS = 3;

/** Pages a second between consecutive points. */
function rates(points) {
  return points.map((p, i) => {
    if (i === 0) return 0;
    const q = points[i - 1];
    const s = (p.at - q.at) / 1000;
    return s > 0 ? Math.max(0, (p.pages - q.pages) / s) : 0;
  });
}

/** Each chart: its series' labels, and their values from the points. */
const CHARTS = {
  pagesPerS: () => [['pages/s', rates]],
  load: () => [
    ['in flight', (ps) => ps.map((p) => p.inFlight)],
    ['queued', (ps) => ps.map((p) => p.queued)],
  ],
  failed: () => [['failed', (ps) => ps.map((p) => p.failed)]],
  latency: (points) => {
    const last = points[points.length - 1]?.latency ?? {};
    const hosts = Object.entries(last).sort(([, a], [, b]) => b.count - a.count).slice(0, HOSTS).map(([h]) => h);
    return hosts.flatMap((h) => [
      [`${h} avg`, (ps) => ps.map((p) => p.latency?.[h]?.avgMs ?? null)],
      [`${h} p95`, (ps) => ps.map((p) => p.latency?.[h]?.p95Ms ?? null)],
    ]);
  },
  responses: (points) => {
    const last = points[points.length - 1]?.responses ?? {};
    const statuses = Object.entries(last).sort(([, a], [, b]) => b - a).slice(0, 5).map(([s]) => s);
    return statuses.map((s) => [s, (ps) => ps.map((p) => p.responses?.[s] ?? 0)]);
  },
  throttle: (points) => {
    const most = {};
    for (const p of points) for (const [h, ms] of Object.entries(p.hostDelays ?? {})) most[h] = Math.max(most[h] ?? 0, ms);
    const hosts = Object.entries(most).sort(([, a], [, b]) => b - a).slice(0, HOSTS).map(([h]) => h);
    return hosts.map((h) => [h, (ps) => ps.map((p) => p.hostDelays?.[h] ?? 0)]);
  },
};

function build(box, kind, points) {
  const lines = CHARTS[kind](points);
  const opts = {
    width: Math.max(240, box.clientWidth),
    height: 180,
    legend: { show: lines.length > 1, live: false },
    // A y axis wide enough for 6-digit labels (uPlot's default, 50 px, cuts "15,000").
    axes: [{}, { size: 64 }],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, ...lines.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, dash: kind === 'latency' && i % 2 ? [4, 3] : undefined }))],
  };
  const data = [points.map((p) => p.at / 1000), ...lines.map(([, values]) => values(points))];
  box.replaceChildren();
  return { plot: new window.uPlot(opts, data, box), labels: lines.map(([l]) => l).join('\n') };
}

/** The charts of the page's `.chart[data-chart]` boxes; `update(points)` redraws them with the whole series. */
export function drawCharts(root) {
  const boxes = [...root.querySelectorAll('.chart[data-chart]')];
  const drawn = new Map();
  return {
    update(points) {
      if (!window.uPlot || points.length === 0) return;
      for (const box of boxes) {
        const kind = box.dataset.chart;
        const lines = CHARTS[kind](points);
        const had = drawn.get(box);
        // Same lines: new data only; otherwise (a new busiest host) built again.
        if (had && had.labels === lines.map(([l]) => l).join('\n')) had.plot.setData([points.map((p) => p.at / 1000), ...lines.map(([, v]) => v(points))]);
        else {
          had?.plot.destroy();
          drawn.set(box, build(box, kind, points));
        }
        box.dataset.points = String(points.length);
      }
    },
  };
}
