import { normalizePhone } from "./phone.ts";

/**
 * Search keys stored on customers_v2 (written on every write, back-filled by migration 006)
 * so that indexes serve phone and name prefix searches without regular expressions.
 */

/** The key `name_search` holds: trimmed, inner whitespace collapsed, Unicode-normalized, lowercased. */
export function nameSearchKey(name: unknown): string {
  return typeof name === "string" ? name.normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase() : "";
}

/** The key `phone_search` holds: the normalized phone, or null when it is not valid. */
export function phoneSearchKey(phone: unknown): string | null {
  return normalizePhone(phone);
}

/**
 * A typed phone prefix as digits, for matching the start of a normalized number: separators
 * dropped, a leading +91 dropped (and a leading 0 or 91 when what remains is a full number).
 * Null when `q` is not phone-like (then it is a name prefix).
 */
export function phonePrefix(q: string): string | null {
  const compact = q.replace(/[\s\-()]/g, "");
  if (!/^\+?\d+$/.test(compact)) return null;
  const full = normalizePhone(compact);
  if (full !== null) return full;
  let digits = compact.startsWith("+91") ? compact.slice(3) : compact.replace(/^\+/, "");
  if (digits.length > 10 && digits.startsWith("91")) digits = digits.slice(2);
  return digits.length > 0 && digits.length <= 10 ? digits : null;
}

/** The exclusive upper bound of all strings starting with `prefix` (for an index range). */
export function prefixUpperBound(prefix: string): string {
  return `${prefix}\uffff`;
}

/** What a list cursor remembers: the sort key of the last item returned and its `id`. */
export interface ListCursor {
  /** The value of the search field (`phone_search` or `name_search`), absent for the plain listing. */
  k?: string;
  /** The `id` of the last item returned. */
  i: string;
}

export function encodeCursor(cursor: ListCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Null when the text is not a cursor this API issued (the route answers 422). */
export function decodeCursor(text: string): ListCursor | null {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    if (typeof value !== "object" || value === null) return null;
    const { k, i } = value as { k?: unknown; i?: unknown };
    if (typeof i !== "string" || i.length === 0 || i.length > 100) return null;
    if (k !== undefined && (typeof k !== "string" || k.length > 400)) return null;
    return k === undefined ? { i } : { k, i };
  } catch {
    return null;
  }
}
