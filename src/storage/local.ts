import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { SyncFrontier } from '../frontier/frontier.js';
import { createSqliteFrontier } from '../frontier/sqlite.js';
import type { CrawlBackend } from './backend.js';
import { databasePath, openForCrawl, storageFailure, type Db } from './database.js';
import { resetFrontier } from './failures.js';
import { countedStats } from './recount.js';
import { cacheMisses, hasCachedResponses, responseStore, type ResponseStore } from './responses.js';
import { recordStatus } from './run-status.js';
import { sqlitePatternStore } from './render-patterns.js';
import { sqliteSessionStore } from './sessions.js';
import { createRun, latestRun, updateRun, type Run, type RunMode } from './runs.js';

/**
 * The run a crawl with these options resumes, or null for a new one:
 * whatever did not finish, unless `fresh`; --replay resumes only a replay and --cache only a crawl.
 */
export function resumableRun(db: Db, { fresh, cache, replay }: { fresh: boolean; cache: boolean; replay: boolean }): Run | null {
  const last = latestRun(db);
  return last && last.status !== 'finished' && !fresh && (replay ? last.mode === 'replay' : !cache || last.mode === 'crawl') ? last : null;
}

const noCache = (name: string) => new ConfigError(`no cached responses for spider '${name}': run \`crawl ${name} --cache\` first`);

/**
 * A crawl kept in `storageDir/<spider>.sqlite`, locked to this process. An
 * unfinished run resumes (requests left in flight go back to the queue)
 * unless `fresh`; a finished one is followed by a new run. Only here can
 * responses be cached and replayed: they live in the same file.
 */
export function localBackend(storageDir: string, spider: string, options: { replay: boolean }): CrawlBackend {
  const path = databasePath(storageDir, spider);
  // Checked before opening, which would create an empty database.
  if (options.replay && !existsSync(path)) throw noCache(spider);
  const db = openForCrawl(storageDir, spider);
  return {
    where: path,
    async begin({ spider, fresh, cache, replay, columns, itemKey, log }) {
      const last = latestRun(db);
      const resumable = resumableRun(db, { fresh, cache, replay });
      const mode: RunMode = resumable ? resumable.mode : replay ? 'replay' : 'crawl';
      if (mode === 'replay' && !hasCachedResponses(db)) throw noCache(spider.name);
      let frontier: SyncFrontier;
      let run = last;
      if (resumable && run) {
        frontier = createSqliteFrontier(db, run.id);
        const back = frontier.requeueInFlight();
        log.info(`resuming ${mode === 'replay' ? 'replay ' : ''}run ${run.id} of '${spider.name}'${back ? ` (${back} requests were in flight)` : ''}`);
      } else {
        if (last && last.status !== 'finished' && !fresh)
          log.warn(`run ${last.id} did not finish and will not resume: ${mode === 'replay' ? 'a replay' : 'a crawl with --cache'} starts a new run`);
        // One transaction: a kill half-way must not leave the old run unfinished over an emptied frontier.
        run = db.transaction(() => {
          if (last && last.status !== 'finished') updateRun(db, last.id, { status: 'interrupted', stats: { ...last.stats, ...countedStats(db, last.id) } });
          const created = createRun(db, spider.name, { ...spider.args }, { mode, columns, itemKey });
          resetFrontier(db, created.id);
          return created;
        })();
        frontier = createSqliteFrontier(db, run.id);
        log.info(mode === 'replay' ? `starting run ${run.id} of '${spider.name}', replaying cached responses` : `starting run ${run.id} of '${spider.name}'`);
      }
      let responses: ResponseStore | undefined;
      if (mode === 'replay' || cache) ({ responses, frontier } = responseStore(db, frontier));
      return {
        runId: run.id,
        mode,
        resumed: Boolean(resumable),
        // The counters the tables can tell, from the tables: a kill -9 may have cut the last save short.
        stats: resumable ? { ...(run.stats as object | null), ...countedStats(db, run.id) } : null,
        startsDone: run.startsDone,
        scope: run.scope,
        frontier,
        responses,
      };
    },
    save: (runId, stats, status) => updateRun(db, runId, { stats, status }),
    recordStatus: (runId, point) => recordStatus(db, runId, Date.now(), point),
    startsDone: (runId, scope) => updateRun(db, runId, { startsDone: true, scope }),
    sessions: (runId) => sqliteSessionStore(db, runId),
    renderPatterns: (runId) => sqlitePatternStore(db, runId),
    cacheMisses: (limit) => cacheMisses(db, limit),
    failure: (err) => storageFailure(err, path),
    close: async () => void db.close(),
  };
}
