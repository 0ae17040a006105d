import { sql } from "drizzle-orm";
import { rowsOf, type DB } from "./client";
import { migrations } from "./migrations.gen";

// Drizzle's stock migrator reads SQL files from disk; the binary carries them embedded instead.
// All pending migrations run in one transaction under an advisory lock, so instances starting
// together on one Postgres apply each migration exactly once.
const LOCK_ID = 727_274_261;

export async function migrate(db: DB): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_ID})`);
    await tx.execute(sql`create table if not exists chatgate_migrations (
      tag text primary key,
      hash text not null,
      applied_at timestamptz not null default now()
    )`);
    const applied = new Set(rowsOf<{ tag: string }>(await tx.execute(sql`select tag from chatgate_migrations`)).map((r) => r.tag));
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.tag)) continue;
      // drizzle-kit qualifies references with "public"; dropping it lets each test run in its own schema.
      const text = m.sql.replaceAll('"public".', "");
      for (const statement of text.split("--> statement-breakpoint")) {
        if (statement.trim()) await tx.execute(sql.raw(statement));
      }
      const hash = new Bun.CryptoHasher("sha256").update(m.sql).digest("hex");
      await tx.execute(sql`insert into chatgate_migrations (tag, hash) values (${m.tag}, ${hash})`);
      done.push(m.tag);
    }
    return done;
  });
}
