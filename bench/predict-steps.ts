// What a prediction does in the database before its upstream call, step by step: the floor under
// chatgate's added time to first byte. Calls the services directly on a fresh database, and times
// in the same run the earlier sequence (a reservation transaction, then the session and question
// inserts) against the one statement that replaced it (src/chat/prediction-store.ts), and the
// answer + settle statement after the call.
//   ./node_modules/.bin/bun bench/predict-steps.ts [rounds=400]          (embedded PGlite, memory)
//   PGURL=postgres://postgres@127.0.0.1:5432/test ./node_modules/.bin/bun bench/predict-steps.ts
import { sql } from "drizzle-orm";
import { ChatflowAccessPolicy } from "../src/chatflows/access";
import { beginPrediction, endPrediction } from "../src/chat/prediction-store";
import { getOrCreateSession, storeMessage } from "../src/chat/sessions";
import { createChatflow, grantAccess } from "../src/chatflows/service";
import { Credits } from "../src/credits/service";
import { openDatabase } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { createUser } from "../src/identity/users";
import { Metrics } from "../src/http/metrics";
import { percentile } from "./stream-client";

const rounds = Number(process.argv[2] ?? 400);
const url = process.env.PGURL;
const schema = `bench_steps_${Date.now()}`;
const database = await openDatabase(url ? { databaseUrl: url, dataDir: "", schema } : { dataDir: "memory://" });
try {
  await migrate(database.db);
  const db = database.db;
  const credits = new Credits(db, new Metrics());
  const user = await createUser(db, { email: "steps@bench.local", password: "bench-password-1" });
  const chatflowId = crypto.randomUUID();
  await createChatflow(db, { id: chatflowId, name: "steps", cost: 1 });
  await grantAccess(db, chatflowId, user.id);
  await credits.grant({ userId: user.id, amount: 2 * rounds + 10, reason: "bench", createdBy: null });

  const steps: Record<string, number[]> = {
    "access check": [],
    "earlier: credit reservation (transaction)": [],
    "earlier: session insert": [],
    "earlier: question insert": [],
    "earlier: total": [],
    "now: one statement": [],
    "now: answer + settle": [],
  };
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await new ChatflowAccessPolicy(db).forUser(user, chatflowId);
    const t1 = performance.now();
    await credits.reserve({ userId: user.id, amount: 1, chatflowId, sessionId: null, ttlSec: 600 });
    const t2 = performance.now();
    const session = await getOrCreateSession(db, { userId: user.id, chatflowId, question: "How fast?" });
    const t3 = performance.now();
    await storeMessage(db, { sessionId: session.id, role: "user", content: "How fast?" });
    const t4 = performance.now();
    steps["access check"]!.push(t1 - t0);
    steps["earlier: credit reservation (transaction)"]!.push(t2 - t1);
    steps["earlier: session insert"]!.push(t3 - t2);
    steps["earlier: question insert"]!.push(t4 - t3);
    steps["earlier: total"]!.push(t4 - t1);
    const t5 = performance.now();
    const begun = await beginPrediction(credits, { userId: user.id, chatflowId, amount: 1, ttlSec: 600, sessionId: crypto.randomUUID(), question: "How fast?" });
    const t6 = performance.now();
    if (!begun.ok) throw new Error("out of credits");
    await endPrediction(db, {
      reservation: begun.reservation,
      sessionId: begun.session.id,
      questionId: begun.question.id,
      charged: true,
      refundReason: "",
      answer: { id: `msg_${crypto.randomUUID()}`, content: "Fast.", status: "complete" },
      failQuestion: false,
    });
    steps["now: one statement"]!.push(t6 - t5);
    steps["now: answer + settle"]!.push(performance.now() - t6);
  }
  const skip = Math.floor(rounds / 4); // warm-up
  console.log(`${url ? "Postgres" : "PGlite (memory)"}: database time before the upstream call, ${rounds - skip} predictions`);
  for (const [name, v] of Object.entries(steps)) {
    const s = v.slice(skip);
    console.log(`  ${name.padEnd(44)} p50 ${percentile(s, 50).toFixed(2)} ms  p99 ${percentile(s, 99).toFixed(2)} ms`);
  }
} finally {
  if (url) await database.db.execute(sql.raw(`drop schema if exists "${schema}" cascade`));
  await database.close();
}
