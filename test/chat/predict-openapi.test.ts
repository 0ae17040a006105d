// The predict operation answers 200 in two media types; its OpenAPI entry must say so, with the
// schema of each, so generated clients accept both.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

test("POST /api/v1/chat/predict documents its 200 as application/json and text/event-stream", async () => {
  const doc = (await (await t.request("GET", "/swagger/json")).json()) as {
    paths: Record<string, { post: { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } }>;
  };
  const ok = doc.paths["/api/v1/chat/predict"]!.post.responses["200"]!;
  expect(Object.keys(ok.content ?? {}).sort()).toEqual(["application/json", "text/event-stream"]);
  expect(JSON.stringify(ok.content!["application/json"]!.schema)).toContain("session_id");
  expect(ok.content!["text/event-stream"]!.schema).toMatchObject({ type: "string" });
});
