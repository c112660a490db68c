/** JSON Lines: one item per line, the format to append to and stream. */
export async function* toJsonl(items: Iterable<object> | AsyncIterable<object>): AsyncGenerator<string> {
  for await (const item of items) yield `${JSON.stringify(item)}\n`;
}
