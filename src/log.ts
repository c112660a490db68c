import { closeSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from './errors.js';
import type { Settings } from './settings.js';

/** A leveled logger writing one line per message to stderr. `fields` are structured data for the JSON log file. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const order = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;

/** A Logger that hands the messages at `level` and above to `emit`. */
function leveled(level: Settings['logLevel'], emit: (name: keyof Logger, message: string, fields?: Record<string, unknown>) => void): Logger {
  const at = (name: keyof Logger) => (message: string, fields?: Record<string, unknown>) => {
    if (order[name] >= order[level]) emit(name, message, fields);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A logger for `level`. `beforeWrite` lets the CLI clear its live status line
 * first, so log lines and the status line never share a row.
 */
export function createLogger(level: Settings['logLevel'], write: (line: string) => void = (l) => process.stderr.write(l), beforeWrite?: () => void): Logger {
  return leveled(level, (name, message) => {
    beforeWrite?.();
    write(`${new Date().toISOString().slice(11, 19)} ${name.toUpperCase().padEnd(5)} ${message}\n`);
  });
}

/** A logger writing JSON lines (`{"time", "level", "message", ...fields}`) to a file, appending; synchronous, so nothing is lost on exit. */
export function createJsonFileLogger(path: string, level: Settings['logLevel']): Logger & { close(): void } {
  let fd: number | null;
  try {
    fd = openSync(path, 'a');
  } catch (err) {
    throw new ConfigError(`cannot write the log file ${path}: ${(err as Error).message}`);
  }
  const logger = leveled(level, (name, message, fields) => {
    if (fd !== null) writeSync(fd, `${JSON.stringify({ time: new Date().toISOString(), level: name, message, ...fields })}\n`);
  });
  return {
    ...logger,
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** One logger that writes to several. */
export function teeLogger(...loggers: Logger[]): Logger {
  // Each logger applies its own level.
  return leveled('debug', (name, message, fields) => {
    for (const l of loggers) l[name](message, fields);
  });
}

/** A logger that says nothing: where a caller wants no log lines at all. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
