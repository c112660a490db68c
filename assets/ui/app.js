// crawl ui's script, an ES module with no build step: the run page's live
// parts (polled once a second while the run is running) and its charts.
// Every HTML it puts in the page was rendered, and escaped, by the server.
import { drawCharts } from './charts.js';

/** Points kept here before starting over from the server's (downsampled) series: twice what the server keeps. */
const MAX_POINTS = 1440;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function watchRun(el) {
  const params = new URLSearchParams({ spider: el.dataset.spider, run: el.dataset.run });
  const charts = drawCharts(el);
  let series = [];
  let since = 0;
  const tick = async () => {
    if (series.length > MAX_POINTS) (series = []), (since = 0);
    const res = await fetch(`/api/run?${params}&since=${since}`, { headers: { accept: 'application/json' } });
    if (!res.ok) return true;
    const data = await res.json();
    for (const [id, html] of Object.entries(data.parts)) {
      const box = document.getElementById(id);
      if (box && box.innerHTML !== html) box.innerHTML = html;
    }
    if (data.series.length) {
      series = series.concat(data.series);
      since = series[series.length - 1].at;
      charts.update(series);
    }
    return data.status === 'running';
  };
  // At most one request a second, and never two at once.
  for (let live = await tick().catch(() => true); live; ) {
    await sleep(1000);
    live = el.dataset.live === '1' ? await tick().catch(() => true) : false;
  }
  el.dataset.live = '';
  el.dataset.done = '1';
}

const run = document.getElementById('run');
if (run) watchRun(run);
