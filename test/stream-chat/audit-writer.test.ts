import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { streamTokenAudit } from "../../src/db/schema";
import { AuditWriter } from "../../src/stream-chat/audit";
import { makeApp, type TestApp } from "../helpers";
import { countingDb } from "../keys/helpers";

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
}, 60_000);
afterAll(() => t.close());

const row = (i: number) => ({ userId: `usr_${i}`, customerId: i + 1, ip: null, userAgent: null, createdAt: new Date() });

describe("audit group commit", () => {
  test("concurrent issuances share INSERTs, and each waits until its row is committed", async () => {
    const counted = countingDb(t.ctx.db);
    const writer = new AuditWriter(counted.db);
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.record(row(i))));
    expect(counted.count()).toBeLessThanOrEqual(2);
    expect(await t.ctx.db.select().from(streamTokenAudit)).toHaveLength(50);
    // A later lone record still goes out (nothing is left queued behind a finished drain).
    await writer.record(row(99));
    expect(await t.ctx.db.select().from(streamTokenAudit)).toHaveLength(51);
    await writer.stop();
  });

  test("a failed INSERT fails the issuances in that batch", async () => {
    const writer = new AuditWriter(t.ctx.db);
    const bad = { ...row(1), customerId: 2 ** 40 }; // out of integer range
    await expect(writer.record(bad)).rejects.toThrow();
    await writer.record(row(2));
  });
});
