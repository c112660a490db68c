/**
 * Scenario (e)'s crawl for the Crawlee peer (plain JS, as shop.mjs): the
 * extraction of bench/link-spider.ts. A hub's `nav a` links are hubs, its
 * `main a` links leaves; a leaf yields one item, its id. Counts the items
 * and the distinct leaf ids, which the runner checks.
 */
export function linkHandlers() {
  const ids = new Set();
  const counts = { stored: 0, failed: 0 };
  return {
    counts,
    distinct: () => ids.size,
    async handle({ request, enqueueLinks, pushData, $ }) {
      if (request.label === 'LEAF') {
        const item = { id: Number($('h1').attr('data-id')) };
        counts.stored++;
        ids.add(item.id);
        await pushData(item);
        return;
      }
      await enqueueLinks({ selector: 'nav a', label: 'HUB' });
      await enqueueLinks({ selector: 'main a', label: 'LEAF' });
    },
    failedRequestHandler({ request }, error) {
      counts.failed++;
      if (counts.failed <= 5) process.stderr.write(`failed ${request.url}: ${error.message}\n`);
    },
  };
}
