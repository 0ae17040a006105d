/**
 * Bench-only upstream for the peer gateway: an OpenAI-compatible `POST /v1/chat/completions`
 * that streams the same shape of answer as the Flowise double (200 SSE frames, same delay
 * between frames, written the same way with node:http), so chatgate → Flowise double and
 * Portkey → this double relay equal work. The model name carries the delay: `bench-delay-5`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export const OPENAI_FRAMES = 200; // 198 content chunks + 1 finish chunk + `data: [DONE]`

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

function write(res: http.ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("close", done);
      resolve();
    };
    res.once("close", done);
    res.write(chunk, done);
  });
}

function chunk(model: string, created: number, delta: Record<string, string>, finish: string | null) {
  const body = { id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  if (req.method !== "POST" || !req.url?.startsWith("/v1/chat/completions")) {
    res.writeHead(404, { "Content-Type": "application/json" });
    return res.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
  }
  let body: { model?: string; stream?: boolean };
  try {
    body = JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    res.writeHead(400, { "Content-Type": "application/json" });
    return res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
  }
  const model = body.model ?? "bench-delay-0";
  const delayMs = Number(/bench-delay-(\d+)/.exec(model)?.[1] ?? "0");
  const created = Math.floor(Date.now() / 1000);
  const contentChunks = OPENAI_FRAMES - 2;
  if (!body.stream) {
    const text = Array.from({ length: contentChunks }, (_, i) => `tok${i} `).join("");
    const answer = {
      id: "chatcmpl-bench",
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: contentChunks, total_tokens: contentChunks + 1 },
    };
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify(answer));
  }
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
  res.flushHeaders();
  for (let i = 0; i < OPENAI_FRAMES; i++) {
    if (i > 0) await sleep(delayMs);
    if (res.destroyed) return;
    const frame =
      i < contentChunks
        ? chunk(model, created, i === 0 ? { role: "assistant", content: `tok${i} ` } : { content: `tok${i} ` }, null)
        : i === contentChunks
          ? chunk(model, created, {}, "stop")
          : "data: [DONE]\n\n";
    await write(res, frame);
  }
  res.end();
}

export async function startOpenAiDouble(port = 0): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
