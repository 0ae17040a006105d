// Malformed HTTP on a real socket (what no fetch client sends): each is refused or dropped, never a
// 5xx, and the server keeps answering. Plus fast-check: random bytes as a request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await makeApp({ MAX_BODY_BYTES: "4096" });
  t.app.listen({ port: 0, hostname: "127.0.0.1", maxRequestBodySize: 4096 });
  port = t.app.server!.port!;
}, 60_000);

afterAll(async () => {
  await t?.app.stop(true);
  await t?.close();
});

/** Writes raw bytes, reads whatever comes back until the server closes or 1.5 s pass. */
async function raw(bytes: string | Uint8Array): Promise<string> {
  let out = "";
  const { promise, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        out += Buffer.from(chunk).toString("latin1");
      },
      close() {
        resolve();
      },
      error() {
        resolve();
      },
    },
  });
  socket.write(bytes);
  const timer = setTimeout(() => {
    socket.end();
    resolve();
  }, 1500);
  await promise;
  clearTimeout(timer);
  return out;
}

const statusOf = (response: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 0);

// Bun's own HTTP parser answers a request line it cannot parse (a NUL in it, say) with
// "505 HTTP Version Not Supported" and closes, before any chatgate code runs. That is a refusal,
// not a fault; every other 5xx is.
const refusedOrServed = (status: number) => status < 500 || status === 505;

async function stillServing(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(res.status).toBe(200);
}

const CASES: [string, string | Uint8Array][] = [
  ["garbage", "\x00\x01\x02 not http at all\r\n\r\n"],
  ["HTTP/2 preface on HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
  ["NUL in the request line", "GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["100 KB request line", `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ["5000 headers", `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`],
  ["header without colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n"],
  ["bad chunked encoding", "POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"],
  [
    "chunked past the limit",
    `POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n${"a".repeat(4096)}\r\n1000\r\n${"a".repeat(4096)}\r\n0\r\n\r\n`,
  ],
  [
    "Content-Length and chunked together",
    "POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
  ],
  ["two Content-Lengths", "POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"],
  ["negative Content-Length", "POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}"],
  ["body shorter than Content-Length, then close", 'POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user'],
  ["pipelined requests", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["absolute-form URL to another host", "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"],
];

describe("malformed HTTP on the socket", () => {
  for (const [name, bytes] of CASES) {
    test(`${name}: refused or dropped, never a 5xx; the server keeps serving`, async () => {
      const response = await raw(bytes);
      const status = statusOf(response);
      expect(refusedOrServed(status)).toBe(true);
      await stillServing();
    });
  }

  test("random bytes (fast-check): never a 5xx, the server keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom("", "GET / HTTP/1.1\r\n", "POST /api/v1/chat/authenticate HTTP/1.1\r\nHost: x\r\n"),
        async (bytes, prefix) => {
          const response = await raw(Buffer.concat([Buffer.from(prefix, "latin1"), Buffer.from(bytes)]));
          return refusedOrServed(statusOf(response));
        },
      ),
      { numRuns: 20 },
    );
    await stillServing();
  }, 60_000);
});
