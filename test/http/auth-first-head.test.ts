// HEAD is GET without a body: the route's guard runs before its query is validated there too,
// so a HEAD probe cannot learn a protected route's query rules without a credential.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(async () => t?.close());

test("HEAD with an invalid query and no credential: 401, not the validation status", async () => {
  const out: string[] = [];
  for (const path of ["/api/v1/chat/sessions?limit=-1", "/api/contacts?limit=abc", "/api/messages?limit=abc", "/api/templates?limit=abc", "/api/admin/chatflows?page=abc"]) {
    const res = await t.request("HEAD", path);
    if (res.status !== 401) out.push(`HEAD ${path} → ${res.status}`);
  }
  expect(out).toEqual([]);
});
