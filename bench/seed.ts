// Seeds the running binary through its public API only, the way an operator would: admin login,
// users, API keys, chatflows, grants, credits, contacts. A step whose endpoint is missing or
// refuses leaves its field empty and a note; the scenarios that need it report "not available".

export interface SeedUser {
  id: string;
  email: string;
  password: string;
  customerId?: number;
  accessToken?: string;
  apiKey?: string;
}

export interface Seed {
  adminToken?: string;
  users: SeedUser[];
  /** Chatflow ids registered in chatgate and granted to every seeded user, by inter-event delay. */
  chatflows: Record<number, string>;
  /** Contacts of users[0], for send-bulk. */
  contacts: string[];
  notes: string[];
}

export interface SeedOptions {
  base: string;
  adminEmail: string;
  adminPassword: string;
  users: number;
  /** Chatflow id for each delay (ms); the Flowise double serves the same ids. */
  chatflows: Record<number, string>;
  credits: number;
  contacts: number;
}

export interface Answer {
  status: number;
  body: unknown;
  text: string;
}

export async function call(base: string, method: string, path: string, opts: { token?: string; json?: unknown; form?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** "POST /x answered 404 {...}" — short, never echoing a credential (bodies carry none). */
export function refusal(method: string, path: string, a: Answer): string {
  return `${method} ${path.split("?")[0]} answered ${a.status} ${a.text.slice(0, 120)}`;
}

const ok = (a: Answer) => a.status >= 200 && a.status < 300;
const field = <T>(a: Answer, key: string) => (a.body as Record<string, unknown> | undefined)?.[key] as T | undefined;

export async function login(base: string, username: string, password: string): Promise<{ token?: string; note?: string }> {
  const a = await call(base, "POST", "/api/auth/token", { form: { username, password } });
  const token = field<string>(a, "access_token");
  return ok(a) && token ? { token } : { note: refusal("POST", "/api/auth/token", a) };
}

export async function seed(o: SeedOptions): Promise<Seed> {
  const s: Seed = { users: [], chatflows: {}, contacts: [], notes: [] };
  const admin = await login(o.base, o.adminEmail, o.adminPassword);
  if (!admin.token) {
    s.notes.push(`admin login: ${admin.note}`);
    return s;
  }
  s.adminToken = admin.token;
  const token = admin.token;

  // Users one after another: each is an argon2id hash; parallel creation only queues them.
  for (let i = 0; i < o.users; i++) {
    const u: SeedUser = { id: "", email: `bench-user-${i}@bench.local`, password: `bench-password-${i}-${crypto.randomUUID()}` };
    const a = await call(o.base, "POST", "/api/auth/users", { token, json: { email: u.email, name: `Bench user ${i}`, password: u.password } });
    if (!ok(a)) {
      s.notes.push(`users: ${refusal("POST", "/api/auth/users", a)}`);
      break;
    }
    u.id = field<string>(a, "id") ?? "";
    u.customerId = field<number>(a, "customer_id");
    s.users.push(u);
  }

  for (const u of s.users) {
    const l = await login(o.base, u.email, u.password);
    u.accessToken = l.token;
    if (l.note && !s.notes.some((n) => n.startsWith("user login"))) s.notes.push(`user login: ${l.note}`);
    const k = await call(o.base, "POST", "/api/auth/api-keys", { token, json: { name: `bench ${u.email}`, user_id: u.id, level: "write" } });
    u.apiKey = field<string>(k, "key");
    if (!ok(k) && !s.notes.some((n) => n.startsWith("api keys"))) s.notes.push(`api keys: ${refusal("POST", "/api/auth/api-keys", k)}`);
    if (u.customerId === undefined && u.accessToken) {
      const me = await call(o.base, "GET", "/api/auth/me", { token: u.accessToken });
      u.customerId = field<number>(me, "customer_id");
    }
  }

  for (const [delay, id] of Object.entries(o.chatflows)) {
    const a = await call(o.base, "POST", "/api/admin/chatflows", { token, json: { id, name: `bench ${delay} ms between events`, cost: 1 } });
    if (!ok(a)) {
      s.notes.push(`chatflows: ${refusal("POST", "/api/admin/chatflows", a)}`);
      continue;
    }
    s.chatflows[Number(delay)] = id;
    for (const u of s.users) {
      const g = await call(o.base, "PUT", `/api/admin/chatflows/${id}/users/${u.id}`, { token });
      if (!ok(g) && !s.notes.some((n) => n.startsWith("grants"))) s.notes.push(`grants: ${refusal("PUT", "/api/admin/chatflows/:id/users/:user_id", g)}`);
    }
  }

  for (const u of s.users) {
    const c = await call(o.base, "POST", `/api/admin/users/${u.id}/credits`, { token, json: { amount: o.credits, reason: "bench seed" } });
    if (!ok(c)) {
      s.notes.push(`credits: ${refusal("POST", "/api/admin/users/:id/credits", c)}`);
      break;
    }
  }

  const owner = s.users[0];
  for (let i = 0; owner?.accessToken && i < o.contacts; i++) {
    const a = await call(o.base, "POST", "/api/contacts", { token: owner.accessToken, json: { name: `Bench contact ${i}`, email: `contact-${i}@bench.local` } });
    const id = field<{ id?: string }>(a, "contact")?.id ?? field<string>(a, "id");
    if (!ok(a) || !id) {
      s.notes.push(`contacts: ${refusal("POST", "/api/contacts", a)}`);
      break;
    }
    s.contacts.push(id);
  }
  return s;
}
