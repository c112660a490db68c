/**
 * Scenario (f)'s site, page by page: the shop of bench/site-data.ts (the same
 * items, listings and links), but every page is an empty shell whose content
 * an inline script writes from JSON embedded in the page. Fetched over HTTP
 * a page has no item and no link to follow: only a crawler that runs the
 * page's JavaScript finds the N + L pages and the N items.
 *
 * Each page also asks for what a real page does: a stylesheet, a deferred
 * script, a logo (SVG), a favicon and product images (JPEG), so that the
 * browser's resource policy (what it blocks, what it fetches) is part of what
 * is measured.
 */
import { expectedItem, ITEMS_PER_LISTING, listingCount, relatedIds, STARS } from './site-data.js';

/** The static files every page asks for, and their bodies (small, as on a site that serves them from a CDN's cache). */
export const ASSETS: Record<string, { type: string; body: Buffer }> = {
  '/static/css/main.css': { type: 'text/css', body: Buffer.from('body{font-family:sans-serif;margin:0}.container{max-width:960px;margin:auto}.card{display:inline-block;width:180px}\n'.repeat(20)) },
  // A script that does something on load, as analytics or a menu would.
  '/static/js/app.js': { type: 'application/javascript', body: Buffer.from('document.documentElement.dataset.app="1";\n') },
  '/static/img/logo.svg': { type: 'image/svg+xml', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="160" height="40" fill="#a33"/></svg>') },
  '/favicon.ico': { type: 'image/x-icon', body: Buffer.alloc(318) },
};

/** The bytes of any product image (/media/...): a JPEG-sized blob, 8 KB. */
export const IMAGE = { type: 'image/jpeg', body: Buffer.alloc(8 * 1024, 7) };

/** JSON for an inline <script type="application/json">: nothing in it can end the script element. */
const embed = (data: unknown): string => JSON.stringify(data).replace(/</g, '\\u003c');

const shell = (title: string, data: unknown, script: string): string => `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>${title} | Hearth &amp; Home Store</title>
<link rel="stylesheet" href="/static/css/main.css">
<script src="/static/js/app.js" defer></script>
</head>
<body>
<header><img src="/static/img/logo.svg" alt="Hearth &amp; Home" width="160" height="40"></header>
<main class="container" id="app"><p class="loading">Loading...</p></main>
<script type="application/json" id="data">${embed(data)}</script>
<script>${script}</script>
</body>
</html>
`;

// The scripts write their markup with textContent and setAttribute, never HTML from the data, as a careful front end would.
const HELPERS = `var D=JSON.parse(document.getElementById('data').textContent),app=document.getElementById('app');app.textContent='';
function el(tag,attrs,text,parent){var e=document.createElement(tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!=null)e.textContent=text;(parent||app).appendChild(e);return e}`;

const ITEM_SCRIPT = `${HELPERS}
var a=el('article',{'class':'product','data-id':String(D.id)});
el('img',{src:'/media/items/'+D.id+'/main.jpg',width:'480',height:'480'},null,a);
el('h1',{'class':'title'},D.title,a);
var p=el('p',{'class':'price'},null,a);el('span',{'class':'amount'},'\\u00a3'+D.price.toFixed(2),p);
el('p',{'class':'star-rating '+D.stars},null,a);
var t=el('table',{'class':'specs'},null,a),r=el('tr',{},null,t);el('th',{},'SKU',r);el('td',{'class':'sku'},D.sku,r);
var u=el('ul',{'class':'related'},null,a);
D.related.forEach(function(x){el('a',{href:x.href},x.title,el('li',{},null,u))});`;

const LISTING_SCRIPT = `${HELPERS}
var o=el('ol',{'class':'products'});
D.items.forEach(function(x){var li=el('li',{'class':'card'},null,o);el('img',{src:'/media/items/'+x.id+'/s.jpg',width:'160',height:'160'},null,li);el('a',{href:x.href},x.title,el('h3',{},null,li));el('p',{'class':'price'},'\\u00a3'+x.price.toFixed(2),li)});
var g=el('ul',{'class':'pager'});if(D.next)el('a',{href:D.next},'next',el('li',{'class':'next'},null,g));`;

/** Item page `id` (1..N): the item and its four related items, in the same four spellings as the plain shop's links. */
export function renderedItem(id: number, items: number): string {
  const it = expectedItem(id);
  const [r1, r2, r3, r4] = relatedIds(id, items);
  const related = [
    { href: `../item/${r1}.html`, title: expectedItem(r1).title },
    { href: `/item/${r2}.html#reviews`, title: expectedItem(r2).title },
    { href: `${r3}.html`, title: expectedItem(r3).title },
    { href: `./${r4}.html#specs`, title: expectedItem(r4).title },
  ];
  return shell(`Item ${id}`, { id, title: it.title, price: it.price, sku: it.sku, stars: STARS[it.rating - 1], related }, ITEM_SCRIPT);
}

/** Listing page `page` (1..L): 20 items and, but on the last, a link to the next listing. */
export function renderedListing(page: number, items: number): string {
  const first = (page - 1) * ITEMS_PER_LISTING + 1;
  const last = Math.min(page * ITEMS_PER_LISTING, items);
  const cards = [];
  for (let id = first; id <= last; id++) {
    const it = expectedItem(id);
    cards.push({ id, href: page % 2 ? `../item/${id}.html` : `/item/${id}.html`, title: it.title, price: it.price });
  }
  return shell(`All products, page ${page}`, { items: cards, next: page < listingCount(items) ? `${page + 1}.html` : null }, LISTING_SCRIPT);
}
