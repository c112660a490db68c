/** Options of {@link toCsv}. */
export interface CsvOptions {
  /** Column order; items' other fields are dropped. */
  columns: string[];
  /**
   * Prefix cells that start with = + - @ (or a tab or CR) with a quote, so a
   * spreadsheet shows scraped text instead of running it as a formula. On by default.
   */
  safe?: boolean;
  /** Start with a UTF-8 byte-order mark, which Excel needs to read UTF-8. On by default. */
  bom?: boolean;
}

const formulaStart = /^[=+\-@\t\r]/;

function cell(value: unknown, safe: boolean): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'string') text = safe && formulaStart.test(value) ? `'${value}` : value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  // Lists and objects as JSON: unambiguous (a tag may hold a comma) and read back by any JSON parser.
  else text = JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header line (after a BOM unless `bom` is false). */
export const csvHeader = (options: CsvOptions): string => `${options.bom === false ? '' : '\uFEFF'}${options.columns.map((c) => cell(c, false)).join(',')}\r\n`;

/** One item's line. */
export const csvRow = (item: Record<string, unknown>, options: CsvOptions): string =>
  `${options.columns.map((c) => cell(item[c], options.safe ?? true)).join(',')}\r\n`;

/** RFC 4180 CSV (CRLF line ends), one row per item, nested values as JSON. */
export async function* toCsv(items: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>, options: CsvOptions): AsyncGenerator<string> {
  yield csvHeader(options);
  for await (const item of items) yield csvRow(item, options);
}
