// Chat sessions (= brain chats) and their messages. A session belongs to one user; anyone
// else asking for it gets 404, the same answer as for an id that does not exist.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { DB } from "../db/client";
import { chatMessages, chatSessions, type ChatSession } from "./schema";
import { CHAT_ERRORS } from "./errors";
import { newId } from "../ids";
import type { SessionSummary } from "./model";

const TOPIC_MAX = 60;

/** The first question, on one line, cut to ~60 characters. */
export function topicOf(question: string): string {
  const line = question.replace(/\s+/g, " ").trim();
  return line.length <= TOPIC_MAX ? line : `${line.slice(0, TOPIC_MAX - 1).trimEnd()}…`;
}

export interface SessionInput {
  userId: string;
  /** The caller's id for the conversation; a new one is made when absent. */
  sessionId?: string;
  chatflowId: string | null;
  question?: string;
  name?: string;
}

/**
 * The caller's session with this id, created when no one has it. The insert races safely: the
 * loser of two concurrent creations reads the winner's row and checks its owner like any other.
 */
export async function getOrCreateSession(db: DB, input: SessionInput): Promise<ChatSession> {
  const id = input.sessionId ?? crypto.randomUUID();
  const [created] = await db
    .insert(chatSessions)
    .values({
      id,
      userId: input.userId,
      chatflowId: input.chatflowId,
      name: input.name ?? null,
      topic: input.question === undefined ? null : topicOf(input.question),
    })
    .onConflictDoNothing()
    .returning();
  if (created) return created;
  const [row] = await db.select().from(chatSessions).where(eq(chatSessions.id, id));
  if (!row || row.userId !== input.userId) throw CHAT_ERRORS.SESSION_NOT_FOUND();
  if ((row.topic === null && input.question !== undefined) || (row.chatflowId === null && input.chatflowId !== null)) {
    const [updated] = await db
      .update(chatSessions)
      .set({
        topic: sql`coalesce(${chatSessions.topic}, ${input.question === undefined ? null : topicOf(input.question)})`,
        chatflowId: sql`coalesce(${chatSessions.chatflowId}, ${input.chatflowId})`,
        updatedAt: sql`now()`,
      })
      .where(eq(chatSessions.id, id))
      .returning();
    return updated ?? row;
  }
  return row;
}

/** The session when the user owns it; otherwise 404. */
export async function ownedSession(db: DB, userId: string, sessionId: string): Promise<ChatSession> {
  const [row] = await db
    .select()
    .from(chatSessions)
    .where(and(eq(chatSessions.id, sessionId), eq(chatSessions.userId, userId)));
  if (!row) throw CHAT_ERRORS.SESSION_NOT_FOUND();
  return row;
}

export interface MessageInput {
  id?: string;
  sessionId: string;
  role: "user" | "assistant";
  content: string;
  status?: "complete" | "incomplete" | "error" | "failed";
  metadata?: unknown;
}

export async function storeMessage(db: DB, m: MessageInput): Promise<{ id: string; createdAt: Date }> {
  const [row] = await db
    .insert(chatMessages)
    .values({ id: m.id ?? newId("msg"), sessionId: m.sessionId, role: m.role, content: m.content, status: m.status ?? "complete", metadata: m.metadata ?? null })
    .returning({ id: chatMessages.id, createdAt: chatMessages.createdAt });
  await db.update(chatSessions).set({ updatedAt: sql`now()` }).where(eq(chatSessions.id, m.sessionId));
  return row!;
}

/** A question no answer will follow (the prediction failed before any answer content). */
export async function markQuestionFailed(db: DB, messageId: string): Promise<void> {
  await db
    .update(chatMessages)
    .set({ status: "failed" })
    .where(and(eq(chatMessages.id, messageId), eq(chatMessages.role, "user")));
}

export async function listSessions(db: DB, userId: string, page: { limit: number; offset: number }): Promise<{ sessions: SessionSummary[]; count: number }> {
  const [total] = await db.select({ n: sql<number>`count(*)::int` }).from(chatSessions).where(eq(chatSessions.userId, userId));
  const rows = await db
    .select()
    .from(chatSessions)
    .where(eq(chatSessions.userId, userId))
    .orderBy(desc(chatSessions.createdAt), desc(chatSessions.id))
    .limit(page.limit)
    .offset(page.offset);
  return {
    count: Number(total?.n ?? 0),
    sessions: rows.map((r) => ({ session_id: r.id, chatflow_id: r.chatflowId, topic: r.topic, created_at: r.createdAt.toISOString() })),
  };
}

/** Messages oldest first; a question sorts before the answer stored in the same instant. */
export async function sessionMessages(db: DB, sessionId: string) {
  return db.select().from(chatMessages).where(eq(chatMessages.sessionId, sessionId)).orderBy(asc(chatMessages.createdAt), desc(chatMessages.role));
}

export async function sessionHistory(db: DB, userId: string, sessionId: string) {
  await ownedSession(db, userId, sessionId);
  const rows = await sessionMessages(db, sessionId);
  return {
    session_id: sessionId,
    messages: rows.map((m) => ({ role: m.role, content: m.content, timestamp: m.createdAt.toISOString(), status: m.status })),
  };
}
