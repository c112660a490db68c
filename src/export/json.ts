/** One item of a JSON array: the opening bracket before the first, a comma before the others. */
export const jsonArrayEntry = (item: object, first: boolean): string => `${first ? '[\n' : ',\n'}${JSON.stringify(item)}`;

/** The end of a JSON array, or the whole of an empty one. */
export const jsonArrayEnd = (empty: boolean): string => (empty ? '[]\n' : '\n]\n');

/** A JSON array of items, written item by item so the array is never whole in memory. */
export async function* toJson(items: Iterable<object> | AsyncIterable<object>): AsyncGenerator<string> {
  let first = true;
  for await (const item of items) {
    yield jsonArrayEntry(item, first);
    first = false;
  }
  yield jsonArrayEnd(first);
}
