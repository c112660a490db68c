// Preloaded into a crawl process with NODE_OPTIONS="--import <this file>": at
// exit, writes the process's peak resident set size (KiB) to $CHAOS_MAXRSS_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.CHAOS_MAXRSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
