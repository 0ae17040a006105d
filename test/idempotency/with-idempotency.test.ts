// The one helper predict and messaging send share: replay, conflict, in progress, and the key
// freed after a failure (unless the completed work stands).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { idempotencyKeys } from "../../src/db/schema";
import { isIdempotencyKey, withIdempotency, type IdempotentRequest } from "../../src/idempotency/with-idempotency";
import { makeApp, type TestApp } from "../helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

class Conflict extends Error {}
class InProgress extends Error {}

const req = (key: string | undefined, request: unknown = { q: 1 }): IdempotentRequest<string> => ({
  db: t.ctx.db,
  scope: "test.with",
  userId: "usr_w",
  key,
  request,
  replay: (response, status) => `replay ${status} ${JSON.stringify(response)}`,
  conflict: () => new Conflict(),
  inProgress: () => new InProgress(),
});
const row = async (key: string) =>
  (
    await t.ctx.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, "test.with"), eq(idempotencyKeys.key, key)))
  )[0];

test("no key: runs every time, its claim does nothing", async () => {
  let runs = 0;
  const once = () => withIdempotency(req(undefined), async (c) => (await c.complete("x"), `run ${++runs}`));
  expect([await once(), await once()]).toEqual(["run 1", "run 2"]);
});

test("completed: a retry replays, another body conflicts, nothing runs twice", async () => {
  let runs = 0;
  const first = await withIdempotency(req("a"), async (c) => {
    runs++;
    await c.complete({ n: 1 }, 201);
    return "fresh";
  });
  expect(first).toBe("fresh");
  expect(await withIdempotency(req("a"), async () => `ran ${++runs}`)).toBe('replay 201 {"n":1}');
  expect(await withIdempotency(req("a", { q: 2 }), async () => "ran").catch((e) => e)).toBeInstanceOf(Conflict);
  expect(runs).toBe(1);
});

test("a claim still running refuses a concurrent retry", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let claimed!: () => void;
  const isClaimed = new Promise<void>((r) => (claimed = r));
  const first = withIdempotency(req("b"), async (c) => {
    claimed();
    await held;
    await c.complete("done");
    return "first";
  });
  await isClaimed;
  expect(await withIdempotency(req("b"), async () => "second").catch((e) => e)).toBeInstanceOf(InProgress);
  release();
  expect(await first).toBe("first");
});

test("a failure frees the key, so the corrected retry runs", async () => {
  const boom = await withIdempotency(req("c"), async () => {
    throw new Error("boom");
  }).catch((e) => e);
  expect(boom.message).toBe("boom");
  expect(await row("c")).toBeUndefined();
  expect(await withIdempotency(req("c"), async (c) => (await c.complete("ok"), "ran"))).toBe("ran");
});

test("a failure after a completion that stands keeps the stored answer", async () => {
  const err = await withIdempotency(req("d"), async (c) => {
    await c.complete("charged");
    throw new Error("after");
  }).catch((e) => e);
  expect(err.message).toBe("after");
  expect(await row("d")).toMatchObject({ status: "done", response: "charged" });
});

test("key syntax: 1 to 255 visible ASCII characters", () => {
  expect(isIdempotencyKey("abc-123_~")).toBe(true);
  expect(isIdempotencyKey("")).toBe(false);
  expect(isIdempotencyKey("a b")).toBe(false);
  expect(isIdempotencyKey("é")).toBe(false);
  expect(isIdempotencyKey("x".repeat(256))).toBe(false);
});
