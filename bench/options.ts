/**
 * The benchmark runner's command line (see bench/run.ts for the usage): which
 * scenarios, how many repeats, peers or not, profiles or not.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** The scenarios, in the order they run. */
export type ScenarioId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';
export const SCENARIOS: ScenarioId[] = ['a', 'b', 'c', 'd', 'e', 'f'];

/** Requests in flight in every crawler of scenarios a to c. */
export const CONCURRENCY = 50;

/** What `npm run bench -- ...` asked for. */
export interface Options {
  quick: boolean;
  scenarios: ScenarioId[];
  skipPeers: boolean;
  profile: boolean;
  repeats: number | undefined;
  tsx: boolean;
}

/** The usage text: bench/run.ts's header comment. */
function usage(): string {
  const text = readFileSync(new URL('./run.ts', import.meta.url), 'utf8');
  return text.split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, '');
}

/** Parses the runner's arguments; prints the usage and exits on --help; throws on a bad value. */
export function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'skip-peers': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      tsx: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const wanted = (values.scenario ?? ['all']).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase());
  const scenarios = wanted.includes('all') ? SCENARIOS : [...new Set(wanted)];
  for (const s of scenarios) if (!(SCENARIOS as string[]).includes(s)) throw new Error(`unknown scenario '${s}' (${SCENARIOS.join(', ')} or all)`);
  const repeats = values.repeats === undefined ? undefined : Number(values.repeats);
  if (repeats !== undefined && (!Number.isInteger(repeats) || repeats < 1)) throw new Error(`bad --repeats: ${values.repeats}`);
  return {
    quick: values.quick,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    skipPeers: values['skip-peers'],
    profile: values.profile,
    repeats,
    tsx: values.tsx,
  };
}
