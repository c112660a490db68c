/**
 * Requests and outcomes for driving a frontier directly, as the scheduler
 * would, without a crawl around it.
 */
import type { NewRequest, Outcome } from '../../src/frontier/frontier.js';
import { packFollowUps } from '../../src/followups.js';
import { fingerprint } from '../../src/request.js';

/** A request to add, as the crawl builds one: its fingerprint and host follow from the URL. */
export function newRequest(url: string, extra: Partial<NewRequest> = {}): NewRequest {
  return {
    fp: fingerprint(extra.method ?? 'GET', url, extra.body ?? undefined),
    url,
    method: 'GET',
    headers: null,
    body: null,
    callback: null,
    meta: null,
    depth: 0,
    priority: 0,
    redirects: 0,
    host: new URL(url).host,
    parentId: null,
    ...extra,
  };
}

/** A request fetched and parsed (status 200), with its items (JSON) and follow-ups. */
export function doneOutcome(id: number, items: string[] = [], followUps: NewRequest[] = [], url = `https://a.test/${id}`): Extract<Outcome, { kind: 'done' }> {
  return { kind: 'done', id, status: 200, url, items, followUps: packFollowUps(followUps) };
}
