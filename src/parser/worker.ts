import { parentPort, workerData } from 'node:worker_threads';
import { startLagMonitor } from '../lag.js';
import { spiderFromModule } from '../loader.js';
import type { Settings } from '../settings.js';
import { parsePage, type ParseJob } from './parse.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './pool.js';

/**
 * A parser worker: loads the spider module itself (a spider instance cannot
 * cross threads), then runs callbacks on the pages it is sent. Jobs run
 * concurrently, as async callbacks would in the main thread.
 */
const init = workerData as WorkerInit;
const spider = await spiderFromModule(init.spiderModule, init.args);
const settings = init.settings as Settings;
const port = parentPort!;

port.on('message', (msg: WorkerRequest) => {
  const job: ParseJob = { req: msg.req, res: { ...msg.res, body: Buffer.from(msg.res.body) } };
  void parsePage(spider, settings, job).then((result) => {
    // A callback computing synchronously stalls this thread, not the crawl; the main thread still hears of it,
    // with the reply, before the monitor's next tick (which may come after the crawl has ended).
    const reply: WorkerReply = { id: msg.id, result, lagMs: lag.maxLagMs };
    port.postMessage(reply);
  });
});
const lag = startLagMonitor(1000, () => {});
port.postMessage({ ready: true });
