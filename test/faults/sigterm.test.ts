// A real chatgate process sent SIGTERM while SSE predictions stream: each stream either finishes
// or ends with an error frame within the grace period, and the process exits 0. Also over the
// real socket: a chunked body past MAX_BODY_BYTES (no Content-Length to check up front) is 413.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";
import { adminToken, call, startInstance, type Instance } from "../multi/instances";

const FLOWISE_KEY = "flowise-key-sigterm";
const SLOW = "5b0c2d1e-3f4a-4b5c-8d6e-7f8091a2b3c4";
const QUICK = "6c1d3e2f-4a5b-4c6d-9e7f-8091a2b3c4d5";
const GRACE_SEC = 2;

let flowise: FlowiseDouble;
let dir: string;

beforeAll(async () => {
  flowise = await startFlowiseDouble({
    apiKey: FLOWISE_KEY,
    chatflows: [
      { id: SLOW, name: "slow" },
      { id: QUICK, name: "quick" },
    ],
    heartbeatMs: 0,
  });
  // Far longer than the grace period, and one that ends well inside it.
  flowise.setAnswer({ tokenCount: 60, delayMs: 150 }, SLOW);
  flowise.setAnswer({ tokenCount: 4, delayMs: 100 }, QUICK);
  dir = mkdtempSync(join(tmpdir(), "chatgate-sigterm-"));
});

afterAll(async () => {
  await flowise?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Record<string, string> = {}): Promise<{ app: Instance; token: string }> {
  const app = await startInstance({
    DATA_DIR: join(dir, `db-${crypto.randomUUID()}`),
    FLOWISE_URL: flowise.url,
    FLOWISE_API_KEY: FLOWISE_KEY,
    SHUTDOWN_GRACE: String(GRACE_SEC),
    ...extra,
  });
  const token = await adminToken(app.base);
  for (const id of [SLOW, QUICK]) await call(app.base, "POST", "/api/admin/chatflows", token, { id, name: id.slice(0, 8), cost: 1 });
  const me = await call(app.base, "GET", "/api/auth/me", token);
  await call(app.base, "POST", `/api/admin/users/${me.id}/credits`, token, { amount: 100, reason: "sigterm test" });
  return { app, token };
}

/** Reads a stream to its end (or failure); resolves with its text and when it ended. */
async function readStream(res: Response): Promise<{ text: string; endedAt: number; broken: boolean }> {
  const decoder = new TextDecoder();
  let text = "";
  let broken = false;
  try {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  } catch {
    broken = true;
  }
  return { text, endedAt: Date.now(), broken };
}

const hasEvent = (text: string, event: string) => text.includes(`"event":"${event}"`);

describe("SIGTERM with open streams", () => {
  test("every stream finishes or ends with an error frame within the grace period; exit code 0", async () => {
    const { app, token } = await start();
    try {
      const open = await Promise.all(
        [SLOW, SLOW, QUICK].map((id) =>
          fetch(`${app.base}/api/v1/chat/predict`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ chatflow_id: id, question: "long answer please", streaming: true }),
          }),
        ),
      );
      for (const res of open) expect(res.status).toBe(200);
      const reading = open.map(readStream);
      await Bun.sleep(300); // the streams have started
      const signalled = Date.now();
      app.proc.kill("SIGTERM");
      const streams = await Promise.all(reading);
      const code = await app.exited;
      const exitMs = Date.now() - signalled;
      console.log(`sigterm: exit ${code} after ${exitMs} ms; streams ended after ${streams.map((s) => s.endedAt - signalled).join(", ")} ms`);
      expect(code).toBe(0);
      expect(exitMs).toBeLessThan(GRACE_SEC * 1000 + 5000);
      for (const s of streams) {
        expect(s.endedAt - signalled).toBeLessThan(GRACE_SEC * 1000 + 2000);
        const finished = hasEvent(s.text, "end") && !hasEvent(s.text, "error");
        const errorFramed = hasEvent(s.text, "error") && s.text.indexOf('"event":"error"') < s.text.lastIndexOf('"event":"end"');
        expect({ finished, errorFramed, broken: s.broken, tail: s.text.slice(-160) }).toMatchObject(
          finished ? { finished: true, broken: false } : { errorFramed: true, broken: false },
        );
      }
      // The quick one had time to finish normally.
      expect(hasEvent(streams[2]!.text, "end") && !hasEvent(streams[2]!.text, "error")).toBe(true);
    } finally {
      await app.stop();
    }
  }, 60_000);

  test("a chunked body past MAX_BODY_BYTES over the socket is 413, and the process keeps serving", async () => {
    const { app } = await start({ MAX_BODY_BYTES: "4096" });
    try {
      const big = new TextEncoder().encode(JSON.stringify({ username: "x".repeat(20_000), password: "y" }));
      // A stream body is sent chunked: no Content-Length for the up-front check to read.
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < big.length; i += 1024) c.enqueue(big.slice(i, i + 1024));
          c.close();
        },
      });
      const res = await fetch(`${app.base}/api/v1/chat/authenticate`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status).toBe(413);
      expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
    } finally {
      await app.stop();
    }
  }, 60_000);
});
