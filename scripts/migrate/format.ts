import type { RunReport } from "./runner.ts";

const HUMAN_LIST_LIMIT = 25;

function renderValue(key: string, value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    out.push(`${indent}${key}: ${value.length === 0 ? "none" : `${value.length}`}`);
    for (const item of value.slice(0, HUMAN_LIST_LIMIT))
      out.push(`${indent}  - ${typeof item === "string" ? item : JSON.stringify(item)}`);
    if (value.length > HUMAN_LIST_LIMIT) out.push(`${indent}  … ${value.length - HUMAN_LIST_LIMIT} more (see --json)`);
  } else if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    out.push(`${indent}${key}:`);
    for (const [k, v] of Object.entries(value)) renderValue(k, v, `${indent}  `, out);
  } else {
    out.push(`${indent}${key}: ${value instanceof Date ? value.toISOString() : String(value)}`);
  }
}

/** The report as text for a person at a terminal (--json prints the report itself). */
export function formatReport(report: RunReport): string {
  const out: string[] = [];
  if (report.status) {
    out.push(`database ${report.database}`);
    const width = Math.max(...report.status.map((s) => s.id.length), 10);
    for (const s of report.status) {
      const when = s.applied_at ? `${s.applied_at} (${s.duration_ms} ms)` : "";
      const flag = s.checksum === "mismatch" ? "  CHANGED SINCE APPLIED" : s.checksum === "missing_file" ? "  FILE MISSING" : "";
      out.push(`  ${s.id.padEnd(width)}  ${s.state.padEnd(7)}  ${when}${flag}`);
    }
    out.push(
      report.lock ? `lock: held by ${report.lock.owner} (${report.lock.command}) until ${report.lock.expires_at}` : "lock: free",
    );
  }
  for (const m of report.migrations) {
    out.push(`${m.id}: ${m.action.replace("_", " ")} (${m.duration_ms} ms)`);
    if (m.summary) for (const [k, v] of Object.entries(m.summary)) renderValue(k, v, "  ", out);
    if (m.details !== undefined) renderValue("details", m.details, "  ", out);
  }
  out.push(`${report.outcome === "ok" ? "" : `${report.outcome.toUpperCase()}: `}${report.message}`);
  return out.join("\n");
}
