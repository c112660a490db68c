import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { FetchError } from '../errors.js';
import { blockedReason, networkReason } from '../reasons.js';
import type { TlsConnectOptions } from './tls.js';

/**
 * Which addresses a crawl may connect to, so that no page can send it to a
 * private service (SSRF): the check is on the address a connection is about
 * to use, after DNS, so neither a name that resolves to 127.0.0.1 nor a
 * literal such as `0.0.0.0` (which Linux connects to the local host) gets past.
 */

/** What an IP address is for. Anything not `public` is reached only when a start URL was on that kind, or when allowed outright. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

/** Special-purpose ranges (IANA's IPv4 and IPv6 registries), by kind, tested in this order. */
const RANGES: [Exclude<AddressKind, 'public'>, string[]][] = [
  ['loopback', ['127.0.0.0/8', '::1/128']],
  // Private networks, carrier-grade NAT (shared address space) and IPv6 unique local addresses.
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']],
  // 169.254.169.254 is the cloud metadata service: the classic SSRF target.
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  // "This host" (connecting to 0.0.0.0 reaches local services), IETF and documentation ranges, benchmarking, multicast, reserved, broadcast.
  ['reserved', ['0.0.0.0/8', '192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4', '::/128', '2001:db8::/32', 'ff00::/8']],
];

const LISTS = RANGES.map(([kind, subnets]) => {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [net, prefix] = subnet.split('/') as [string, string];
    list.addSubnet(net, Number(prefix), net.includes(':') ? 'ipv6' : 'ipv4');
  }
  return [kind, list] as const;
});

/** The kind of an IP address (brackets allowed); an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is the kind of its IPv4 address. */
export function addressKind(ip: string): AddressKind {
  const bare = ip.startsWith('[') ? ip.slice(1, -1) : ip;
  const family = isIP(bare);
  if (family === 0) throw new TypeError(`not an IP address: ${ip}`);
  for (const [kind, list] of LISTS) if (list.check(bare, family === 6 ? 'ipv6' : 'ipv4')) return kind;
  return 'public';
}

/** The kinds of address a crawl may connect to: public ones always, others once admitted. */
export interface AddressPolicy {
  allows(kind: AddressKind): boolean;
  /** Admits more kinds: those a run's start URLs are on. */
  admit(kinds: Iterable<AddressKind>): void;
}

/** A policy admitting public addresses, or (`allowAll`, the `allowPrivateAddresses` setting) every address. */
export function addressPolicy(allowAll: boolean, admitted: Iterable<AddressKind> = []): AddressPolicy {
  const kinds = new Set<AddressKind>(['public', ...admitted]);
  return {
    allows: (kind) => allowAll || kinds.has(kind),
    admit(more) {
      for (const kind of more) kinds.add(kind);
    },
  };
}

const blocked = (host: string, ip: string, kind: AddressKind) =>
  new FetchError(
    // Public addresses are always allowed: a refused one is of another kind.
    blockedReason(kind as Exclude<AddressKind, 'public'>),
    `${host === ip ? ip : `${host} resolves to ${ip}, which`} is a ${kind} address, and no start URL was: not connected (-s allowPrivateAddresses=true allows it)`,
    false,
  );

/**
 * undici's connector, with every address checked against `policy` before a
 * socket is opened: an IP literal at once, a name after DNS (all of its
 * addresses, so a name with one public and one private address is refused
 * too). The refusal is a non-retryable {@link FetchError} `blocked:KIND`.
 * `tls` goes to each TLS connection (ALPN offers h2 only when `tls.allowH2`:
 * undici's own `allowH2` does not reach a connector of one's own).
 */
export function guardedConnector(policy: AddressPolicy, timeoutMs: number, tls?: TlsConnectOptions): buildConnector.connector {
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      for (const { address } of addresses) {
        const kind = addressKind(address);
        if (!policy.allows(kind)) return callback(blocked(hostname, address, kind));
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as unknown as LookupFunction;
  const connect = buildConnector({ timeout: timeoutMs, lookup, ...tls } as buildConnector.BuildOptions);
  return (options, callback) => {
    const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
    // net.connect skips the lookup for an IP literal: it is checked here.
    if (isIP(host)) {
      const kind = addressKind(host);
      if (!policy.allows(kind)) return callback(blocked(host, host, kind), null);
    }
    return connect(options, callback);
  };
}

/**
 * The kinds of address a host is on: an IP literal by its form, a name by DNS
 * (cut off after `timeoutMs`; a name that does not resolve is on none, and
 * its requests fail as they would anyway).
 */
export function hostAddressKinds(hostname: string, timeoutMs: number): Promise<AddressKind[]> {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (isIP(host)) return Promise.resolve([addressKind(host)]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve([]), timeoutMs);
    dnsLookup(host, { all: true }, (err, addresses) => {
      clearTimeout(timer);
      resolve(err ? [] : addresses.map((a) => addressKind(a.address)));
    });
  });
}

/** How long a name's addresses are trusted by {@link proxiedTargetGuard}: DNS answers of busy sites live about as long (a TTL of 30 to 300 s). */
const TARGET_TTL_MS = 30_000;
/** Names remembered at once: a crawl of many hosts looks up again, rather than hold one entry per host it ever met. */
const TARGET_CACHE_SIZE = 1_000;

/**
 * The address check of a request sent through a proxy, which resolves the
 * target itself, so the connector's check never sees the target's address:
 * the target's host is checked here, an IP literal by its form, a name by its
 * DNS addresses (all of them, cached {@link TARGET_TTL_MS}), with the same
 * policy. The proxy's own address is the user's choice and is not checked.
 * A name that does not resolve here fails as it would without a proxy
 * (`network:ENOTFOUND`): what it would resolve to at the proxy is unknown.
 * @throws {@link FetchError} `blocked:KIND`, or `network:CODE` for a failed lookup.
 */
export function proxiedTargetGuard(policy: AddressPolicy): (hostname: string) => Promise<void> {
  const cache = new Map<string, { addresses: string[]; until: number }>();
  const resolve = (host: string): Promise<string[]> => {
    const hit = cache.get(host);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.addresses);
    return new Promise((done, fail) =>
      dnsLookup(host, { all: true }, (err, found) => {
        if (err) return fail(new FetchError(networkReason(err.code ?? ''), `${host}: ${err.message}`, true));
        const addresses = found.map((a) => a.address);
        cache.delete(host);
        if (cache.size >= TARGET_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(host, { addresses, until: Date.now() + TARGET_TTL_MS });
        done(addresses);
      }),
    );
  };
  return async (hostname) => {
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    for (const address of isIP(host) ? [host] : await resolve(host)) {
      const kind = addressKind(address);
      if (!policy.allows(kind)) throw blocked(host, address, kind);
    }
  };
}
