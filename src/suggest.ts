import { Command } from 'commander';

/**
 * The candidate a mistyped `word` most likely meant, or undefined when none
 * is close: commander's own "did you mean" (edit distance, as for unknown
 * options), asked through a throwaway command, since commander does not
 * export it. One rule for commands, options and spider names alike.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.includes(word)) return undefined;
  const probe = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  for (const name of new Set(candidates)) if (/^[\w.-]+$/.test(name)) probe.command(name);
  if (probe.commands.length === 0 || word.startsWith('-')) return undefined;
  try {
    probe.parse([word], { from: 'user' });
  } catch (err) {
    return /\(Did you mean (.+?)\?\)/.exec((err as Error).message)?.[1];
  }
  return undefined;
}
