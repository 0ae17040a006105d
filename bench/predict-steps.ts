// What a prediction does in the database before its upstream call, step by step: the floor under
// chatgate's added time to first byte. Calls the services directly on a fresh database.
//   ./node_modules/.bin/bun bench/predict-steps.ts [rounds=400]          (embedded PGlite, memory)
//   PGURL=postgres://postgres@127.0.0.1:5432/test ./node_modules/.bin/bun bench/predict-steps.ts
import { sql } from "drizzle-orm";
import { chatflowForUser } from "../src/chat/access";
import { getOrCreateSession, storeMessage } from "../src/chat/sessions";
import { createChatflow, grantAccess } from "../src/chatflows/service";
import { grantCredits, reserveCredits } from "../src/credits/service";
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { createUser } from "../src/identity/users";
import { percentile } from "./stream-client";

const rounds = Number(process.argv[2] ?? 400);
const url = process.env.PGURL;
const schema = `bench_steps_${Date.now()}`;
const database = await openDatabase(url ? { databaseUrl: url, dataDir: "", schema } : { dataDir: "memory://" });
try {
  await migrate(database.db);
  const db = database.db;
  const user = await createUser(db, { email: "steps@bench.local", password: "bench-password-1" });
  const chatflowId = crypto.randomUUID();
  await createChatflow(db, { id: chatflowId, name: "steps", cost: 1 });
  await grantAccess(db, chatflowId, user.id);
  await grantCredits(db, { userId: user.id, amount: rounds + 10, reason: "bench", createdBy: null });

  const steps: Record<string, number[]> = { "access check": [], "credit reservation": [], "session insert": [], "question insert": [], total: [] };
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await chatflowForUser(db, user, chatflowId);
    const t1 = performance.now();
    await reserveCredits(db, { userId: user.id, amount: 1, chatflowId, sessionId: null, ttlSec: 600 });
    const t2 = performance.now();
    const session = await getOrCreateSession(db, { userId: user.id, chatflowId, question: "How fast?" });
    const t3 = performance.now();
    await storeMessage(db, { sessionId: session.id, role: "user", content: "How fast?" });
    const t4 = performance.now();
    steps["access check"]!.push(t1 - t0);
    steps["credit reservation"]!.push(t2 - t1);
    steps["session insert"]!.push(t3 - t2);
    steps["question insert"]!.push(t4 - t3);
    steps.total!.push(t4 - t0);
  }
  const skip = Math.floor(rounds / 4); // warm-up
  console.log(`${url ? "Postgres" : "PGlite (memory)"}: database time before the upstream call, ${rounds - skip} predictions`);
  for (const [name, v] of Object.entries(steps)) {
    const s = v.slice(skip);
    console.log(`  ${name.padEnd(20)} p50 ${percentile(s, 50).toFixed(2)} ms  p99 ${percentile(s, 99).toFixed(2)} ms`);
  }
} finally {
  if (url) await database.db.execute(sql.raw(`drop schema if exists "${schema}" cascade`));
  await database.close();
}
