// The console's only state about who is signed in: module variables, never storage or URLs.
// Answers are typed by the server's own models; `import type` is erased by the bundler, so
// nothing of the server reaches the page.
import type { AuthResponse, LoginUser, RefreshResponse } from "../../identity/model";

export type SignedInUser = LoginUser;

/** A server model as JSON carries it: dates arrive as ISO strings. */
export type Wire<T> = T extends Date ? string : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

interface Session {
  access: string;
  refresh: string;
  user: SignedInUser;
  timer: ReturnType<typeof setTimeout> | undefined;
}

let session: Session | undefined;
let onSignedOut: (reason: string) => void = () => {};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function currentUser(): SignedInUser | undefined {
  return session?.user;
}

export function whenSignedOut(fn: (reason: string) => void): void {
  onSignedOut = fn;
}

/** The words of an error body in any of the route families' shapes. */
export function errorText(status: number, body: unknown): string {
  const b = (body ?? {}) as Record<string, unknown>;
  const pick = [b.detail, b.message, b.error].find((x) => typeof x === "string" && x.length > 0) as string | undefined;
  if (pick) return `${pick} (HTTP ${status})`;
  if (Array.isArray(b.detail)) return `${b.detail.map((d) => (d as { msg?: string }).msg ?? String(d)).join("; ")} (HTTP ${status})`;
  return `Request failed with HTTP ${status}`;
}

async function send(method: string, path: string, body: unknown, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  try {
    return await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "Could not reach the server; check the connection and try again.");
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, errorText(res.status, body));
  return body as T;
}

/** An authenticated call; one refresh and retry when the access token was refused. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  if (!session) throw new ApiError(401, "Not signed in.");
  let res = await send(method, path, body, session.access);
  if (res.status === 401 && session && (await refreshNow())) res = await send(method, path, body, session!.access);
  return parse<T>(res);
}

/** A text answer (/metrics), sent with the session's token: with METRICS_TOKEN set it needs an admin's. */
export async function apiText(path: string): Promise<string> {
  if (!session) throw new ApiError(401, "Not signed in.");
  let res = await send("GET", path, undefined, session.access);
  if (res.status === 401 && session && (await refreshNow())) res = await send("GET", path, undefined, session!.access);
  if (!res.ok) throw new ApiError(res.status, `Request failed with HTTP ${res.status}`);
  return res.text();
}

function schedule(expiresIn: number): void {
  if (!session) return;
  clearTimeout(session.timer);
  // Refresh a minute before expiry (or at 80 % of short lifetimes) so calls never carry a stale token.
  const lead = Math.min(60, expiresIn * 0.2);
  session.timer = setTimeout(() => void refreshNow(), Math.max(5, expiresIn - lead) * 1000);
}

export async function signIn(email: string, password: string): Promise<SignedInUser> {
  const res = await send("POST", "/api/v1/chat/authenticate", { username: email, password }, undefined);
  const answer = await parse<AuthResponse>(res);
  const user = answer.user;
  if (user.role !== "admin") {
    // End the session just made: a non-admin has nothing to do here.
    await send("POST", "/api/v1/chat/revoke", {}, answer.access_token).catch(() => undefined);
    throw new ApiError(403, "This account is not an administrator. The console is for admins only.");
  }
  session = { access: answer.access_token, refresh: answer.refresh_token, user, timer: undefined };
  schedule(answer.expires_in);
  return user;
}

let refreshing: Promise<boolean> | undefined;

/** Rotates the refresh token; concurrent callers share one refresh (reuse would end the family). */
export function refreshNow(): Promise<boolean> {
  if (!session) return Promise.resolve(false);
  refreshing ??= (async () => {
    const s = session!;
    try {
      const res = await send("POST", "/api/v1/chat/refresh", { refresh_token: s.refresh }, undefined);
      const answer = await parse<RefreshResponse>(res);
      if (session !== s) return false;
      s.access = answer.access_token;
      s.refresh = answer.refresh_token;
      schedule(answer.expires_in);
      return true;
    } catch (e) {
      if (session === s) end(`Your session ended (${(e as Error).message}). Please sign in again.`);
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

function end(reason: string): void {
  if (session) clearTimeout(session.timer);
  session = undefined;
  onSignedOut(reason);
}

export async function signOut(): Promise<void> {
  const s = session;
  if (!s) return;
  await send("POST", "/api/v1/chat/revoke", {}, s.access).catch(() => undefined);
  end("Signed out.");
}

export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** A list answer whose total travels in X-Total-Count (the API keys list). */
export async function apiList<T>(path: string): Promise<{ rows: T[]; total: number }> {
  if (!session) throw new ApiError(401, "Not signed in.");
  let res = await send("GET", path, undefined, session.access);
  if (res.status === 401 && session && (await refreshNow())) res = await send("GET", path, undefined, session!.access);
  const total = Number(res.headers.get("x-total-count"));
  const rows = await parse<T[]>(res);
  return { rows, total: Number.isFinite(total) ? total : rows.length };
}
