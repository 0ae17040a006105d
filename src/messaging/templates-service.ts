import { and, count, desc, eq } from "drizzle-orm";
import type { DB } from "../db/client";
import { templates, type Template } from "./schema";
import { newId } from "../ids";
import type { UserState } from "../kernel/principal";
import { MESSAGING_ERRORS } from "./errors";
import { ownedBy } from "./owner";
import { placeholdersOf } from "./render";
import type { TemplateInput } from "./model";

/** What the API shows: the row plus the placeholders its body needs. */
export const templateView = (t: Template) => ({ ...t, placeholders: placeholdersOf(t.body) });

export async function createTemplate(db: DB, owner: UserState, input: TemplateInput) {
  const [row] = await db
    .insert(templates)
    .values({ id: newId("tpl"), ownerId: owner.id, ...input })
    .returning();
  return templateView(row!);
}

export async function listTemplates(db: DB, user: UserState, limit = 50, offset = 0) {
  const where = ownedBy(templates.ownerId, user);
  const rows = await db.select().from(templates).where(where).orderBy(desc(templates.createdAt), desc(templates.id)).limit(limit).offset(offset);
  const [total] = await db.select({ n: count() }).from(templates).where(where);
  return { templates: rows.map(templateView), total: total?.n ?? 0, limit, offset };
}

export async function findTemplate(db: DB, user: UserState, id: string): Promise<Template> {
  const [row] = await db
    .select()
    .from(templates)
    .where(and(eq(templates.id, id), ownedBy(templates.ownerId, user)));
  if (!row) throw MESSAGING_ERRORS.TEMPLATE_NOT_FOUND(id);
  return row;
}

export async function getTemplate(db: DB, user: UserState, id: string) {
  return templateView(await findTemplate(db, user, id));
}

export async function updateTemplate(db: DB, user: UserState, id: string, patch: Partial<TemplateInput>) {
  if (Object.keys(patch).length === 0) throw MESSAGING_ERRORS.EMPTY_PATCH();
  const [row] = await db
    .update(templates)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(templates.id, id), ownedBy(templates.ownerId, user)))
    .returning();
  if (!row) throw MESSAGING_ERRORS.TEMPLATE_NOT_FOUND(id);
  return templateView(row);
}

/** Messages already rendered from the template keep their text; only the template goes. */
export async function deleteTemplate(db: DB, user: UserState, id: string): Promise<void> {
  const rows = await db
    .delete(templates)
    .where(and(eq(templates.id, id), ownedBy(templates.ownerId, user)))
    .returning({ id: templates.id });
  if (rows.length === 0) throw MESSAGING_ERRORS.TEMPLATE_NOT_FOUND(id);
}
