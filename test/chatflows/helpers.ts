// Shared by the chatflow and credit route tests.
import { expect } from "bun:test";
import { HTTP_ERRORS } from "../../src/http/errors";
import type { TestApp } from "../helpers";

/** Every admin route: no token → 401, garbage → 401, a user's token → 403, in the admin body. */
export async function expectAdminOnly(t: TestApp, method: string, path: string, userToken: string, body?: unknown) {
  const none = await t.request(method, path, { body });
  expect(none.status).toBe(401);
  expect(await none.json()).toEqual({ message: HTTP_ERRORS.INVALID_JWT.message, status: 401 });
  const garbage = await t.request(method, path, { body, token: "not-a-jwt" });
  expect(garbage.status).toBe(401);
  expect(await garbage.json()).toEqual({ message: HTTP_ERRORS.INVALID_JWT.message, status: 401 });
  const user = await t.request(method, path, { body, token: userToken });
  expect(user.status).toBe(403);
  expect(await user.json()).toEqual({ message: HTTP_ERRORS.FORBIDDEN.message, status: 403 });
}

/** A user route under /api/v1/chat: 401 in the detail body with WWW-Authenticate. */
export async function expectAccessOnly(t: TestApp, method: string, path: string) {
  for (const token of [undefined, "not-a-jwt"]) {
    const res = await t.request(method, path, { token });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await res.json()).toEqual({ detail: HTTP_ERRORS.INVALID_JWT.message });
  }
}
