// Just enough TOML to write authgate's config: strings, numbers, booleans,
// arrays of those, inline tables, tables and arrays of tables.
function value(v) {
  if (typeof v === 'string') return JSON.stringify(v); // a JSON string is a valid TOML basic string (ASCII)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{ ${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${key(k)} = ${value(x)}`)
      .join(', ')} }`;
  }
  throw new Error(`cannot write ${typeof v} as TOML`);
}

function key(k) {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

const isTable = (v) => v && typeof v === 'object' && !Array.isArray(v);
const isTableArray = (v) => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** Top-level scalars first, then [tables], then [[arrays of tables]]. */
export function toToml(obj) {
  const lines = [];
  const later = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (isTable(v) || isTableArray(v)) later.push([k, v]);
    else lines.push(`${key(k)} = ${value(v)}`);
  }
  for (const [k, v] of later) {
    const tables = Array.isArray(v) ? v : [v];
    for (const t of tables) {
      lines.push('', Array.isArray(v) ? `[[${key(k)}]]` : `[${key(k)}]`);
      for (const [tk, tv] of Object.entries(t)) {
        if (tv !== undefined) lines.push(`${key(tk)} = ${value(tv)}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}
