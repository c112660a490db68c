import { readFileSync } from 'node:fs';

/** What crawlkit reads from its own package.json. */
export interface PackageInfo {
  /** The npm name (`crawlkit-ts`): what spiders import, and the User-Agent's product token. */
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

/**
 * crawlkit's package.json, one folder up from this module both in src/ and in
 * dist/, so the name lives in one place (`crawl new`, `crawl init` and the
 * User-Agent follow it).
 */
export const PACKAGE: Readonly<PackageInfo> = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as PackageInfo;
