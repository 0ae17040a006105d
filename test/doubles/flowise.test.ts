import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type FlowiseDouble, UNAUTHORIZED_BODY, parseFlowiseSse, sseFrame, startFlowiseDouble } from "./flowise.ts";

const KEY = "flowise-test-key";
const FLOWS = [
  { id: "cf-a", name: "Flow A", deployed: true },
  { id: "cf-b", name: "Flow B" },
];
let d: FlowiseDouble;

beforeAll(async () => {
  d = await startFlowiseDouble({ apiKey: KEY, chatflows: FLOWS, heartbeatMs: 0 });
});
afterEach(async () => {
  await d.reset();
});
afterAll(async () => {
  await d.stop();
});

function predict(body: Record<string, unknown>, opts: { id?: string; key?: string | null; signal?: AbortSignal; base?: string } = {}) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (opts.key !== null) headers.Authorization = `Bearer ${opts.key ?? KEY}`;
  return fetch(`${opts.base ?? d.url}/api/v1/prediction/${opts.id ?? "cf-a"}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal: opts.signal,
  });
}
const streamBody = (question = "hi") => ({ question, streaming: true, chatId: "chat-1" });

describe("prediction answers", () => {
  test("non-streaming JSON answer like buildChatflow, and the request is recorded", async () => {
    const docs = [{ pageContent: "doc text", metadata: { source: "a.pdf" } }];
    d.setAnswer({ tokens: ["Hello", " world"], sourceDocuments: docs });
    const sent = { question: "What?", streaming: false, chatId: "c-42", overrideConfig: { temperature: 0.1 } };
    const res = await predict(sent);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    const json = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["text", "sourceDocuments", "question", "chatId", "chatMessageId", "sessionId"]);
    expect(json).toMatchObject({ text: "Hello world", question: "What?", chatId: "c-42", sessionId: "c-42", sourceDocuments: docs });
    expect(json.chatMessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.calls.prediction).toBe(1);
    const rec = d.lastRequest("prediction");
    expect(rec?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(rec?.body).toEqual(sent);
    expect(rec?.chatflowId).toBe("cf-a");
  });

  test("chatId falls back to overrideConfig.sessionId; no sourceDocuments unless configured", async () => {
    const res = await predict({ question: "q", overrideConfig: { sessionId: "sess-9" } });
    const json = (await res.json()) as Record<string, unknown>;
    expect(json.chatId).toBe("sess-9");
    expect(json.sessionId).toBe("sess-9");
    expect("sourceDocuments" in json).toBe(false);
  });

  test('SSE stream is byte-exact Flowise 3.1.2 framing with its headers: start carries ""', async () => {
    const docs = [{ pageContent: "p", metadata: {} }];
    d.setAnswer({ tokens: ["Hi", " there"], chatMessageId: "msg-1", sourceDocuments: docs });
    const res = await predict(streamBody("hello"));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const expected =
      'message:\ndata:{"event":"start","data":""}\n\n' +
      'message:\ndata:{"event":"token","data":"Hi"}\n\n' +
      'message:\ndata:{"event":"token","data":" there"}\n\n' +
      'message:\ndata:{"event":"sourceDocuments","data":[{"pageContent":"p","metadata":{}}]}\n\n' +
      'message:\ndata:{"event":"metadata","data":{"chatId":"chat-1","chatMessageId":"msg-1","question":"hello","sessionId":"chat-1"}}\n\n' +
      'message:\ndata:{"event":"end","data":"[DONE]"}\n\n';
    expect(await res.text()).toBe(expected);
    expect(d.stats.streamsCompleted).toBe(1);
  });

  test("200-token answer at 0 ms streams every token", async () => {
    d.setAnswer({ tokenCount: 200 });
    const { events } = parseFlowiseSse(await (await predict(streamBody())).text());
    const tokens = events.filter((e) => e.event === "token").map((e) => e.data);
    expect(tokens).toHaveLength(200);
    expect(tokens[199]).toBe("tok199 ");
    expect(events.at(-1)).toEqual({ event: "end", data: "[DONE]" });
  });

  test("frames are flushed: the first arrives before the last is written", async () => {
    d.setAnswer({ tokens: ["a", "b", "c"], delayMs: 150 });
    const res = await predict(streamBody());
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toStartWith('message:\ndata:{"event":"start"');
    expect(d.stats.streamsCompleted).toBe(0);
    expect(d.stats.framesWritten).toBeLessThan(6);
    while (!(await reader.read()).done) {
      /* drain */
    }
    expect(d.stats.streamsCompleted).toBe(1);
  });

  test("per-chatflow answers and a non-streamable flow answering JSON", async () => {
    d.setAnswer({ tokens: ["B!"] }, "cf-b");
    const b = (await (await predict({ question: "x" }, { id: "cf-b" })).json()) as { text: string };
    const a = (await (await predict({ question: "x" })).json()) as { text: string };
    expect(b.text).toBe("B!");
    expect(a.text).toBe("tok0 tok1 tok2 ");
    const nd = await startFlowiseDouble({ apiKey: KEY, chatflows: [{ id: "f", name: "F", streamable: false }] });
    try {
      const res = await predict(streamBody(), { id: "f", base: nd.url });
      expect(res.headers.get("content-type")).toStartWith("application/json");
    } finally {
      await nd.stop();
    }
  });

  test("heartbeat comments and legacy framing", async () => {
    const hd = await startFlowiseDouble({ apiKey: KEY, chatflows: FLOWS, heartbeatMs: 20, framing: "legacy", answer: { tokens: ["x", "y"], delayMs: 80 } });
    try {
      const text = await (await predict(streamBody(), { base: hd.url })).text();
      expect(text).toContain(":heartbeat\n\n");
      expect(text.endsWith('message\ndata:{"event":"end","data":"[DONE]"}\n\n')).toBe(true);
      const parsed = parseFlowiseSse(text);
      expect(parsed.heartbeats).toBeGreaterThan(0);
      expect(parsed.events.map((e) => e.event)).toEqual(["start", "token", "token", "metadata", "end"]);
    } finally {
      await hd.stop();
    }
    expect(sseFrame("error", "boom", "legacy")).toBe('message\ndata:{"event":"error","data":"boom"}\n\n');
  });
});

describe("routes and auth", () => {
  test("GET /api/v1/chatflows lists Flowise-shaped chatflows", async () => {
    const res = await fetch(`${d.url}/api/v1/chatflows`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    const list = (await res.json()) as Record<string, unknown>[];
    expect(list.map((c) => [c.id, c.name, c.deployed, c.isPublic])).toEqual([
      ["cf-a", "Flow A", true, false],
      ["cf-b", "Flow B", false, false],
    ]);
    expect(Number.isNaN(Date.parse(String(list[0]?.createdDate)))).toBe(false);
    expect(d.calls.chatflows).toBe(1);
  });

  test("missing or wrong key gives the 401 shape on every route", async () => {
    for (const res of [
      await predict(streamBody(), { key: null }),
      await predict(streamBody(), { key: "wrong" }),
      await fetch(`${d.url}/api/v1/chatflows`),
      await fetch(`${d.url}/api/v1/chatflows`, { headers: { Authorization: KEY } }),
    ]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ ...UNAUTHORIZED_BODY });
    }
    expect(UNAUTHORIZED_BODY).toEqual({ statusCode: 401, success: false, message: "Unauthorized" });
    expect(d.calls.prediction).toBe(2);
    expect(d.lastRequest("prediction")?.headers.authorization).toBe("Bearer wrong");
  });

  test("unknown chatflow: 404 in Flowise's error shape; when streaming, no answer at all (Flowise 3.1.2 hangs)", async () => {
    const res = await predict({ question: "q" }, { id: "nope" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ statusCode: 404, success: false, message: "Chatflow nope not found", stack: {} });
    const ac = new AbortController();
    const hanging = predict(streamBody(), { id: "nope", signal: ac.signal }).then(
      () => "answered",
      () => "no answer",
    );
    while (d.stats.hung === 0) await Bun.sleep(5);
    const settledEarly = await Promise.race([hanging, Bun.sleep(200).then(() => "still waiting")]);
    ac.abort();
    expect(settledEarly).toBe("still waiting");
    expect(await hanging).toBe("no answer");
  });
});

describe("faults", () => {
  test("refuse closes the listener; clearing it listens again on the same url", async () => {
    await d.setFault({ kind: "refuse" });
    const err = await predict(streamBody()).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe("ECONNREFUSED");
    await d.setFault(null);
    expect((await predict({ question: "back" })).status).toBe(200);
  });

  test("delayFirstByte holds even the headers", async () => {
    await d.setFault({ kind: "delayFirstByte", ms: 400 });
    const early = await predict(streamBody(), { signal: AbortSignal.timeout(100) }).then(
      () => "answered",
      () => "timed out",
    );
    expect(early).toBe("timed out");
    const t0 = performance.now();
    const res = await predict(streamBody());
    expect(performance.now() - t0).toBeGreaterThan(300);
    expect(parseFlowiseSse(await res.text()).events.at(-1)?.event).toBe("end");
  });

  test("slowDrip spaces the events", async () => {
    await d.setFault({ kind: "slowDrip", ms: 60 });
    const t0 = performance.now();
    const { events } = parseFlowiseSse(await (await predict(streamBody())).text());
    expect(events).toHaveLength(6); // start, 3 tokens, metadata, end
    expect(performance.now() - t0).toBeGreaterThan(250);
  });

  test("dropMidStream destroys the socket after N frames, not counted as a client abort", async () => {
    await d.setFault({ kind: "dropMidStream", afterEvents: 2 });
    const res = await predict(streamBody());
    const reader = res.body!.getReader();
    let text = "";
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "clean end";
        text += new TextDecoder().decode(value);
      }
    })().catch(() => "socket error");
    expect(outcome).toBe("socket error");
    expect(parseFlowiseSse(text).events.map((e) => e.event)).toEqual(["start", "token"]);
    const json = await predict({ question: "q" })
      .then((r) => r.json())
      .then(
        () => "parsed",
        () => "failed",
      );
    expect(json).toBe("failed"); // non-streaming: half the body, then the socket is destroyed
    expect(d.stats.drops).toBe(2);
    expect(d.aborts).toBe(0);
  });

  test("errorFrame sends error then end (JSON: 500)", async () => {
    await d.setFault({ kind: "errorFrame", message: "LLM exploded", afterTokens: 1 }, "cf-a");
    const { events } = parseFlowiseSse(await (await predict(streamBody())).text());
    expect(events).toEqual([
      { event: "start", data: "" },
      { event: "token", data: "tok0 " },
      { event: "error", data: "LLM exploded" },
      { event: "end", data: "[DONE]" },
    ]);
    const res = await predict({ question: "q" });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ statusCode: 500, success: false, message: "LLM exploded", stack: {} });
    expect((await predict({ question: "q" }, { id: "cf-b" })).status).toBe(200); // fault scoped to cf-a
    await d.setFault({ kind: "errorFrame", message: "timeout", afterStart: true }, "cf-a");
    expect(parseFlowiseSse(await (await predict(streamBody())).text()).events).toEqual([
      { event: "start", data: "" },
      { event: "error", data: "timeout" },
      { event: "end", data: "[DONE]" },
    ]);
  });

  test("html answers 200 text/html garbage", async () => {
    await d.setFault({ kind: "html" });
    const res = await predict(streamBody());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const text = await res.text();
    expect(text).toStartWith("<!DOCTYPE html>");
    expect(() => JSON.parse(text)).toThrow();
  });

  test("status500 and status429 with Retry-After", async () => {
    await d.setFault({ kind: "status500" });
    const r500 = await predict(streamBody());
    expect(r500.status).toBe(500);
    expect(await r500.json()).toMatchObject({ statusCode: 500, success: false });
    await d.setFault({ kind: "status429", retryAfterSeconds: 7 });
    const r429 = await predict(streamBody());
    expect(r429.status).toBe(429);
    expect(r429.headers.get("retry-after")).toBe("7");
    expect(await r429.text()).toContain("Too many requests");
  });

  test("jsonWhenStreaming answers JSON although streaming was asked", async () => {
    await d.setFault({ kind: "jsonWhenStreaming" });
    const res = await predict(streamBody("q"));
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toMatchObject({ text: "tok0 tok1 tok2 ", question: "q", chatId: "chat-1" });
  });

  test("reset clears faults and counters", async () => {
    await d.setFault({ kind: "status500" });
    await predict(streamBody());
    await d.reset();
    expect(d.calls.prediction).toBe(0);
    expect(d.requests).toHaveLength(0);
    expect((await predict({ question: "q" })).status).toBe(200);
  });
});

describe("abort detection", () => {
  test("a client abort mid-stream is detected; like Flowise 3.1.2 the flow keeps generating into the void", async () => {
    d.setAnswer({ tokens: ["a", "b", "c", "d", "e", "f"], delayMs: 30 });
    const ac = new AbortController();
    const res = await predict(streamBody(), { signal: ac.signal });
    await res.body!.getReader().read();
    ac.abort();
    expect(await d.waitForAbort(3000)).toBe(1);
    expect(await d.waitForGenerations(1)).toBe(1);
    expect(d.stats.framesDiscarded).toBeGreaterThan(0);
    expect(d.stats.framesWritten + d.stats.framesDiscarded).toBe(9); // start, 6 tokens, metadata, end
    expect(d.stats.streamsCompleted).toBe(0);
  });

  test("a slow model: start goes out at once, the first token only after firstTokenDelayMs", async () => {
    d.setAnswer({ tokens: ["late"], firstTokenDelayMs: 5000 });
    const ac = new AbortController();
    const res = await predict(streamBody(), { signal: ac.signal });
    const first = new TextDecoder().decode((await res.body!.getReader().read()).value);
    expect(first).toBe('message:\ndata:{"event":"start","data":""}\n\n');
    expect(d.stats.framesWritten).toBe(1);
    ac.abort();
    await d.waitForAbort(3000);
  });

  test("a fully read stream is not an abort, and waitForAbort times out", async () => {
    await (await predict(streamBody())).text();
    expect(d.aborts).toBe(0);
    expect(
      await d.waitForAbort(150).then(
        () => "resolved",
        (e: Error) => e.message,
      ),
    ).toContain("no client abort");
  });
});
