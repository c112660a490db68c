/**
 * The form-data set `submitForm` sends, on pages parsed by cheerio as a crawl
 * parses them, and the JSON request and response helpers. The end-to-end
 * runs against the forms site are in forms.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FormError, NotJsonError, Request, Response, UnstorableValueError, type Request as Req } from '../src/index.js';

const PAGE = 'http://shop.example/a/page?old=1';
const page = (body: string, head = '') => new Response({ url: PAGE, status: 200, body: `<html><head>${head}</head><body>${body}</body></html>` });
/** The fields a request sends: its body's for a POST, its query's for a GET. */
const fields = (req: Req): [string, string][] => [...new URLSearchParams(req.method === 'GET' ? new URL(req.url).search : req.body)];

describe('the form-data set', () => {
  it('sends checked boxes and radios (value "on" by default, the last checked of a group), not unchecked ones', () => {
    const req = page(`<form>
      <input type=checkbox name=a checked><input type=checkbox name=b value=x><input type=checkbox name=c value=y checked>
      <input type=radio name=r value=1 checked><input type=radio name=r value=2 checked><input type=radio name=s value=3>
      <input type=radio name=t value=4 checked></form>`).submitForm();
    expect(fields(req)).toEqual([['a', 'on'], ['c', 'y'], ['r', '2'], ['t', '4']]);
  });

  it('sends selected options: a single select shows its first enabled option when none is selected, a multiple one sends none', () => {
    const req = page(`<form>
      <select name=one><option disabled>no</option><option>  First
        choice </option><option value=2>Two</option></select>
      <select name=last><option selected value=a>A</option><option selected value=b>B</option></select>
      <select name=many multiple><option>x</option></select>
      <select name=listbox size=3><option>x</option></select>
      <select name=picked multiple><option selected value=p1>P1</option><option selected disabled value=p2>P2</option>
        <optgroup disabled><option selected value=p3>P3</option></optgroup><option selected>p4</option></select>
    </form>`).submitForm();
    expect(fields(req)).toEqual([['one', 'First choice'], ['last', 'b'], ['picked', 'p1'], ['picked', 'p4']]);
  });

  it('leaves out disabled controls, those in a disabled fieldset (but its first legend), in a datalist, and those without a name', () => {
    const req = page(`<form>
      <input name=off value=1 disabled><input value=noname>
      <fieldset disabled><legend><input name=legend value=in></legend><input name=fs value=out><legend><input name=second value=out></legend></fieldset>
      <textarea name=t>
keep
lines</textarea><input type=hidden name=_charset_><input type=text name=q value="x" dirname=q.dir>
      <input type=file name=f><input type=reset name=reset><input type=button name=btn value=b>
    </form>`).submitForm();
    expect(fields(req)).toEqual([['legend', 'in'], ['t', 'keep\r\nlines'], ['_charset_', 'UTF-8'], ['q', 'x'], ['q.dir', 'ltr'], ['f', '']]);
    // htmlparser2 closes a datalist at an input; parse5 (the `parser` setting) keeps it inside, as a browser does.
    const body = '<form><datalist><input name=dl value=x></datalist><input name=in value=y></form>';
    expect(fields(new Response({ url: PAGE, status: 200, body, parser: 'parse5' }).submitForm())).toEqual([['in', 'y']]);
    // One newline after <textarea> is markup, whichever parser read it; a second is the value's.
    const area = '<form><textarea name=t>\n\nx</textarea></form>';
    for (const parser of ['htmlparser2', 'parse5'] as const) expect(fields(new Response({ url: PAGE, status: 200, body: area, parser }).submitForm())).toEqual([['t', '\r\nx']]);
  });

  it('takes the controls a form owns: its own, and those outside whose form attribute names it, not those that name another', () => {
    const res = page(`<input form=f name=before value=1><form id=f><input name=in value=2><input name=away form=g value=3></form>
      <form id=g><input name=g1 value=4></form><input form=f name=after value=5><input form=nowhere name=lost value=6>`);
    expect(fields(res.submitForm())).toEqual([['before', '1'], ['in', '2'], ['after', '5']]);
    expect(fields(res.submitForm({}, { selector: '#g' }))).toEqual([['away', '3'], ['g1', '4']]);
    expect(fields(res.submitForm({}, { selector: 'input[name=g1]' }))).toEqual([['away', '3'], ['g1', '4']]);
  });
});

describe('the submitter', () => {
  const buttons = `<form action=/go method=post>
    <input name=q value=tea>
    <button type=button name=nope value=x>not a submit</button><button type=reset name=reset>reset</button>
    <button name=save value=s disabled>save</button>
    <button name=search value=find>Search</button>
    <input type=submit name=next value=Next formaction="/elsewhere?x=1" formmethod=get>
    <input type=image name=map src=map.png>
    <button name=upload value=u formenctype=multipart/form-data>upload</button>
  </form>`;

  it('is the first enabled submit button unless told; false for none', () => {
    const res = page(buttons);
    expect(fields(res.submitForm())).toEqual([['q', 'tea'], ['search', 'find']]);
    expect(fields(res.submitForm({}, { submitter: false }))).toEqual([['q', 'tea']]);
  });

  it('is picked by name or CSS selector; its formaction, formmethod and formenctype win', () => {
    const res = page(buttons);
    const next = res.submitForm({}, { submitter: 'next' });
    expect(next.method).toBe('GET');
    expect(next.url).toBe('http://shop.example/elsewhere?q=tea&next=Next');
    const image = res.submitForm({}, { submitter: 'input[type=image]' });
    expect([image.method, image.url]).toEqual(['POST', 'http://shop.example/go']);
    expect(fields(image)).toEqual([['q', 'tea'], ['map.x', '0'], ['map.y', '0']]);
    const upload = res.submitForm({}, { submitter: 'upload' });
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('is an error when it names no submit button, or a disabled one', () => {
    const res = page(buttons);
    expect(() => res.submitForm({}, { submitter: 'nope' })).toThrow(FormError);
    expect(() => res.submitForm({}, { submitter: 'nope' })).toThrow(`submitForm: submitter "nope" is no submit button of the form on ${PAGE} (its buttons: save, search, next, map, upload)`);
    expect(() => res.submitForm({}, { submitter: 'save' })).toThrow(`submitForm: submitter "save" on ${PAGE} is disabled: a browser cannot click it`);
  });
});

describe('method, action and values', () => {
  it('submits to the page itself without an action (not its <base>), else to the action resolved against <base>', () => {
    const base = '<base href="http://shop.example/b/">';
    expect(page('<form><input name=q value=1></form>', base).submitForm().url).toBe('http://shop.example/a/page?q=1');
    expect(page('<form action=""><input name=q value=1></form>', base).submitForm().url).toBe('http://shop.example/a/page?q=1');
    expect(page('<form action="find?x=2#top" method=POST><input name=q value=1></form>', base).submitForm().url).toBe('http://shop.example/b/find?x=2');
    // A GET replaces the action's query with the form's.
    expect(page('<form action="find?x=2"><input name=q value="a b"></form>', base).submitForm().url).toBe('http://shop.example/b/find?q=a+b');
    expect(page('<form method=bogus><input name=q value=1></form>').submitForm().method).toBe('GET');
  });

  it('refuses an action that is not http(s), and method="dialog"', () => {
    expect(() => page('<form action="javascript:go()"></form>').submitForm()).toThrow(`submitForm: the form on ${PAGE} submits to "javascript:go()", which is not an http(s) URL`);
    expect(() => page('<form method=dialog></form>').submitForm()).toThrow(FormError);
  });

  it('puts values over the fields where they were, adds new ones last, repeats a list, drops null', () => {
    const res = page('<form method=post><input name=a value=1><input name=b value=2><input type=checkbox name=c checked><input name=b value=3></form>');
    expect(fields(res.submitForm({ b: ['x', 'y'], c: null, d: 'new' }))).toEqual([['a', '1'], ['b', 'x'], ['b', 'y'], ['d', 'new']]);
  });

  it('sends the page as Referer, and its Origin with a POST; the request options apply; its own headers win, but for the body\'s type', () => {
    const res = page('<form method=post action=/p><input name=a value=1></form>');
    const req = res.submitForm({}, { callback: 'parseNext', meta: { step: 2 }, priority: 5, dontFilter: true, headers: { Referer: 'http://x.example/', 'Content-Type': 'text/nope', 'x-mine': '1' } });
    expect(req.headers).toEqual({ Referer: 'http://x.example/', origin: 'http://shop.example', 'x-mine': '1', 'content-type': 'application/x-www-form-urlencoded' });
    expect([req.callback, req.meta, req.priority, req.dontFilter]).toEqual(['parseNext', { step: 2 }, 5, true]);
    expect(page('<form><input name=a value=1></form>').submitForm().headers).toEqual({ referer: PAGE });
  });

  it('is a FormError naming the page when there is no form, or the selector matches none', () => {
    expect(() => page('<p>hi</p>').submitForm()).toThrow(`submitForm: ${PAGE} has no <form>`);
    expect(() => page('<form></form><p class=x></p>').submitForm({}, { selector: 'p.x' })).toThrow(`submitForm: selector "p.x" matches 1 element(s), none a form or in one on ${PAGE}`);
    expect(() => page('<form></form>').submitForm({}, { selector: '<<' })).toThrow(/^submitForm: bad selector "<<": /);
    expect(() => page('<form></form>').submitForm('q=1' as never)).toThrow('submitForm: values must be an object of field names and values, not a string');
  });
});

describe('multipart and text/plain', () => {
  const upload = `<form method=post enctype="multipart/form-data" action=/up>
    <input name=title value="a &quot;b&quot;"><textarea name=notes>x
y</textarea><input type=file name=doc><input type=file name=empty></form>`;

  it('a multipart body that a multipart parser reads back: fields, the file given, an empty file for one left empty', async () => {
    const req = page(upload).submitForm({ doc: { filename: 'r "1".txt', content: 'line 1\nline 2', contentType: 'text/plain' } });
    const form = await new globalThis.Response(req.body, { headers: { 'content-type': req.headers['content-type']! } }).formData();
    expect(form.get('title')).toBe('a "b"');
    expect(form.get('notes')).toBe('x\r\ny');
    const doc = form.get('doc') as File;
    expect([doc.name, doc.type, await doc.text()]).toEqual(['r "1".txt', 'text/plain', 'line 1\nline 2']);
    const empty = form.get('empty') as File;
    expect([empty.name, empty.size]).toEqual(['', 0]);
  });

  it('the same submission has the same body (the boundary comes from the fields), so the frontier dedupes it', () => {
    const res = page(upload);
    const file = { filename: 'a.txt', content: 'A' };
    expect(res.submitForm({ doc: file }).body).toBe(res.submitForm({ doc: file }).body);
    expect(res.submitForm({ doc: file }).body).not.toBe(res.submitForm({ doc: { ...file, content: 'B' } }).body);
  });

  it('a file field given a string, or a file without content, is a FormError', () => {
    expect(() => page(upload).submitForm({ doc: 'a.txt' })).toThrow(`submitForm: field "doc" on ${PAGE} is a file input: give it as { filename, content } (a request's body cannot read a file by name)`);
    expect(() => page(upload).submitForm({ doc: { filename: 'a.txt' } as never })).toThrow(`submitForm: field "doc" on ${PAGE}: a file is { filename: string, content: string, contentType?: string }`);
    expect(() => page(upload).submitForm({ title: [2] as never })).toThrow(`submitForm: field "title" on ${PAGE}: a value is a string, a list of them, a file { filename, content } or null, not a number`);
  });

  it('text/plain: name=value lines', () => {
    const req = page('<form method=post enctype=TEXT/PLAIN><input name=a value="1 2"><input name=b value=3></form>').submitForm();
    expect([req.headers['content-type'], req.body]).toEqual(['text/plain;charset=UTF-8', 'a=1 2\r\nb=3\r\n']);
  });
});

describe('JSON', () => {
  it('new Request(url, { json }) POSTs the strict JSON with JSON headers, unless told otherwise', () => {
    const req = new Request('http://api.example/search', { json: { q: 'tea', since: new Date(0), skip: undefined } });
    expect([req.method, req.body]).toEqual(['POST', '{"q":"tea","since":"1970-01-01T00:00:00.000Z"}']);
    expect(req.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
    const own = new Request('http://api.example/search', { json: [1], method: 'put', headers: { Accept: 'application/vnd.api+json' } });
    expect([own.method, own.headers]).toEqual(['PUT', { Accept: 'application/vnd.api+json', 'content-type': 'application/json' }]);
  });

  it('a value JSON cannot hold fails with the field named; json and body together are refused', () => {
    expect(() => new Request('http://api.example/', { json: { filters: { max: 10n } } })).toThrow(new UnstorableValueError('json.filters.max', 'a BigInt cannot be stored as JSON; use a string (String(n)) or a number'));
    expect(() => new Request('http://api.example/', { json: {}, body: '{}' })).toThrow(UnstorableValueError);
  });

  it('res.json() parses the body, typed; a body that is not JSON is a NotJsonError naming the URL', () => {
    const ok = new Response({ url: 'http://api.example/x', status: 200, body: '{"items":[1,2]}' });
    expect(ok.json<{ items: number[] }>().items).toEqual([1, 2]);
    const html = new Response({ url: 'http://api.example/x', status: 200, headers: { 'content-type': 'text/html' }, body: '<html>' });
    expect(() => html.json()).toThrow(NotJsonError);
    expect(() => html.json()).toThrow(/^the body of http:\/\/api\.example\/x is not JSON \(content-type text\/html, status 200\): /);
  });
});
