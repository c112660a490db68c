/** JSON Lines: one item per line, the format to append to and stream. */
export function* toJsonl(items: Iterable<object>): Generator<string> {
  for (const item of items) yield `${JSON.stringify(item)}\n`;
}
