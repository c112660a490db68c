/** A JSON array of items, written item by item so the array is never whole in memory. */
export async function* toJson(items: Iterable<object> | AsyncIterable<object>): AsyncGenerator<string> {
  let first = true;
  for await (const item of items) {
    yield `${first ? '[\n' : ',\n'}${JSON.stringify(item)}`;
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}
