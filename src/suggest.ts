import { Command } from 'commander';

/**
 * The candidates a mistyped `word` most likely meant (the closest, ties
 * together), or none when none is close: commander's own "did you mean"
 * (edit distance, as for unknown options), asked through a throwaway
 * command, since commander does not export it. One rule for commands,
 * options and spider names alike.
 */
export function didYouMean(word: string, candidates: readonly string[]): string[] {
  if (candidates.includes(word) || word.startsWith('-')) return [];
  const probe = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  for (const name of new Set(candidates)) if (/^[\w.-]+$/.test(name)) probe.command(name);
  if (probe.commands.length === 0) return [];
  try {
    probe.parse([word], { from: 'user' });
  } catch (err) {
    const similar = /\(Did you mean (?:one of )?(.+?)\?\)/.exec((err as Error).message)?.[1];
    if (similar) return similar.split(', ');
  }
  return [];
}
