import type { BanReason } from '../reasons.js';
import type { Response } from '../response.js';
import type { SessionSettings } from '../settings.js';

/**
 * A spider's own ban rule (its `isBanned` method): true, or a reason (a
 * short word: `captcha`, `login-wall`), for a response that shows the
 * session is banned; false (or nothing) otherwise. It runs in the crawl's
 * main thread, on every response the chain passes back: keep it cheap.
 */
export type BanPredicate = (res: Response) => boolean | string | null | undefined;

/** The reason of a ban: `banned:` and a word (spaces become `-`, for `crawl failures --reason` and the views, which split at ': '). */
export function banReason(why: string | number): BanReason {
  const word = String(why).trim().replace(/\s+/g, '-').slice(0, 60);
  return `banned:${word || 'retired'}`;
}

/**
 * The one place a response is judged a ban, and why: a status of
 * `sessions.banStatuses` (`banned:403`) unless `handleStatuses` hands it to
 * the callback, `sessions.banText` in the body (`banned:text`), then the
 * spider's `isBanned` (`banned:spider`, or `banned:REASON`). Null: no ban.
 */
export function banJudge(sessions: SessionSettings, handleStatuses: readonly number[], isBanned?: BanPredicate): (res: Response) => string | null {
  const statuses = new Set(sessions.banStatuses.filter((s) => !handleStatuses.includes(s)));
  const text = sessions.banText;
  return (res) => {
    if (statuses.has(res.status)) return banReason(res.status);
    if (text !== '' && res.body.includes(text)) return banReason('text');
    if (!isBanned) return null;
    const verdict = isBanned(res);
    if (typeof verdict === 'string' && verdict !== '') return banReason(verdict);
    return verdict === true ? banReason('spider') : null;
  };
}

/** Statuses whose bodies a ban rule must read: the ban statuses, whose pages a spider's `isBanned` may look into. */
export const banStatusesRead = (sessions: SessionSettings): ((status: number) => boolean) => {
  const statuses = new Set(sessions.banStatuses);
  return (status) => statuses.has(status);
};
