"""
The Scrapy peer: Debian's python3-scrapy doing the benchmark's crawl and
extraction (the selectors of bench/site-data.ts SELECTORS), run by the
benchmark runner as a child process, one crawl, one report line:

  python3 bench/peers/scrapy_bench.py --base-url http://127.0.0.1:PORT/ --items N [--concurrency 50]
  python3 bench/peers/scrapy_bench.py --site links --base-url http://127.0.0.1:PORT/    # scenario (e)

Settings comparable to crawlkit's bench spider: CONCURRENT_REQUESTS and
CONCURRENT_REQUESTS_PER_DOMAIN = the runner's cap, no AutoThrottle, no
download delay, HTTP cache off, logging at WARNING, robots.txt obeyed (crawlkit
obeys it too: one request per crawl). The report is bench/common.ts's
CrawlReport (shop) or bench/link-spider.ts's LinkReport (links); CPU time and
peak RSS come from getrusage of this process (Twisted runs in one thread).
"""
import argparse
import json
import resource
import time

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from twisted.internet import task

STARS = ['One', 'Two', 'Three', 'Four', 'Five']


def fnv1a(s):
    """bench/site-data.ts fnv1a: FNV-1a over UTF-16 code units, as JavaScript's charCodeAt gives them."""
    h = 0x811C9DC5
    units = s.encode('utf-16-le')
    for i in range(0, len(units), 2):
        h = ((h ^ (units[i] | (units[i + 1] << 8))) * 0x01000193) & 0xFFFFFFFF
    return h


class Digest:
    """bench/site-data.ts ItemDigest: a sum of item hashes and the ids seen, checked by the runner."""

    def __init__(self, items):
        self.items = items
        self.seen = bytearray(items + 1)
        self.count = self.distinct = self.sum = self.bad_ids = 0

    def add(self, item):
        s = f"{item['id']}\t{item['title']}\t{item['price']:.2f}\t{item['sku']}\t{item['rating']}"
        self.count += 1
        self.sum = (self.sum + fnv1a(s)) & 0xFFFFFFFF
        i = item['id']
        if not isinstance(i, int) or i < 1 or i > self.items:
            self.bad_ids += 1
        elif not self.seen[i]:
            self.seen[i] = 1
            self.distinct += 1

    def to_json(self):
        return {'count': self.count, 'distinct': self.distinct, 'sum': self.sum, 'badIds': self.bad_ids}


def text(sel):
    """cheerio's .text(): all descendant text, joined."""
    return ''.join(sel.css('::text, *::text').getall())


class LagMonitor:
    """The reactor's event-loop delay, as node's monitorEventLoopDelay: a 10 ms tick and how late each one fires."""

    def __init__(self):
        self.delays = []
        self.last = None
        self.loop = task.LoopingCall(self.tick)

    def tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.delays.append(max(0.0, now - self.last - 0.01) * 1000)
        self.last = now

    def start(self):
        self.loop.start(0.01, now=True)

    def stop(self):
        if self.loop.running:
            self.loop.stop()

    def summary(self):
        d = sorted(self.delays) or [0.0]
        return {'p99Ms': d[min(len(d) - 1, int(len(d) * 0.99))], 'maxMs': d[-1], 'samples': len(self.delays)}


class ShopSpider(scrapy.Spider):
    """The shop (scenarios a, b): listings ('next') and items; item pages link to other items."""
    name = 'bench'

    def __init__(self, base_url, items, **kw):
        super().__init__(**kw)
        self.start_urls = [f'{base_url}list/1.html']
        self.digest = Digest(items)
        self.pages = 0

    def parse(self, response):
        self.pages += 1
        yield from response.follow_all(css='ol.products h3 a', callback=self.parse_item)
        yield from response.follow_all(css='ul.pager li.next a', callback=self.parse)

    def parse_item(self, response):
        self.pages += 1
        product = response.css('article.product')
        classes = (product.css('p.star-rating').attrib.get('class') or '').split()
        price = ''.join(c for c in text(product.css('p.price span.amount')) if c.isdigit() or c == '.')
        item = {
            'id': int(product.attrib.get('data-id', '0') or 0),
            'title': text(product.css('h1.title')).strip(),
            'price': float(price) if price else 0.0,
            'sku': text(product.css('td.sku')).strip(),
            'rating': next((i + 1 for i, w in enumerate(STARS) if w in classes), 0),
        }
        self.digest.add(item)
        yield item
        yield from response.follow_all(css='ul.related a', callback=self.parse_item)


class LinkSpider(scrapy.Spider):
    """The link-heavy site (scenario e): every hub link followed, one item per leaf."""
    name = 'links'

    def __init__(self, base_url, **kw):
        super().__init__(**kw)
        self.start_urls = [f'{base_url}hub/0.html']
        self.ids = set()
        self.stored = 0
        self.pages = 0

    def start_requests(self):
        # Scrapy's default start requests skip the duplicate filter: hub 0 links to itself, and would be fetched twice.
        return [scrapy.Request(url, callback=self.parse) for url in self.start_urls]

    def parse(self, response):
        self.pages += 1
        yield from response.follow_all(css='nav a', callback=self.parse)
        yield from response.follow_all(css='main a', callback=self.parse_leaf)

    def parse_leaf(self, response):
        self.pages += 1
        item = {'id': int(response.css('h1').attrib.get('data-id', '0') or 0)}
        self.stored += 1
        self.ids.add(item['id'])
        yield item


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base-url', required=True)
    ap.add_argument('--items', type=int, default=0)
    ap.add_argument('--concurrency', type=int, default=50)
    ap.add_argument('--site', choices=['shop', 'links'], default='shop')
    a = ap.parse_args()
    base = a.base_url if a.base_url.endswith('/') else a.base_url + '/'
    process = CrawlerProcess(settings={
        'LOG_LEVEL': 'WARNING',
        'CONCURRENT_REQUESTS': a.concurrency,
        'CONCURRENT_REQUESTS_PER_DOMAIN': a.concurrency,
        'DOWNLOAD_DELAY': 0,
        'AUTOTHROTTLE_ENABLED': False,
        'HTTPCACHE_ENABLED': False,
        'ROBOTSTXT_OBEY': True,
        'TELNETCONSOLE_ENABLED': False,
        'REQUEST_FINGERPRINTER_IMPLEMENTATION': '2.7',
    })
    spider_cls = ShopSpider if a.site == 'shop' else LinkSpider
    crawler = process.create_crawler(spider_cls)
    lag = LagMonitor()
    # pydispatch holds receivers weakly: a bound method of an object alive here, not a lambda.
    crawler.signals.connect(lag.start, signal=signals.engine_started)
    kwargs = {'base_url': base, 'items': a.items} if a.site == 'shop' else {'base_url': base}
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    process.crawl(crawler, **kwargs)
    process.start()
    lag.stop()
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    spider, stats = crawler.spider, crawler.stats.get_stats()
    # Callback exceptions and requests failed for good are each logged once as an error.
    failed = stats.get('log_count/ERROR', 0)
    measured = {
        'wallS': wall,
        'cpuS': (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        'cpuUserS': r1.ru_utime - r0.ru_utime,
        'cpuSystemS': r1.ru_stime - r0.ru_stime,
        'processCpuS': r1.ru_utime + r1.ru_stime,
        'peakRssMB': r1.ru_maxrss / 1024,
        'heapUsedMB': 0,
        'lag': lag.summary(),
        'errors': failed,
    }
    if a.site == 'shop':
        report = {'system': f'scrapy {scrapy.__version__}', 'pages': spider.pages, 'items': spider.digest.count, 'digest': spider.digest.to_json(), **measured,
                  'extra': {'stats': {k: v for k, v in stats.items() if isinstance(v, (int, float, str))}}}
    else:
        lagged = measured['lag']
        report = {'pages': spider.pages, 'items': spider.stored, 'stored': spider.stored, 'distinct': len(spider.ids), 'states': {},
                  'mainStallMs': lagged['maxMs'], **measured, 'stats': {'maxMainLagMs': lagged['maxMs']}}
    print('BENCH_REPORT ' + json.dumps(report), flush=True)


if __name__ == '__main__':
    main()
