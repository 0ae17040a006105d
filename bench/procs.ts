// Every process the bench starts is registered here, so a failure, Ctrl-C or a normal end stops
// all of them (by pid, each started by us) and nothing keeps running after the bench.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Subprocess } from "bun";

export interface Started {
  name: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote, for error messages when it dies or never gets ready. */
  output(): string;
  /** Its standard output only. */
  stdout(): string;
  stop(): Promise<void>;
  /** Settles when both output pipes reached their end. */
  drained: Promise<unknown>;
}

const live = new Set<Started>();

export function spawnTracked(name: string, cmd: string[], env: Record<string, string>, cwd?: string): Started {
  const proc = Bun.spawn(cmd, { env, cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "";
  let out = "";
  const drain = async (stream: ReadableStream<Uint8Array>, isOut: boolean) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const s = decoder.decode(value, { stream: true });
      text += s;
      if (isOut) out += s;
      if (text.length > 64_000) text = text.slice(-32_000);
      if (out.length > 1_000_000) out = out.slice(-500_000);
    }
  };
  const drained = Promise.all([drain(proc.stdout, true), drain(proc.stderr, false)]);
  const started: Started = {
    name,
    proc,
    output: () => text,
    stdout: () => out,
    drained,
    async stop() {
      live.delete(started);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
  live.add(started);
  return started;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop().catch(() => {})));
}

/** Synchronous last resort for process "exit": SIGKILL whatever is still registered. */
export function killAllNow(): void {
  for (const p of live) {
    try {
      p.proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** A free loopback port: bind to 0, read it, release it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size in MiB from /proc (Linux), or undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds the process has used so far (Linux /proc, 100 ticks a second). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Samples RSS every `everyMs` until stopped; returns the highest sample. */
export function sampleRss(pid: number, everyMs = 200): () => number | undefined {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    const now = rssMiB(pid);
    if (now !== undefined && (peak === undefined || now > peak)) peak = now;
  }, everyMs);
  return () => {
    clearInterval(timer);
    const last = rssMiB(pid);
    return last !== undefined && (peak === undefined || last > peak) ? last : peak;
  };
}

/** Polls `url` until it answers 2xx; throws with the process output when it dies or times out. */
export async function waitReady(url: string, p: Started, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (p.proc.exitCode !== null) throw new Error(`${p.name} exited with ${p.proc.exitCode}:\n${p.output().slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await Bun.sleep(10);
  }
  throw new Error(`${p.name} not ready at ${url} within ${timeoutMs} ms:\n${p.output().slice(-2000)}`);
}

/** A small environment for children: no DATABASE_URL or other settings leak in from the shell. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k]) env[k] = process.env[k]!;
  return { ...env, ...extra };
}
