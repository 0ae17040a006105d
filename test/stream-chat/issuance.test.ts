import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { eq, inArray, sql } from "drizzle-orm";
import { StreamChat } from "stream-chat";
import { streamTokenAudit } from "../../src/db/schema";
import { recordStatements } from "../chat/statements";
import { json, makeApp, seedUser, type SeededUser, type TestApp } from "../helpers";
import { STREAM_ERRORS } from "../../src/stream-chat/errors";

const STREAM_KEY = "j46xbwqsrzsk";
const STREAM_SECRET = "stream-secret-for-tests-0123456789abcdef";
const sdk = new StreamChat(STREAM_KEY, STREAM_SECRET);

let t: TestApp;
let users: SeededUser[];
beforeAll(async () => {
  t = await makeApp({ STREAM_API_KEY: STREAM_KEY, STREAM_API_SECRET: STREAM_SECRET, STREAM_TOKEN_RATE: "1000" });
  users = await Promise.all([0, 1, 2, 3].map(() => seedUser(t)));
}, 60_000);
afterAll(() => t.close());

const issue = (u: SeededUser) => t.request("POST", "/stream-chat/token", { token: u.accessToken, body: { customer_id: u.user.customerId } });
const auditRows = () =>
  t.ctx.db
    .select()
    .from(streamTokenAudit)
    .where(
      inArray(
        streamTokenAudit.userId,
        users.map((u) => u.user.id),
      ),
    );

describe("Stream token issuance", () => {
  test("the Stream secret is imported once: the SDK's per-call signing is not used, the tokens are byte-identical to it", async () => {
    // stream-chat's createToken signs through jsonwebtoken, which builds a key from the secret on every call.
    const perCall = spyOn(StreamChat.prototype, "createToken");
    try {
      const u = users[0]!;
      const { token } = await json(await issue(u));
      expect(perCall).not.toHaveBeenCalled();
      const { iat } = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
      perCall.mockRestore();
      expect(token).toBe(sdk.createToken(`customer-${u.user.customerId}`, undefined, iat));
    } finally {
      perCall.mockRestore();
    }
  });

  test("N concurrent issuances: N audit rows, committed before the answers, in fewer INSERT statements than N", async () => {
    const before = (await auditRows()).length;
    const log = recordStatements(t.ctx.db);
    let responses: Response[];
    try {
      responses = await Promise.all(Array.from({ length: 32 }, (_, i) => issue(users[i % users.length]!)));
    } finally {
      log.uninstall();
    }
    expect(responses.map((r) => r.status)).toEqual(Array(32).fill(200));
    // Every answer came after its row's commit, so the rows are all there once the answers are.
    expect((await auditRows()).length - before).toBe(32);
    const inserts = log.entries.filter((e) => e.kind === "statement" && /insert into "?stream_token_audit"?/i.test(e.sql));
    expect(inserts.length).toBeGreaterThanOrEqual(1);
    expect(inserts.length).toBeLessThan(32);
  });

  test("the audit write fails → 503 {error, message} for every waiting issuance, no token, no row", async () => {
    const before = (await auditRows()).length;
    // A real database failure on the audit table only: everything else (authentication) still works.
    await t.ctx.db.execute(sql.raw(`create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit refused'; end $$`));
    await t.ctx.db.execute(sql.raw(`create trigger refuse_audit before insert on stream_token_audit for each statement execute function refuse_audit()`));
    try {
      const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => issue(users[i % users.length]!)));
      for (const res of responses) {
        expect(res.status).toBe(503);
        const body = await res.text();
        expect(JSON.parse(body)).toMatchObject({ error: "Service Unavailable", message: STREAM_ERRORS.AUDIT_FAILED.message });
        expect(body).not.toContain("eyJ");
        expect(res.headers.get("retry-after")).toBeTruthy();
      }
      expect((await auditRows()).length).toBe(before);
    } finally {
      await t.ctx.db.execute(sql.raw(`drop trigger refuse_audit on stream_token_audit`));
      await t.ctx.db.execute(sql.raw(`drop function refuse_audit()`));
    }
    // Issuance recovers once the audit table takes rows again.
    expect((await issue(users[0]!)).status).toBe(200);
    expect(await t.ctx.db.select().from(streamTokenAudit).where(eq(streamTokenAudit.userId, users[0]!.user.id))).not.toHaveLength(0);
  });
});
