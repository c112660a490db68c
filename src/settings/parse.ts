import { z } from 'zod';
import { checkLayer, leafSchema, unknownSetting } from './schema.js';

/** A number as `-s` takes it: decimal (`1500`, `0.5`, `1e3`), never hex, octal or binary (`0x10` is not 16). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** `-s` text as the type its schema wants; text that is not one is left for the schema to refuse, quoted. */
function typed(schema: z.ZodType, text: string): unknown {
  // A list read further (`proxies`, `userAgents`: their files expanded) is typed as the list it starts from.
  if (schema instanceof z.ZodPipe) return typed(schema.in as z.ZodType, text);
  if (schema instanceof z.ZodNumber) return DECIMAL.test(text.trim()) ? Number(text) : NaN;
  if (schema instanceof z.ZodBoolean) {
    if (/^(true|1|yes|on)$/i.test(text)) return true;
    if (/^(false|0|no|off)$/i.test(text)) return false;
    return text;
  }
  if (schema instanceof z.ZodArray) {
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    return schema.element instanceof z.ZodNumber ? items.map((s) => (DECIMAL.test(s) ? Number(s) : NaN)) : items;
  }
  return text;
}

/**
 * Parses the text of `-s key=value` into the type the setting's schema wants
 * (`4`, `true`, `a.com,b.org`, `429,503`) and checks it.
 * @throws {@link ConfigError} naming the key, and quoting the text, when either is bad.
 */
export function parseSettingValue(key: string, text: string): unknown {
  const schema = leafSchema(key);
  if (!schema) throw unknownSetting(key);
  const value = typed(schema, text);
  checkLayer({ [key]: value }, text);
  return value;
}
