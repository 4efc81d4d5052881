/**
 * Indian mobile numbers, as the legacy system accepts them: strip spaces, dashes and parentheses; drop a leading
 * `+91`, else `91` when 12 digits remain, else `0` when 11 digits remain. Valid numbers
 * are exactly 10 digits starting with 6-9. Returns null for anything else.
 */
export function normalizePhone(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  let digits = raw.replace(/[\s\-()]/g, "");
  if (digits.startsWith("+91")) digits = digits.slice(3);
  else if (digits.length === 12 && digits.startsWith("91")) digits = digits.slice(2);
  else if (digits.length === 11 && digits.startsWith("0")) digits = digits.slice(1);
  return /^[6-9]\d{9}$/.test(digits) ? digits : null;
}

/**
 * A regex matching every stored spelling of a normalized number (separators anywhere, an
 * optional +91 / 91 / 0 prefix), for finding legacy documents whose phone was never
 * rewritten. Callers still confirm each hit with normalizePhone().
 */
export function phoneRegex(normalized: string): RegExp {
  const sep = "[\\s()\\-]*";
  const digits = normalized.split("").join(sep);
  return new RegExp(`^${sep}(?:\\+?${sep}9${sep}1|0)?${sep}${digits}${sep}$`);
}
