/** A JSON array of items, written item by item so the array is never whole in memory. */
export function* toJson(items: Iterable<object>): Generator<string> {
  let first = true;
  for (const item of items) {
    yield `${first ? '[\n' : ',\n'}${JSON.stringify(item)}`;
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}
