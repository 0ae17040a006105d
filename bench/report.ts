// The one table a run prints (and bench/README.md keeps): one row per measured thing.

export interface Row {
  scenario: string;
  /** Successful requests per second (2xx only). */
  rps?: number;
  /** Latency percentiles in ms; for SSE rows the ADDED time to first event. */
  p50?: number;
  p99?: number;
  /** Throughput as a fraction of `baseline`, measured in the same run. */
  ratio?: number;
  baseline?: string;
  goal?: string;
  met?: boolean;
  /** Peak RSS of chatgate during the scenario, MiB. */
  rssMiB?: number;
  /** CPU cores chatgate used during the scenario (1.0 = one core). */
  cpu?: number;
  /** chatgate CPU time per request, µs: unlike req/s, barely moved by other load on the machine. */
  cpuUs?: number;
  note?: string;
}

const num = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? "" : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "" : Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(1));

const right = (i: number) => (i >= 1 && i <= 3) || (i >= 6 && i <= 8);

/** CPU µs per request from a load result (all answered requests, the work done). */
export const cpuUsPerRequest = (r: { cpuSeconds?: number; total: number }) => (r.cpuSeconds === undefined || r.total === 0 ? undefined : (r.cpuSeconds * 1e6) / r.total);

export function renderTable(rows: Row[]): string {
  const header = ["scenario", "req/s", "p50 ms", "p99 ms", "ratio", "goal", "RSS MiB", "CPU", "CPU µs/req", "note"];
  const body = rows.map((r) => [
    r.scenario,
    num(r.rps),
    ms(r.p50),
    ms(r.p99),
    r.ratio === undefined ? "" : `${(r.ratio * 100).toFixed(0)}% of ${r.baseline ?? "?"}`,
    r.goal === undefined ? "" : `${r.goal} ${r.met === undefined ? "" : r.met ? "✓" : "✗"}`.trim(),
    num(r.rssMiB),
    num(r.cpu, 2),
    num(r.cpuUs, 1),
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (right(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...body.map(line)].join("\n");
}

/** One line per scenario, one column per database: the ratio (with CPU µs/req) or p50/p99. */
export function renderComparison(results: { label: string; rows: Row[] }[]): string {
  const names: string[] = [];
  for (const r of results) for (const row of r.rows) if (!names.includes(row.scenario)) names.push(row.scenario);
  const cell = (row: Row | undefined): string => {
    if (!row) return "—";
    if (row.ratio !== undefined)
      return `${(row.ratio * 100).toFixed(0)}%${row.cpuUs === undefined ? "" : ` (${row.cpuUs.toFixed(1)} µs)`}${row.met === undefined ? "" : row.met ? " ✓" : " ✗"}`;
    if (row.p50 !== undefined)
      return `p50 ${ms(row.p50)} / p99 ${ms(row.p99)} ms${row.rps === undefined ? "" : `, ${num(row.rps)}/s`}${row.met === undefined ? "" : row.met ? " ✓" : " ✗"}`;
    if (row.rps !== undefined) return `${num(row.rps)}/s`;
    return row.note ?? "";
  };
  const header = ["row", ...results.map((r) => r.label), "goal"];
  const body = names.map((n) => {
    const rows = results.map((r) => r.rows.find((x) => x.scenario === n));
    return [n, ...rows.map(cell), rows.find((x) => x?.goal)?.goal ?? ""];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}
