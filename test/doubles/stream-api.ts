import { jwtVerify } from "jose";

export interface StreamDoubleMessage {
  id: string;
  channel: string;
  text: string;
  userId: string;
}

export interface StreamApiDouble {
  url: string;
  users: Map<string, Record<string, unknown>>;
  /** `type:id` → members. */
  channels: Map<string, string[]>;
  messages: StreamDoubleMessage[];
  /** Requests refused for a wrong api_key or server token. */
  unauthorized: number;
  /** Every request as `METHOD /path`, in order. */
  calls: string[];
  /** Answer 500 to the next `n` requests. */
  failNext(n: number): void;
  stop(): void;
}

const streamError = (status: number, code: number, message: string) =>
  Response.json({ code, message, StatusCode: status, duration: "0.01ms", more_info: "https://getstream.io/chat/docs/api_errors_response" }, { status });

/**
 * The Stream REST calls the stream-chat server SDK makes to deliver a message (`GET /users`
 * queryUsers, `POST /users` upsert — which replaces the whole user, as Stream does —, `PATCH /users`
 * partial update, `POST /channels/{type}/{id}/query`, `POST /channels/{type}/{id}/message`),
 * each checked for the api_key query parameter and the SDK's server JWT (`{server: true}`,
 * HS256 with the API secret, sent raw in Authorization with `stream-auth-type: jwt`).
 */
export function startStreamApiDouble(apiKey: string, apiSecret: string): StreamApiDouble {
  let failing = 0;
  const key = new TextEncoder().encode(apiSecret);
  const d: Omit<StreamApiDouble, "url" | "stop" | "failNext"> = { users: new Map(), channels: new Map(), messages: [], unauthorized: 0, calls: [] };

  async function authorized(req: Request, url: URL): Promise<boolean> {
    if (url.searchParams.get("api_key") !== apiKey || req.headers.get("stream-auth-type") !== "jwt") return false;
    try {
      const { payload } = await jwtVerify(req.headers.get("authorization") ?? "", key, { algorithms: ["HS256"] });
      return payload.server === true;
    } catch {
      return false;
    }
  }

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      d.calls.push(`${req.method} ${url.pathname}`);
      if (!(await authorized(req, url))) {
        d.unauthorized++;
        return streamError(401, 5, "Unauthorized: invalid server token or api key");
      }
      if (failing > 0) {
        failing--;
        return streamError(500, -1, "internal error (injected by the test)");
      }
      if (req.method === "GET" && url.pathname === "/users") {
        const payload = JSON.parse(url.searchParams.get("payload") ?? "{}");
        const byId = payload.filter_conditions?.id;
        const ids: string[] = typeof byId === "string" ? [byId] : (byId?.$in ?? (byId?.$eq ? [byId.$eq] : []));
        return Response.json({ users: ids.filter((id) => d.users.has(id)).map((id) => d.users.get(id)), duration: "0.01ms" });
      }
      const body = (await req.json().catch(() => ({}))) as any;
      if (req.method === "PATCH" && url.pathname === "/users") {
        const out: Record<string, unknown> = {};
        for (const u of body.users ?? []) {
          const cur = d.users.get(u.id);
          if (!cur) return streamError(400, 4, `UpdateUsersPartial failed with error: "user ${u.id} does not exist"`);
          const next = { ...cur, ...(u.set ?? {}) };
          for (const k of u.unset ?? []) delete next[k];
          d.users.set(u.id, next);
          out[u.id] = next;
        }
        return Response.json({ users: out, duration: "0.01ms" });
      }
      if (req.method === "POST" && url.pathname === "/users") {
        const users = body.users ?? {};
        for (const [id, u] of Object.entries(users)) d.users.set(id, u as Record<string, unknown>);
        return Response.json({ users, duration: "0.01ms" });
      }
      const m = /^\/channels\/([^/]+)\/([^/]+)\/(query|message)$/.exec(url.pathname);
      if (req.method === "POST" && m) {
        const [, type, id, op] = m as unknown as [string, string, string, string];
        const cid = `${type}:${id}`;
        if (op === "query") {
          const members: string[] = body.data?.members ?? [];
          const unknown = members.find((u) => !d.users.has(u));
          if (unknown)
            return streamError(400, 4, `GetOrCreateChannel failed with error: "The following users are involved in channel create operation, but don't exist: [${unknown}]"`);
          if (!d.channels.has(cid)) d.channels.set(cid, members);
          return Response.json({
            channel: { id, type, cid, created_by: { id: body.data?.created_by_id } },
            members: d.channels.get(cid)!.map((user_id) => ({ user_id, user: { id: user_id } })),
            messages: [],
            duration: "0.01ms",
          });
        }
        if (!d.channels.has(cid)) return streamError(404, 16, `SendMessage failed with error: "channel "${cid}" does not exist"`);
        const msg = body.message ?? {};
        if (!msg.user_id || !d.channels.get(cid)!.includes(msg.user_id)) return streamError(403, 17, "SendMessage failed: user is not a member");
        if (d.messages.some((x) => x.id === msg.id)) return streamError(400, 4, `SendMessage failed with error: "a message with ID ${msg.id} already exists"`);
        d.messages.push({ id: msg.id, channel: cid, text: msg.text, userId: msg.user_id });
        return Response.json({ message: { ...msg, user: { id: msg.user_id }, type: "regular" }, duration: "0.01ms" });
      }
      return streamError(404, 3, `unknown endpoint ${req.method} ${url.pathname}`);
    },
  });
  return Object.assign(d as StreamApiDouble, {
    url: `http://127.0.0.1:${server.port}`,
    failNext: (n: number) => void (failing = n),
    stop: () => void server.stop(true),
  });
}
