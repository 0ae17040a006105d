import { Webhook } from "standardwebhooks";
import { json, makeApp, seedUser, type TestApp } from "../helpers";

export const WEBHOOK_ENV = { WEBHOOK_ALLOW_HTTP: "true", MESSAGE_RETRY_BASE_MS: "20", MESSAGE_POLL_MS: "50", MESSAGE_MAX_ATTEMPTS: "5" };

export interface Received {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * A receiver on loopback that verifies every request with the standardwebhooks package.
 * `answer` decides each response; `verified` holds the events it accepted (2xx answered).
 */
export function startReceiver(answer: (n: number) => Response | number = () => 200) {
  let secret = "";
  let attempts = 0;
  const verified: Received[] = [];
  const rejected: string[] = [];
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (!w.pred()) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      const headers = Object.fromEntries(req.headers);
      const n = ++attempts;
      let event: Omit<Received, "headers">;
      try {
        event = new Webhook(secret).verify(body, headers) as Omit<Received, "headers">;
      } catch (e) {
        rejected.push(String(e));
        check();
        return new Response("bad signature", { status: 400 });
      }
      const a = answer(n);
      const res = typeof a === "number" ? new Response(null, { status: a }) : a;
      if (res.status >= 200 && res.status < 300) verified.push({ ...event, headers });
      check();
      return res;
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    verified,
    rejected,
    get attempts() {
      return attempts;
    },
    setSecret(s: string) {
      secret = s;
    },
    /** Resolves when `pred` holds (checked after every request). */
    until(pred: () => boolean): Promise<void> {
      if (pred()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    stop: () => server.stop(true),
  };
}

export type Receiver = ReturnType<typeof startReceiver>;

export async function adminApp(env: Record<string, string> = {}) {
  const t = await makeApp({ ...WEBHOOK_ENV, ...env });
  const admin = await seedUser(t, { role: "admin" });
  return { t, token: admin.accessToken, admin };
}

export async function subscribe(t: TestApp, token: string, receiver: Receiver, events: string[]) {
  const res = await t.request("POST", "/api/admin/webhooks", { token, body: { url: receiver.url, events, description: "test receiver" } });
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${await res.text()}`);
  const hook = await json(res);
  receiver.setSecret(hook.secret);
  return hook as { id: string; secret: string; url: string; events: string[] };
}

/** The webhook's deliveries once `pred` holds for them (polled through the route: it is the API under test). */
export async function deliveriesOf(t: TestApp, token: string, id: string) {
  const res = await t.request("GET", `/api/admin/webhooks/${id}/deliveries`, { token });
  return (await json(res)).deliveries as {
    id: string;
    status: string;
    attempts: number;
    last_error: string | null;
    response_code: number | null;
    event_type: string;
    event_id: string;
  }[];
}
