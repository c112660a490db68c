import { ConfigError } from '../errors.js';
import { parseSettingValue, type RunOptions } from '../settings.js';

/** Commander's collector for a repeatable option. */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** Splits `key=value`, naming the option when it is malformed. */
export function pairs(list: string[], option: string): [string, string][] {
  return list.map((text) => {
    const i = text.indexOf('=');
    if (i <= 0) throw new ConfigError(`bad ${option} ${JSON.stringify(text)}: expected key=value`);
    return [text.slice(0, i).trim(), text.slice(i + 1)];
  });
}

/** The `-a` arguments and `-s` overrides a command was given, checked. */
export function spiderInputs(opts: { arg: string[]; set: string[] }): { args: Record<string, string>; overrides: Record<string, unknown> } {
  const overrides: Record<string, unknown> = {};
  for (const [key, text] of pairs(opts.set, '-s')) overrides[key] = parseSettingValue(key, text);
  return { args: Object.fromEntries(pairs(opts.arg, '-a')), overrides };
}

/** The CLI's dedicated flags, as the settings they set: the last and strongest source (see `Settings`). Flags not given set nothing. */
export function flagSettings(opts: { storage?: string; logLevel?: string; debug?: boolean }): Partial<RunOptions> {
  const logLevel = opts.debug ? 'debug' : opts.logLevel;
  return {
    ...(opts.storage !== undefined && { storageDir: opts.storage }),
    ...(logLevel !== undefined && { logLevel: logLevel as RunOptions['logLevel'] }),
  };
}
