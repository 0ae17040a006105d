import { count, sql } from "drizzle-orm";
import type { AppContext } from "../context";
import type { DB } from "../db/client";
import { users, type User } from "../db/schema";
import { AppError } from "../http/errors";
import { newId } from "../ids";
import { hashPassword, passwordProblem } from "./passwords";

export interface NewUserInput {
  email: string;
  password?: string;
  name?: string;
  username?: string | null;
  role?: "user" | "admin";
  externalId?: string | null;
}

const isUniqueViolation = (e: unknown) => {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "23505" || err?.cause?.code === "23505";
};

export async function createUser(db: DB, input: NewUserInput): Promise<User> {
  if (input.password !== undefined) {
    const problem = passwordProblem(input.password);
    if (problem) throw new AppError("VALIDATION", problem);
  }
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  try {
    const [row] = await db
      .insert(users)
      .values({
        id: newId("usr"),
        email: input.email.trim(),
        name: input.name ?? "",
        username: input.username ?? null,
        role: input.role ?? "user",
        passwordHash,
        externalId: input.externalId ?? null,
      })
      .returning();
    return row!;
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError("CONFLICT", "A user with this email or username already exists");
    throw e;
  }
}

/** Creates the first admin when the users table is empty; returns the generated password if any. */
export async function ensureBootstrapAdmin(ctx: AppContext): Promise<{ email: string; password?: string } | undefined> {
  const [row] = await ctx.db.select({ n: count() }).from(users);
  if ((row?.n ?? 0) > 0) return undefined;
  const email = ctx.config.adminEmail ?? "admin@localhost";
  const generated = ctx.config.adminPassword ? undefined : Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
  try {
    await createUser(ctx.db, { email, password: ctx.config.adminPassword ?? generated!, name: "Administrator", role: "admin" });
  } catch (e) {
    // Another instance bootstrapped first.
    if (e instanceof AppError && e.code === "CONFLICT") return undefined;
    throw e;
  }
  return { email, password: generated };
}

export const lowerEmail = (email: string) => sql`lower(${email})`;
