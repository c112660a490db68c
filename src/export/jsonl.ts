/** One JSON Lines line. */
export const jsonLine = (item: object): string => `${JSON.stringify(item)}\n`;

/** JSON Lines: one item per line, the format to append to and stream. */
export async function* toJsonl(items: Iterable<object> | AsyncIterable<object>): AsyncGenerator<string> {
  for await (const item of items) yield jsonLine(item);
}
