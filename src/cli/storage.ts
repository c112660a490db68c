import { existsSync } from 'node:fs';
import { ConfigError, StorageError } from '../errors.js';
import { defaultSpidersDir, listSpiders, loadSpider } from '../loader.js';
import { resolveRunOptions, type SettingsLayer } from '../settings.js';
import { databasePath } from '../storage/database.js';
import { flagSettings, spiderInputs } from './inputs.js';

/** The options of the commands that read (or fill) a spider's database without crawling. */
export interface StorageOptions {
  storage?: string;
  set: string[];
  spiders?: string;
}

/**
 * `crawl export`, `runs`, `failures` and `collect` find the spider's
 * database as a crawl does: `--storage`, else `-s storageDir=...`, else the
 * spider's own `settings.storageDir`, else `storage`. The spider file is
 * loaded only for the third, without `-a` arguments; a spider that cannot be
 * built so is passed over, and said to be when the database is then missing.
 */
async function storageDir(name: string, command: string, opts: StorageOptions): Promise<{ dir: string; passedOver?: string }> {
  const { overrides } = spiderInputs({ arg: [], set: opts.set });
  const other = Object.keys(overrides).find((k) => k !== 'storageDir');
  if (other) throw new ConfigError(`crawl ${command} takes -s storageDir alone: ${other} is a setting of the crawl`);
  const flags = flagSettings(opts);
  if (flags.storageDir !== undefined || overrides.storageDir !== undefined) return { dir: resolveRunOptions(overrides, flags).storageDir };
  const dir = opts.spiders ?? defaultSpidersDir();
  let spider: SettingsLayer;
  let passedOver: string | undefined;
  if (listSpiders(dir).includes(name))
    try {
      spider = (await loadSpider(dir, name, {})).spider.settings;
    } catch (err) {
      passedOver = (err as Error).message;
    }
  return { dir: resolveRunOptions(spider).storageDir, passedOver };
}

/** Opens the spider's database with `open` in the folder {@link storageDir} finds. */
export async function openStorage<T>(name: string, command: string, opts: StorageOptions, open: (dir: string, name: string) => T): Promise<T> {
  const { dir, passedOver } = await storageDir(name, command, opts);
  try {
    return open(dir, name);
  } catch (err) {
    if (!passedOver || !(err instanceof StorageError) || existsSync(databasePath(dir, name))) throw err;
    throw new StorageError(`${err.message}; spider '${name}' could not be loaded to read its storageDir (${passedOver}): pass --storage`, { cause: err });
  }
}
