import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One User-Agent: printable, on one line (a header value cannot hold a newline). */
const ONE_LINE = /^[^\r\n\0]+$/;

/** The lines of a User-Agent file: blank lines and `#` comments left out. */
function readList(path: string): string[] | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `a readable file of User-Agents, one a line (${(err as NodeJS.ErrnoException).code ?? (err as Error).message} reading ${path})`;
  }
  const list = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return list.length > 0 ? list : `a file with at least one User-Agent (${path} has none)`;
}

/**
 * The `userAgents` setting: a list of User-Agents, where an entry `@path` is
 * a file of them, one a line, read when the settings are checked (relative
 * to the working folder). The one form a comma in a User-Agent needs: `-s`
 * splits its list at commas, a file does not.
 */
export const userAgentList = () =>
  z.array(z.string({ error: 'a list of User-Agents' }), { error: 'a list' }).transform((entries, ctx) => {
    const out: string[] = [];
    for (const entry of entries) {
      const list = entry.startsWith('@') ? readList(entry.slice(1)) : [entry];
      if (typeof list === 'string') {
        ctx.addIssue({ code: 'custom', message: list });
        return z.NEVER;
      }
      for (const ua of list) {
        if (!ONE_LINE.test(ua)) {
          ctx.addIssue({ code: 'custom', message: 'User-Agents of one line each' });
          return z.NEVER;
        }
        out.push(ua);
      }
    }
    return out;
  });
