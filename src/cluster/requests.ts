/**
 * A request as the frontier's scripts carry it: five fields when added
 * (fingerprint, data JSON, host, priority, skip reason), and three per
 * request taken by a pop (id, attempts, data JSON).
 */
import type { NewRequest, QueuedRequest } from '../frontier/frontier.js';
import type { Arg } from './lua.js';

/** What the `data` hash keeps of a queued request: headers and meta as the JSON strings the SQLite frontier stores too. */
type StoredData = Omit<NewRequest, 'fp' | 'skipped'>;

/** Appends the 5 script fields of a request to add: fingerprint, data JSON, host, priority, skip reason. */
export function requestArgs(r: NewRequest, out: Arg[]): void {
  const data: StoredData = {
    url: r.url,
    method: r.method,
    headers: r.headers,
    body: r.body,
    callback: r.callback,
    meta: r.meta,
    depth: r.depth,
    priority: r.priority,
    redirects: r.redirects,
    host: r.host,
    parentId: r.parentId,
  };
  out.push(r.fp, JSON.stringify(data), r.host, r.priority, r.skipped ?? '');
}

/** The requests a pop's reply (id, attempts, data JSON for each) hands out. */
export function poppedRequests(reply: (number | string)[]): QueuedRequest[] {
  const out: QueuedRequest[] = [];
  for (let i = 0; i < reply.length; i += 3) {
    const { parentId: _parent, headers, meta, ...fields } = JSON.parse(String(reply[i + 2])) as StoredData;
    out.push({
      id: Number(reply[i]),
      ...fields,
      headers: headers === null ? null : (JSON.parse(headers) as Record<string, string>),
      meta: meta === null ? null : (JSON.parse(meta) as Record<string, unknown>),
      attempts: Number(reply[i + 1]),
    });
  }
  return out;
}
