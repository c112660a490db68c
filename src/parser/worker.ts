import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { transferables } from '../followups.js';
import { startLagMonitor } from '../lag.js';
import { spiderFromModule } from '../loader.js';
import type { Settings } from '../settings.js';
import { errorText } from '../json-value.js';
import { closePipelines, openPipelines } from '../pipeline-lifecycle.js';
import { parsePage, type ParseJob, type ParseResult } from './parse.js';
import type { WorkerClose, WorkerInit, WorkerNotice, WorkerReply, WorkerRequest } from './pool.js';

/**
 * A parser worker: loads the spider module itself (a spider instance cannot
 * cross threads), opens its pipelines, then runs callbacks on the pages it is
 * sent, until it is asked to close the pipelines. Jobs run concurrently, as
 * async callbacks would in the main thread.
 */
const init = workerData as WorkerInit;
const spider = await spiderFromModule(init.spiderModule, init.args);
const settings = init.settings as Settings;
const port = parentPort!;
const opening = openPipelines(spider).then(
  (): WorkerNotice => ({ ready: true }),
  (err: unknown): WorkerNotice => ({ ready: false, error: errorText(err) }),
);

/**
 * After a page this big, the worker collects its garbage at once. V8 lets a
 * heap grow to about 1.5 times what was live at its last collection: after a
 * 10 MB page (some 170 MB of DOM, live while its callback ran) the worker
 * went on with 400 MB of heap, most of it garbage, into the next big page.
 * Measured on bench scenario (e): peak RSS 1,134 MB without, 671 MB with; a
 * collection then takes 20 to 70 ms, in this thread, after the reply is sent.
 */
const COLLECT_AFTER_BYTES = 1024 * 1024;
// No flag can be given to one worker: --expose-gc is set at run time, and only a new context gets the function.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

port.on('message', (msg: WorkerRequest | WorkerClose) => {
  if ('close' in msg) {
    void closePipelines(spider, settings.callbackTimeoutMs).then((problems) => port.postMessage({ closed: true, problems } satisfies WorkerNotice));
    return;
  }
  const job: ParseJob = { req: msg.req, res: { ...msg.res, body: Buffer.from(msg.res.body) }, compare: msg.compare };
  void parsePage(spider, settings, job)
    .catch((err: unknown): ParseResult => failure(msg.res.url, err))
    .then((result) => {
      // A callback computing synchronously stalls this thread, not the crawl; the main thread still hears of it,
      // with the reply, before the monitor's next tick (which may come after the crawl has ended).
      try {
        // The packed follow-ups' arrays are moved, not copied: a page with 300,000 links has 6 MB of fingerprints alone.
        port.postMessage({ id: msg.id, result, lagMs: lag.maxLagMs } satisfies WorkerReply, result.ok ? transferables(result.followUps) : []);
      } catch (err) {
        // parsePage hands back only strings, numbers and Buffers; should anything else slip in, this page fails, not the worker.
        port.postMessage({ id: msg.id, result: failure(msg.res.url, err), lagMs: lag.maxLagMs } satisfies WorkerReply);
      }
      if (job.res.body.length >= COLLECT_AFTER_BYTES) collectGarbage();
    });
});

/** A page that failed outside its callback's own error handling. */
function failure(url: string, err: unknown): ParseResult {
  const text = errorText(err);
  return { ok: false, reason: 'callback:error', message: `parsing ${url} failed: ${text}`, stack: err instanceof Error ? String(err.stack ?? text) : text };
}

const lag = startLagMonitor(1000, () => {});
port.postMessage(await opening);
