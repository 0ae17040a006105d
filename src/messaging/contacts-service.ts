import { and, count, desc, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { contacts, type Contact } from "./schema";
import { newId } from "../ids";
import type { UserState } from "../kernel/principal";
import { MESSAGING_ERRORS } from "./errors";
import { ownedBy } from "./owner";
import { withStreamIdClaim } from "./stream-ids";
import type { ContactInput } from "./model";

export async function createContact(db: DB, owner: UserState, input: ContactInput): Promise<Contact> {
  return withStreamIdClaim(db, owner, input.streamUserId, (tx) => insertContact(tx, owner, input));
}

async function insertContact(db: DB, owner: UserState, input: ContactInput): Promise<Contact> {
  const [row] = await db
    .insert(contacts)
    .values({
      id: newId("ctc"),
      ownerId: owner.id,
      name: input.name,
      email: input.email ?? null,
      phone: input.phone ?? null,
      streamUserId: input.streamUserId ?? null,
      attributes: input.attributes ?? {},
    })
    .returning();
  return row!;
}

export async function listContacts(db: DB, user: UserState, limit = 50, offset = 0) {
  const where = ownedBy(contacts.ownerId, user);
  const rows = await db.select().from(contacts).where(where).orderBy(desc(contacts.createdAt), desc(contacts.id)).limit(limit).offset(offset);
  const [total] = await db.select({ n: count() }).from(contacts).where(where);
  return { contacts: rows, total: total?.n ?? 0, limit, offset };
}

export async function getContact(db: DB, user: UserState, id: string): Promise<Contact> {
  const [row] = await db
    .select()
    .from(contacts)
    .where(and(eq(contacts.id, id), ownedBy(contacts.ownerId, user)));
  if (!row) throw MESSAGING_ERRORS.CONTACT_NOT_FOUND(id);
  return row;
}

export async function updateContact(db: DB, user: UserState, id: string, patch: Partial<ContactInput>): Promise<Contact> {
  if (Object.keys(patch).length === 0) throw MESSAGING_ERRORS.EMPTY_PATCH();
  return withStreamIdClaim(db, user, patch.streamUserId, async (tx) => {
    const [row] = await tx
      .update(contacts)
      .set({ ...patch, updatedAt: new Date() })
      .where(and(eq(contacts.id, id), ownedBy(contacts.ownerId, user)))
      .returning();
    if (!row) throw MESSAGING_ERRORS.CONTACT_NOT_FOUND(id);
    return row;
  });
}

/** Deleting a contact deletes its messages too (the schema cascades), queued ones included. */
export async function deleteContact(db: DB, user: UserState, id: string): Promise<void> {
  const rows = await db
    .delete(contacts)
    .where(and(eq(contacts.id, id), ownedBy(contacts.ownerId, user)))
    .returning({ id: contacts.id });
  if (rows.length === 0) throw MESSAGING_ERRORS.CONTACT_NOT_FOUND(id);
}
