// ISO 8601 instants taken from query strings and bodies. JavaScript's Date takes more than
// Postgres stores: February 30 (as March 2), the year 0 and, after an offset, the year 10000
// (which toISOString writes as "+010000-…"); each of those was a 500 once it reached SQL.

const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):?(\d{2})))?$/;

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the instants both JavaScript and Postgres write and read alike. */
export const FIRST_INSTANT_MS = new Date(0).setUTCFullYear(1, 0, 1);
export const LAST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether an instant (epoch ms) is one a timestamptz stores and gives back unchanged. */
export const storableInstant = (ms: number) => Number.isFinite(ms) && ms >= FIRST_INSTANT_MS && ms <= LAST_INSTANT_MS;

/**
 * A date (UTC midnight) or a date-time with `Z` or an offset, checked against the calendar and
 * the clock; undefined when it is neither. The result may still be outside storableInstant.
 */
export function parseInstant(value: string): number | undefined {
  const m = INSTANT.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number, number, number];
  const days = mo >= 1 && mo <= 12 ? DAYS[mo - 1]! + (mo === 2 && leap(y) ? 1 : 0) : 0;
  if (d < 1 || d > days || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  const ms = Date.parse(m[4] === undefined ? `${value}T00:00:00Z` : value);
  return Number.isFinite(ms) ? ms : undefined;
}
