/**
 * The crawl database's schema: its tables, the views for readers, and the
 * steps that bring an older file up to date. database.ts opens and migrates.
 */
import { State } from '../frontier/frontier.js';

/** Bumped with each change to the schema below; older files are migrated on open. */
export const SCHEMA_VERSION = 7;

export const schema: string = `
CREATE TABLE IF NOT EXISTS runs (
  id            INTEGER PRIMARY KEY,
  spider        TEXT    NOT NULL,
  status        TEXT    NOT NULL,            -- running | interrupted | finished
  args          TEXT    NOT NULL,            -- JSON of the spider arguments
  started_at    INTEGER NOT NULL,            -- ms since epoch
  finished_at   INTEGER,
  starts_done   INTEGER NOT NULL DEFAULT 0,  -- start requests all enqueued
  stats         TEXT,                        -- JSON, updated as the crawl goes
  mode          TEXT    NOT NULL DEFAULT 'crawl', -- crawl | replay (callbacks re-run over cached responses)
  columns       TEXT,                        -- JSON list of item fields in export order (from the spider's item schema), or null
  scope         TEXT,                        -- JSON { sites, addressKinds }: where the run may go, fixed by its start requests
  item_key      TEXT                         -- the spider's itemKey: the field that names an item across runs (crawl ui's compare), or null
);
-- The frontier of the current run. A request's row is its whole life:
-- queued (0) → in flight (1) → done (2) | failed (3) | disallowed (4) | skipped (5).
CREATE TABLE IF NOT EXISTS requests (
  id          INTEGER PRIMARY KEY,
  fp          BLOB    NOT NULL UNIQUE,       -- fingerprint: the dedupe set lives in this index, not in RAM
  url         TEXT    NOT NULL,
  method      TEXT    NOT NULL,
  headers     TEXT,
  body        TEXT,
  callback    TEXT,
  meta        TEXT,
  depth       INTEGER NOT NULL,
  priority    INTEGER NOT NULL,
  state       INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  redirects   INTEGER NOT NULL DEFAULT 0,
  ready_at    INTEGER NOT NULL,              -- not fetched before this time (ms): enqueue time, or a retry's backoff
  host        TEXT    NOT NULL,
  status      INTEGER,                       -- last HTTP status
  error       TEXT,                          -- why it failed, was disallowed or skipped
  parent_id   INTEGER
);
-- Popping reads only ready queued rows through this index: no scan of done rows. It is partial, so
-- a request leaves it when taken, and the millions of done rows of a long crawl cost it nothing.
CREATE INDEX IF NOT EXISTS requests_queued ON requests(priority DESC, ready_at) WHERE state = 0;
CREATE TABLE IF NOT EXISTS items (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL,
  request_id  INTEGER,
  url         TEXT    NOT NULL,
  data        TEXT    NOT NULL,              -- JSON
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_run ON items(run_id, id);
-- Items the spider's schema rejected: kept with why, never exported.
CREATE TABLE IF NOT EXISTS invalid_items (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL,
  request_id  INTEGER,
  url         TEXT    NOT NULL,
  data        TEXT    NOT NULL,              -- JSON, as the callback (and pipelines) made it
  errors      TEXT    NOT NULL,              -- JSON [{ path, message }]
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS invalid_items_run ON invalid_items(run_id, id);
-- The HTTP cache (--cache), read back by --replay: the latest response per request fingerprint.
CREATE TABLE IF NOT EXISTS responses (
  fp          BLOB    PRIMARY KEY,
  url         TEXT    NOT NULL,              -- the request's URL
  final_url   TEXT    NOT NULL,              -- the response's URL
  status      INTEGER NOT NULL,
  headers     TEXT    NOT NULL,              -- JSON, names lower-cased
  body        BLOB    NOT NULL,              -- compressed as \`encoding\` says
  encoding    TEXT    NOT NULL,              -- br | gzip | identity
  fetched_at  INTEGER NOT NULL
);
-- Facts about the file: \`frontier_run\`, the run the requests table belongs to.
CREATE TABLE IF NOT EXISTS meta (
  key         TEXT    PRIMARY KEY,
  value       ANY
);
-- The failed requests of earlier runs, moved here when a new run clears the requests table.
CREATE TABLE IF NOT EXISTS archived_failures (
  run_id      INTEGER NOT NULL,
  request_id  INTEGER NOT NULL,
  url         TEXT    NOT NULL,
  method      TEXT    NOT NULL,
  depth       INTEGER NOT NULL,
  attempts    INTEGER NOT NULL,
  status      INTEGER,
  reason      TEXT    NOT NULL,
  detail      TEXT
);
CREATE INDEX IF NOT EXISTS archived_failures_run ON archived_failures(run_id, request_id);
-- The session pool of each run (-s sessions.size): a resumed run goes on with its cookies. Retired sessions stay, with why.
CREATE TABLE IF NOT EXISTS sessions (
  run_id      INTEGER NOT NULL,
  id          TEXT    NOT NULL,              -- SLOT.GENERATION: 1.1, then 1.2 once 1.1 is retired
  slot        INTEGER NOT NULL,
  generation  INTEGER NOT NULL,
  user_agent  TEXT,                          -- its own, from the userAgents setting
  requests    INTEGER NOT NULL,
  retired     TEXT,                          -- why (banned:403, banned:text, ...); null while in use
  jar         TEXT    NOT NULL,              -- its cookies, as tough-cookie serialises a CookieJar
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, id)
);
-- render: 'auto': per URL pattern of a run, whether its pages need the browser. A resumed run keeps its decisions.
CREATE TABLE IF NOT EXISTS render_patterns (
  run_id      INTEGER NOT NULL,
  pattern     TEXT    NOT NULL,              -- host and path with numbers and ids replaced (see browser/url-pattern.ts)
  mode        TEXT    NOT NULL,              -- learning | http | browser
  pages       INTEGER NOT NULL DEFAULT 0,    -- pages of the pattern parsed
  compared    INTEGER NOT NULL DEFAULT 0,    -- pages fetched both ways while it was learning
  agreed      INTEGER NOT NULL DEFAULT 0,    -- of those, how many gave the same items and follow-ups
  rechecked   INTEGER NOT NULL DEFAULT 0,    -- pages fetched both ways again while it was HTTP-only
  differed    INTEGER NOT NULL DEFAULT 0,    -- of those, how many did not agree (one sends the pattern to the browser)
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, pattern)
);
-- A PNG of the page for a failed rendered request (-s browser.screenshotOnError=true); \`crawl failures\` lists and writes them.
CREATE TABLE IF NOT EXISTS screenshots (
  run_id      INTEGER NOT NULL,
  request_id  INTEGER NOT NULL,
  url         TEXT    NOT NULL,
  png         BLOB    NOT NULL,
  taken_at    INTEGER NOT NULL,
  PRIMARY KEY (run_id, request_id)
);
-- A run's counters over time (every statusIntervalMs, downsampled so a long run keeps a bounded number of rows), for \`crawl ui\`.
CREATE TABLE IF NOT EXISTS run_status (
  run_id      INTEGER NOT NULL,
  at          INTEGER NOT NULL,              -- ms since epoch
  data        TEXT    NOT NULL,              -- JSON: the counters at that time
  PRIMARY KEY (run_id, at)
);
`;

/**
 * Views for people reading the file with SQL (and for \`crawl failures\`):
 * \`requests_named\`, the requests with their state as a name and their
 * error split into a reason code (\`http:404\`, \`callback:error\`) and the
 * detail (a message, or a spider error's stack: reasons never hold ': ');
 * \`failures\`, the failed requests of every run, the current one included.
 * Dropped and made again on each migration, so they follow \`State\`.
 */
export const views: string = `
DROP VIEW IF EXISTS failures;
DROP VIEW IF EXISTS requests_named;
CREATE VIEW requests_named AS
SELECT id, url, method,
  CASE state ${Object.entries(State).map(([name, n]) => `WHEN ${n} THEN '${name === 'inFlight' ? 'in flight' : name}'`).join(' ')} END AS state,
  attempts, status,
  CASE WHEN instr(error, ': ') > 0 THEN substr(error, 1, instr(error, ': ') - 1) ELSE error END AS reason,
  CASE WHEN instr(error, ': ') > 0 THEN substr(error, instr(error, ': ') + 2) END AS detail,
  depth, priority, redirects, ready_at, host, callback, meta, parent_id
FROM requests;
CREATE VIEW failures AS
SELECT run_id, request_id, url, method, depth, attempts, status, reason, detail FROM archived_failures
UNION ALL
SELECT (SELECT value FROM meta WHERE key = 'frontier_run'), id, url, method, depth, attempts, status, reason, detail
FROM requests_named WHERE state = 'failed';
`;

/** What turns schema N into N+1 (index N), before `schema` creates whatever is new. A new database skips them. */
export const migrations = [
  '', // 0 → 1: the first schema
  'DROP INDEX IF EXISTS requests_ready;', // 1 → 2: the full (state, ...) index became the partial requests_queued
  // 2 → 3: run mode and export columns (invalid_items and responses are new tables, made by `schema`)
  "ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'crawl'; ALTER TABLE runs ADD COLUMN columns TEXT;",
  // 3 → 4: the views, the archive of failures, and which run the requests are of: the last crawl (runs `crawl collect` made hold none)
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY);
   INSERT INTO meta SELECT 'frontier_run', max(id) FROM runs WHERE stats IS NULL OR stats NOT LIKE '%"collectedFrom"%' HAVING max(id) IS NOT NULL;`,
  // 4 → 5: the run's scope (a run begun before it resumes with the scope of the spider's startUrls)
  'ALTER TABLE runs ADD COLUMN scope TEXT;',
  '', // 5 → 6: the sessions (a new table, made by `schema`)
  // 6 → 7: the spider's item key (render_patterns, screenshots and run_status are new tables, made by `schema`)
  'ALTER TABLE runs ADD COLUMN item_key TEXT;',
];
