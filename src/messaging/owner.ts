import { eq, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { UserState } from "../kernel/principal";

/** Owners see their own rows, admins every row: `undefined` means no filter. */
export function ownedBy(column: PgColumn, user: UserState): SQL | undefined {
  return user.role === "admin" ? undefined : eq(column, user.id);
}
