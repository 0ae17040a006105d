// Which Postgres the bench uses: BENCH_DATABASE_URL, else the local test database when it answers.
// Loopback only, as the tests: the bench sends load, never to another machine.
import net from "node:net";

export const LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/test";
const LOOPBACK = ["127.0.0.1", "localhost", "::1", "[::1]"];

export type BenchDatabase = { url: string; source: string; why?: undefined } | { url?: undefined; source?: undefined; why: string };

function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function benchDatabaseUrl(): Promise<BenchDatabase> {
  const given = process.env.BENCH_DATABASE_URL;
  const url = given || LOCAL_POSTGRES;
  const u = new URL(url);
  if (!LOOPBACK.includes(u.hostname)) return { why: `BENCH_DATABASE_URL must point at loopback, not ${u.hostname}` };
  const port = Number(u.port || 5432);
  if (!(await reachable(u.hostname.replace(/^\[|\]$/g, ""), port))) return { why: `${u.hostname}:${port} does not answer${given ? "" : " (set BENCH_DATABASE_URL)"}` };
  return { url, source: given ? "BENCH_DATABASE_URL" : `local ${u.host}${u.pathname}` };
}
