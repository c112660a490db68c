/**
 * A strict RFC 4180 parser for checking exported CSV: records end with CRLF,
 * fields with a comma, quote, CR or LF are quoted, and a quote inside a quoted
 * field is doubled. Anything else (a bare LF between records, a stray quote
 * in an unquoted field, text after a closing quote) throws.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    // One field.
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new Error('CSV: unterminated quoted field');
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
    } else {
      while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`CSV: quote inside an unquoted field at offset ${i}`);
        field += text[i];
        i++;
      }
    }
    row.push(field);
    // What follows a field: a comma, a CRLF record end, or the end of the text.
    if (i >= n) {
      rows.push(row);
      return rows;
    }
    const c = text[i];
    if (c === ',') {
      i++;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') {
      i += 2;
      rows.push(row);
      row = [];
      if (i >= n) return rows;
      continue;
    }
    throw new Error(`CSV: expected , or CRLF at offset ${i}, found ${JSON.stringify(text.slice(i, i + 10))}`);
  }
}
