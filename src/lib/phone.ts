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
