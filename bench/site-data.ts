/**
 * The benchmark's synthetic shop: every page, and every item's expected
 * fields, as a pure function of the item count N and an id. Nothing is stored:
 * 200,000 pre-rendered pages of ~6 KB would take 1.2 GB, so the site server
 * renders each page on request by concatenating precomputed fragments (cheap
 * enough to keep the server well below the crawler's CPU), and the runner
 * computes the expected items from the same functions.
 *
 * Shape: listing pages /list/1.html ... /list/L.html (20 items each, a "next"
 * link), item pages /item/1.html ... /item/N.html, each linking to 4 other
 * items in 4 different but equivalent forms (relative, absolute path, with
 * fragments), so a crawler that deduplicates properly fetches exactly N + L pages.
 */

/** Items linked from one listing page. */
export const ITEMS_PER_LISTING = 20;

/** Listing pages for N items. */
export const listingCount = (items: number): number => Math.ceil(items / ITEMS_PER_LISTING);

/** HTML pages a correct crawl fetches: every listing and every item, once. */
export const expectedPages = (items: number): number => items + listingCount(items);

/**
 * CSS selectors of the extraction every crawler does. The crawlkit spider and
 * the cheerio floor import these; bench/peers/crawlee.mjs repeats them (it is
 * plain JS run from its own package).
 */
export const SELECTORS = {
  /** On a listing: the item links (one per card). */
  listingItems: 'ol.products h3 a',
  /** On a listing: the next listing. */
  next: 'ul.pager li.next a',
  /** On an item page: the product block, `data-id` holds the id. */
  product: 'article.product',
  title: 'h1.title',
  price: 'p.price span.amount',
  sku: 'td.sku',
  /** Its class names the rating as a word, as books.toscrape.com does: `star-rating Four`. */
  rating: 'p.star-rating',
  /** On an item page: links to other items. */
  related: 'ul.related a',
} as const;

/** Rating words, index + 1 is the rating. */
export const STARS = ['One', 'Two', 'Three', 'Four', 'Five'] as const;

/** The item a crawler extracts from an item page (a type, not an interface, so it is a valid spider item). */
export type Item = {
  id: number;
  title: string;
  price: number;
  sku: string;
  rating: number;
};

/** A 32-bit integer hash (lowbias32): spreads ids over choices deterministically. */
export function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const pick = <T>(list: readonly T[], seed: number): T => list[seed % list.length]!;

// Title parts; some carry characters that must be escaped in HTML (& and '),
// so every crawler's entity decoding is exercised.
const ADJECTIVES = ['Classic', 'Compact', 'Deluxe', 'Rustic', 'Modern', 'Vintage', 'Everyday', "Chef's", 'Heavy-Duty', 'Premium', 'Nordic', 'Slim'];
const MATERIALS = ['Oak', 'Walnut & Brass', 'Stainless Steel', 'Ceramic', 'Cast Iron', 'Bamboo', 'Linen', 'Copper', 'Salt & Pepper', 'Enamel', 'Glass', 'Wool'];
const NOUNS = ['Kettle', 'Skillet', 'Lamp', 'Cutting Board', 'Teapot', 'Throw', 'Mug Set', 'Knife Block', 'Planter', 'Clock', 'Serving Bowl', 'Cushion', 'Grinder', 'Shelf'];
const CATEGORIES = ['kitchen', 'living-room', 'bedroom', 'garden', 'lighting', 'tableware', 'storage', 'textiles', 'decor', 'outdoor', 'bath', 'office'];
const CATEGORY_NAMES = ['Kitchen', 'Living Room', 'Bedroom', 'Garden', 'Lighting', 'Tableware', 'Storage', 'Textiles', 'Decor', 'Outdoor', 'Bath', 'Office'];

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The decoded title of item `id`. */
export function itemTitle(id: number): string {
  const h = mix(id);
  return `${pick(ADJECTIVES, h)} ${pick(MATERIALS, h >>> 8)} ${pick(NOUNS, h >>> 16)} No. ${id}`;
}

/** The expected item of an id: what a correct extraction yields. */
export function expectedItem(id: number): Item {
  const h = mix(id ^ 0x5bd1e995);
  return {
    id,
    title: itemTitle(id),
    price: (100 + (h % 49_900)) / 100,
    sku: `CK-${id.toString(36).toUpperCase().padStart(5, '0')}-${(h >>> 20) % 97}`,
    rating: 1 + ((h >>> 8) % 5),
  };
}

/** FNV-1a over a string, 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * An order-independent checksum of extracted items, so a crawler's output can
 * be checked against the site field by field without keeping the items: the
 * sum (mod 2^32) of a hash of each item's fields, plus a bitmap of ids seen.
 */
export class ItemDigest {
  count = 0;
  distinct = 0;
  sum = 0;
  /** Items with an id outside 1..N or not a number. */
  badIds = 0;
  readonly #seen: Uint8Array;

  constructor(readonly items: number) {
    this.#seen = new Uint8Array(items + 1);
  }

  add(item: Item | Record<string, unknown>): void {
    const { id, title, price, sku, rating } = item as Item;
    this.count++;
    this.sum = (this.sum + itemHash({ id, title, price, sku, rating })) >>> 0;
    if (!Number.isInteger(id) || id < 1 || id > this.items) this.badIds++;
    else if (this.#seen[id] === 0) {
      this.#seen[id] = 1;
      this.distinct++;
    }
  }

  toJSON(): { count: number; distinct: number; sum: number; badIds: number } {
    return { count: this.count, distinct: this.distinct, sum: this.sum, badIds: this.badIds };
  }
}

/** Hash of one item's fields, in a fixed form (price with two decimals). */
export function itemHash(item: Item): number {
  const price = typeof item.price === 'number' ? item.price.toFixed(2) : String(item.price);
  return fnv1a(`${item.id}\t${item.title}\t${price}\t${item.sku}\t${item.rating}`);
}

/** The digest a correct crawl of N items produces. */
export function expectedDigest(items: number): { count: number; distinct: number; sum: number; badIds: number } {
  const d = new ItemDigest(items);
  for (let id = 1; id <= items; id++) d.add(expectedItem(id));
  return d.toJSON();
}

// ---------------------------------------------------------------------------
// Page fragments, built once. Per request only the item-specific parts are
// concatenated; the chrome (head, header, footer) and a pool of description
// paragraphs are shared strings.

const WORDS = (
  'the a of and with for in to from by solid hand finished crafted durable easy clean dishwasher safe gift ' +
  'everyday kitchen table home warm light natural smooth sturdy lasting design classic modern generous size ' +
  'perfect weekend morning coffee dinner guests season care wipe dry store cool place each piece unique grain ' +
  'tone colour finish made small workshop family owned sourced responsibly packed recyclable materials'
).split(' ');

/** A pool of 64 description paragraphs of 40-70 words, generated once from a seed. */
const PARAGRAPHS: string[] = Array.from({ length: 64 }, (_, p) => {
  const n = 40 + (mix(p + 1000) % 31);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[mix(p * 131 + i) % WORDS.length]!);
  const text = words.join(' ');
  return `<p>${text.charAt(0).toUpperCase()}${text.slice(1)}.</p>\n`;
});

const NAV = CATEGORIES.map((slug, i) => `<li><a href="/category/${slug}/">${CATEGORY_NAMES[i]}</a></li>`).join('');

const head = (title: string, canonical: string, description: string): string =>
  `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} | Hearth &amp; Home Store</title>
<meta name="description" content="${description}">
<link rel="canonical" href="${canonical}">
<link rel="stylesheet" href="/static/css/main.3f9a1c.css">
<link rel="icon" href="/static/img/favicon.ico">
<script src="/static/js/app.7b2e41.js" defer></script>
</head>
`;

const HEADER = `<body>
<header class="site-header">
<div class="container">
<a class="logo" href="/"><img src="/static/img/logo.svg" alt="Hearth &amp; Home" width="160" height="40"></a>
<form class="search" action="/search/" method="get"><input type="search" name="q" placeholder="Search products"><button type="submit">Search</button></form>
<a class="basket" href="/basket/">Basket (0)</a>
</div>
<nav class="categories"><ul>${NAV}</ul></nav>
</header>
<main class="container">
`;

const FOOTER = `</main>
<footer class="site-footer">
<div class="container">
<ul class="links"><li><a href="/about/">About us</a></li><li><a href="/delivery/">Delivery &amp; returns</a></li><li><a href="/contact/">Contact</a></li><li><a href="/privacy/">Privacy</a></li></ul>
<p class="legal">&copy; 2024 Hearth &amp; Home Ltd. Prices include VAT. Registered in England and Wales.</p>
</div>
</footer>
<script>window.dataLayer=window.dataLayer||[];dataLayer.push({event:"page_view"});</script>
</body>
</html>
`;

const starsHtml = (rating: number): string =>
  `<p class="star-rating ${STARS[rating - 1]}"><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i></p>`;

const category = (id: number): number => mix(id * 7) % CATEGORIES.length;

/** The four items an item page links to: neighbours and two far ones, in 1..N. */
export function relatedIds(id: number, items: number): [number, number, number, number] {
  return [(id % items) + 1, (mix(id) % items) + 1, (mix(id + 7777) % items) + 1, id > 1 ? id - 1 : items];
}

/** The HTML of item page `id` (1..N). */
export function renderItem(id: number, items: number): string {
  const it = expectedItem(id);
  const title = escapeHtml(it.title);
  const h = mix(id ^ 0x1234567);
  const cat = category(id);
  const [r1, r2, r3, r4] = relatedIds(id, items);
  const para = (k: number) => PARAGRAPHS[(h >>> (k * 6)) % PARAGRAPHS.length]!;
  const reviews = h % 240;
  // Four equivalent spellings of /item/X.html, as seen from /item/ID.html:
  // a dedupe that resolves URLs and drops fragments collapses them all.
  const rel = (x: number, href: string) => `<li><a href="${href}">${escapeHtml(itemTitle(x))}</a></li>`;
  return (
    head(title, `/item/${id}.html`, `Buy ${title} from Hearth &amp; Home. Free delivery over &pound;50.`) +
    HEADER +
    `<ul class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/list/1.html">All products</a></li><li><a href="/category/${CATEGORIES[cat]}/">${CATEGORY_NAMES[cat]}</a></li><li class="active">${title}</li></ul>
<article class="product" data-id="${id}">
<div class="gallery"><img src="/media/items/${id}/main.jpg" alt="${title}" width="480" height="480"><ul class="thumbs"><li><img src="/media/items/${id}/1.jpg" alt=""></li><li><img src="/media/items/${id}/2.jpg" alt=""></li></ul></div>
<div class="summary">
<h1 class="title">${title}</h1>
<p class="price"><span class="amount">&pound;${it.price.toFixed(2)}</span> <small>incl. VAT</small></p>
${starsHtml(it.rating)} <a href="#reviews">${reviews} reviews</a>
<p class="availability in-stock">In stock (${1 + (h % 57)} available)</p>
<form class="add-to-basket" action="/basket/add/${id}/" method="post"><input type="hidden" name="csrf" value="${h.toString(16)}"><input type="number" name="qty" value="1" min="1"><button type="submit">Add to basket</button></form>
</div>
<section class="description"><h2>Product description</h2>
${para(0)}${para(1)}${para(2)}${para(3)}</section>
<table class="specs">
<tr><th>SKU</th><td class="sku">${it.sku}</td></tr>
<tr><th>Category</th><td>${CATEGORY_NAMES[cat]}</td></tr>
<tr><th>Weight</th><td>${(0.2 + (h % 50) / 10).toFixed(1)} kg</td></tr>
<tr><th>Dimensions</th><td>${10 + (h % 40)} &times; ${10 + ((h >>> 5) % 40)} &times; ${5 + ((h >>> 10) % 30)} cm</td></tr>
<tr><th>Delivery</th><td>2&ndash;4 working days</td></tr>
</table>
<section class="related"><h2>You may also like</h2>
<ul class="related">${rel(r1, `../item/${r1}.html`)}${rel(r2, `/item/${r2}.html#reviews`)}${rel(r3, `${r3}.html`)}${rel(r4, `./${r4}.html#specs`)}</ul>
</section>
<section id="reviews" class="reviews"><h2>Reviews</h2><p>${reviews} customers rated this product; ${it.rating} stars on average.</p></section>
</article>
` +
    FOOTER
  );
}

/** The HTML of listing page `page` (1..L). */
export function renderListing(page: number, items: number): string {
  const pages = listingCount(items);
  const first = (page - 1) * ITEMS_PER_LISTING + 1;
  const last = Math.min(page * ITEMS_PER_LISTING, items);
  let cards = '';
  for (let id = first; id <= last; id++) {
    const it = expectedItem(id);
    const title = escapeHtml(it.title);
    // Odd pages link items relative to /list/, even pages by absolute path.
    const href = page % 2 ? `../item/${id}.html` : `/item/${id}.html`;
    cards += `<li class="card"><img src="/media/items/${id}/s.jpg" alt="" width="160" height="160"><h3><a href="${href}">${title}</a></h3><p class="price">&pound;${it.price.toFixed(2)}</p><p class="star-rating ${STARS[it.rating - 1]}"></p></li>\n`;
  }
  const prev = page > 1 ? `<li class="previous"><a href="${page - 1}.html">previous</a></li>` : '';
  const next = page < pages ? `<li class="next"><a href="${page + 1}.html">next</a></li>` : '';
  return (
    head(`All products, page ${page}`, `/list/${page}.html`, `All products at Hearth &amp; Home, page ${page} of ${pages}.`) +
    HEADER +
    `<ul class="breadcrumb"><li><a href="/">Home</a></li><li class="active">All products</li></ul>
<h1>All products</h1>
<p class="count">Showing ${first}&ndash;${last} of ${items} products</p>
<ol class="products">
${cards}</ol>
<ul class="pager">${prev}<li class="current">Page ${page} of ${pages}</li>${next}</ul>
` +
    FOOTER
  );
}

/** The home page: a link to the first listing. Crawlers start at /list/1.html; this is for people. */
export function renderHome(items: number): string {
  return head('Home', '/', 'Hearth &amp; Home: things for the home.') + HEADER + `<h1>Welcome</h1><p><a href="/list/1.html">All ${items} products</a></p>\n` + FOOTER;
}

export const ROBOTS_TXT = 'User-agent: *\nAllow: /\n';
