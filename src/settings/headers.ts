import { z } from 'zod';

/**
 * Default headers as settings (`headers`, `hostHeaders`): what a header name
 * and value may be, which names a setting may not set, and which carry
 * credentials (their values never shown).
 */

/** A header name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NAME = "a header name: letters, digits and !#$%&'*+-.^_`|~";

/**
 * A header value as undici sends it: tab, printable Latin-1, nothing else.
 * CR and LF above all: a value that carried them would write headers of its own (header injection).
 */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Names a default header may not have: the User-Agent is the `userAgent`
 * setting (robots.txt is matched against it); the others frame the message,
 * which is the fetch's to write (undici refuses them, and HTTP/2 forbids them).
 */
const REFUSED: Record<string, string> = {
  'user-agent': 'set userAgent instead',
  host: 'the fetch sets it',
  'content-length': 'the fetch sets it',
  'transfer-encoding': 'the fetch sets it',
  connection: 'the fetch sets it',
  'keep-alive': 'the fetch sets it',
  upgrade: 'the fetch sets it',
  expect: 'the fetch sets it',
};

/** Headers whose values are credentials. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** What a credential's value is shown as. */
export const REDACTED = '<redacted>';

/** A header name, lower-cased (HTTP names are case-insensitive, and a request's own header must replace a default whatever its case). */
const headerName = () =>
  z
    .string()
    .regex(TOKEN, NAME)
    .transform((name) => name.toLowerCase())
    .refine((name) => !Object.hasOwn(REFUSED, name), { error: (issue) => `a header name other than ${String(issue.input)}: ${REFUSED[String(issue.input)]}` });

/** A header value; '' is "do not send this header", which drops one of crawlkit's defaults (see middleware/headers.ts). */
const headerValue = () => z.string({ error: 'a string' }).regex(VALUE, 'a header value: no CR, LF or other control character, nothing beyond Latin-1');

/** Header names and values (`headers`, and each host's of `hostHeaders`). */
export const headerMap = () => z.record(headerName(), headerValue(), { error: 'an object of header names and values' }).describe('name');

/** `new URL('http://HOST/')` as a host name alone: no scheme, port, path or user. */
function hostname(text: string): string | undefined {
  try {
    const url = new URL(`http://${text}/`);
    return url.host === url.hostname && url.href === `http://${url.host}/` ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

const HOST = 'a host name as in a URL (no scheme, port or path)';

/** A host name, as the URL parser writes it (lower-cased, IDN in punycode), so it matches a request's host whatever form it was given in. */
const hostKey = () =>
  z
    .string()
    .refine((text) => hostname(text) !== undefined, HOST)
    .transform((text) => hostname(text)!);

/** Host names and the headers of each (`hostHeaders`). */
export const hostHeaderMap = () => z.record(hostKey(), headerMap(), { error: 'an object of host names and header objects' }).describe('host');

/** Whether a header's value is a credential, never to be shown (in an error, a log, the database). */
export const isCredentialHeader = (name: string): boolean => CREDENTIAL_HEADERS.has(name.toLowerCase());
