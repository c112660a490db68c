import type { Settings } from './settings.js';

/** A leveled logger writing one line per message to stderr. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const order = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;

/**
 * A logger for `level`. `beforeWrite` lets the CLI clear its live status line
 * first, so log lines and the status line never share a row.
 */
export function createLogger(level: Settings['logLevel'], write: (line: string) => void = (l) => process.stderr.write(l), beforeWrite?: () => void): Logger {
  const at = (name: keyof Logger) => (message: string) => {
    if (order[name] < order[level]) return;
    beforeWrite?.();
    write(`${new Date().toISOString().slice(11, 19)} ${name.toUpperCase().padEnd(5)} ${message}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
