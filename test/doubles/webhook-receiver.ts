import { createHmac, timingSafeEqual } from "node:crypto";

export interface ReceivedWebhook {
  id: string;
  body: any;
  timestamp: string;
}

export interface WebhookReceiver {
  url: string;
  /** Every request whose signature verified, in arrival order (retries included). */
  received: ReceivedWebhook[];
  /** Requests refused for a missing or wrong signature. */
  rejected: number;
  /** Requests answered 500 on purpose. */
  failed: number;
  /** Delivered message ids and how often each arrived with a 2xx answer. */
  deliveries: Map<string, number>;
  /** Answer 500 to the next `n` requests for each message id (per id, so tests can count attempts). */
  failEachFirst(n: number): void;
  /** Answer 500 to every request from now on. */
  failAlways(on: boolean): void;
  /** Hold every answer this long (to keep deliveries in flight). */
  delayMs: number;
  stop(): void;
}

/** A real HTTP receiver on loopback that checks X-Chatgate-Signature the way a customer would. */
export function startWebhookReceiver(secret: string): WebhookReceiver {
  let failFirst = 0;
  let always = false;
  const seen = new Map<string, number>();
  const r: Omit<WebhookReceiver, "url" | "stop"> = {
    received: [],
    rejected: 0,
    failed: 0,
    deliveries: new Map(),
    failEachFirst: (n) => void (failFirst = n),
    failAlways: (on) => void (always = on),
    delayMs: 0,
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const raw = await req.text();
      const timestamp = req.headers.get("x-chatgate-timestamp") ?? "";
      const given = req.headers.get("x-chatgate-signature") ?? "";
      const want = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      if (!fresh || given.length !== want.length || !timingSafeEqual(Buffer.from(given), Buffer.from(want))) {
        r.rejected++;
        return new Response("bad signature", { status: 401 });
      }
      const body = JSON.parse(raw);
      r.received.push({ id: body.id, body, timestamp });
      if (r.delayMs) await Bun.sleep(r.delayMs);
      const tries = (seen.get(body.id) ?? 0) + 1;
      seen.set(body.id, tries);
      if (always || tries <= failFirst) {
        r.failed++;
        return new Response("try later", { status: 500 });
      }
      r.deliveries.set(body.id, (r.deliveries.get(body.id) ?? 0) + 1);
      return Response.json({ ok: true });
    },
  });
  return Object.assign(r as WebhookReceiver, { url: `http://127.0.0.1:${server.port}/hook`, stop: () => server.stop(true) });
}
