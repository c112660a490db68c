import { ConfigError } from './errors.js';

/** Letters, digits, `_`, `.` and `-`, not starting with a dot: a spider's name becomes a file name and Redis keys, so it can hold no path. */
const SPIDER_NAME = /^[\w-][\w.-]*$/;

/**
 * A spider name as given (`crawl export NAME`, a spider's `name`), checked to
 * be a name and never a path: `../elsewhere/name` is refused, not followed.
 * @throws {@link ConfigError} naming it.
 */
export function spiderName(name: string): string {
  if (!SPIDER_NAME.test(name)) throw new ConfigError(`bad spider name ${JSON.stringify(name)}: a spider name is letters, digits, _ . and -, never a path`);
  return name;
}
