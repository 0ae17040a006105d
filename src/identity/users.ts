import { audit, BOOTSTRAP_ACTOR, diff, type AuditTrail } from "../audit/service";
import { and, asc, count, desc, eq, or, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { IdentityContext } from "./context";
import type { DB } from "../db/client";
import { users, type User } from "./schema";
import { AppError } from "../http/errors";
import { cursorAt, decodeCursor, encodeCursor, type Page } from "../http/paging";
import { newId } from "../ids";
import { hashPassword, passwordProblem } from "./passwords";
import type { UserState } from "../kernel/principal";
import type { LoginUser } from "./model";
import { IDENTITY_ERRORS } from "./errors";

export interface NewUserInput {
  email: string;
  password?: string;
  name?: string;
  username?: string | null;
  role?: "user" | "admin";
  externalId?: string | null;
}

export const isUniqueViolation = (e: unknown) => {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "23505" || err?.cause?.code === "23505";
};

export async function createUser(db: DB, input: NewUserInput, trail?: AuditTrail): Promise<User> {
  if (input.password !== undefined) {
    const problem = passwordProblem(input.password);
    if (problem) throw IDENTITY_ERRORS.WEAK_PASSWORD(problem);
  }
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
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
      const u = row!;
      const changes = diff({}, { email: u.email, name: u.name, username: u.username, role: u.role });
      await audit(tx, trail, { action: "user.created", target: { type: "user", id: u.id }, changes });
      return u;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw IDENTITY_ERRORS.USER_EXISTS();
    throw e;
  }
}

/** Creates the first admin when the users table is empty (audited as the system's); returns the generated password if any. */
export async function ensureBootstrapAdmin(ctx: Pick<IdentityContext, "db" | "config" | "record">): Promise<{ email: string; password?: string } | undefined> {
  const [row] = await ctx.db.select({ n: count() }).from(users);
  if ((row?.n ?? 0) > 0) return undefined;
  const email = ctx.config.adminEmail ?? "admin@localhost";
  const generated = ctx.config.adminPassword ? undefined : Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
  try {
    await createUser(ctx.db, { email, password: ctx.config.adminPassword ?? generated!, name: "Administrator", role: "admin" }, { record: ctx.record, actor: BOOTSTRAP_ACTOR });
  } catch (e) {
    // Another instance bootstrapped first.
    if (e instanceof AppError && e.code === "CONFLICT") return undefined;
    throw e;
  }
  return { email, password: generated };
}

export const lowerEmail = (email: string) => sql`lower(${email})`;

// Cached user states are immutable and shared by every request of that user (GET /api/auth/me is
// the hot path), so their public view is built once.
const viewOfState = new WeakMap<object, LoginUser>();

export function publicUser(u: User | UserState): LoginUser {
  const cached = viewOfState.get(u);
  if (cached) return cached;
  const view = buildPublicUser(u);
  if ("tokensValidAfterMs" in u) viewOfState.set(u, view);
  return view;
}

function buildPublicUser(u: User | UserState): LoginUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    username: u.username,
    customer_id: u.customerId,
    created_at: u.createdAt.toISOString(),
  };
}

/** The admin view adds the account state. */
export function adminUser(u: User) {
  return { ...publicUser(u), disabled: u.disabledAt !== null, disabled_at: u.disabledAt?.toISOString() ?? null, low_credit_threshold: u.lowCreditThreshold ?? null };
}

/** Email or username, case-insensitive; an email match wins over a username match. */
export async function findUserForLogin(db: DB, login: string): Promise<User | undefined> {
  const value = login.trim();
  const [row] = await db
    .select()
    .from(users)
    .where(or(eq(sql`lower(${users.email})`, lowerEmail(value)), eq(sql`lower(${users.username})`, lowerEmail(value))))
    .orderBy(desc(eq(sql`lower(${users.email})`, lowerEmail(value))))
    .limit(1);
  return row;
}

export async function findUserById(db: DB, id: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function findUserByEmail(db: DB, email: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, lowerEmail(email)));
  return row;
}

/**
 * Users whose email, name, username or id contains `q` (case-insensitive), or whose customer id is
 * `q`. strpos, not LIKE: `%` and `_` typed into a search box are plain characters.
 */
function matching(q: string | undefined): SQL | undefined {
  const needle = q?.trim().toLowerCase();
  if (!needle) return undefined;
  const has = (column: SQLWrapper) => sql`strpos(lower(${column}), ${needle}) > 0`;
  const parts = [has(users.email), has(users.name), has(sql`coalesce(${users.username}, '')`), has(users.id)];
  if (/^\d{1,9}$/.test(needle)) parts.push(eq(users.customerId, Number(needle)));
  return or(...parts);
}

/** One page, oldest first (after a cursor, or at an offset), how many users match in all, and the next page's cursor. */
export async function listUsers(db: DB, page: Page, after?: string, q?: string): Promise<{ rows: User[]; total: number; next: string | null }> {
  const from = after ? decodeCursor(after) : undefined;
  const filter = matching(q);
  const [found, [all]] = await Promise.all([
    db
      .select({ u: users, at: cursorAt(users.createdAt) })
      .from(users)
      .where(and(filter, from ? sql`(${users.createdAt}, ${users.id}) > (${from.at}::timestamptz, ${from.id})` : undefined))
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(page.limit)
      .offset(page.offset),
    db.select({ n: count() }).from(users).where(filter),
  ]);
  const last = found.at(-1);
  return { rows: found.map((r) => r.u), total: all?.n ?? 0, next: last && found.length === page.limit ? encodeCursor({ at: last.at, id: last.u.id }) : null };
}
