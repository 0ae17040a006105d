import { actorOf, type AuditTrail } from "../audit/service";
import { requestIdOf } from "../http/core";
import type { Principal } from "../kernel/principal";
import type { IdentityContext } from "./context";
import { clientAddress } from "../http/client-address";
import type { RequestIpSource } from "../kernel/principal";

/** Who acts in this request (the principal, if any), from which address, for the audit log. */
export function trailOf(ctx: Pick<IdentityContext, "config" | "record">, c: { request: Request; server: RequestIpSource | null; principal?: Principal }): AuditTrail {
  return { record: ctx.record, actor: actorOf(c.principal, clientAddress(ctx.config, c.server, c.request), requestIdOf(c.request)) };
}
