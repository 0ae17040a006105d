import { NO_USAGE, type UsageRecorder } from "../kernel/usage";
import type { UserState } from "../kernel/principal";
import { STREAM_ERRORS } from "./errors";
import { errorSummary, type Logger } from "../http/logger";
import type { AuditWriter } from "./audit";
import type { StreamUserTokens } from "./user-token";

export interface IssueMeta {
  ip: string | null;
  userAgent: string | null;
  requestId?: string | null;
}

const MAX_CUSTOMER_ID = 2147483647; // customer ids are Postgres integers

/** A JSON integer in range; strings, floats, negatives and huge numbers are a 400. */
export function parseCustomerId(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_CUSTOMER_ID) {
    throw STREAM_ERRORS.BAD_CUSTOMER_ID();
  }
  return value;
}

/** Stream Chat user ids are `customer-{id}`, the format the iOS app relies on. */
export const streamUserId = (customerId: number) => `customer-${customerId}`;

/**
 * Issues Stream Chat user tokens in the Stream SDK's format. The token always carries `iat` (Stream
 * can revoke a user's tokens issued before a date only when they have one) and `exp` when a
 * TTL is configured. The token is returned only after its audit row is committed.
 */
export class StreamTokenService {
  constructor(
    private readonly tokens: StreamUserTokens | undefined,
    private readonly ttlSec: number | undefined,
    private readonly audit: AuditWriter,
    private readonly log: Logger,
    private readonly usage: UsageRecorder = NO_USAGE,
  ) {}

  async issue(user: UserState, customerId: number, meta: IssueMeta): Promise<{ token: string }> {
    if (customerId !== user.customerId) throw STREAM_ERRORS.CUSTOMER_MISMATCH();
    if (!this.tokens) throw STREAM_ERRORS.NOT_CONFIGURED();
    const now = new Date();
    // No audit row, no token: a failed batch fails every issuance waiting on it, as a retryable 503
    // whatever the database said (the row is what the issuance is accountable by).
    await this.audit.record({ userId: user.id, customerId, ip: meta.ip, userAgent: meta.userAgent, createdAt: now, requestId: meta.requestId }).catch((err) => {
      this.log.error("stream token audit write failed", { user_id: user.id, error: errorSummary(err) });
      throw STREAM_ERRORS.AUDIT_FAILED.withHeaders({ "Retry-After": "1" });
    });
    const iat = Math.floor(now.getTime() / 1000);
    const exp = this.ttlSec === undefined ? undefined : iat + this.ttlSec;
    const token = this.tokens.create(streamUserId(customerId), exp, iat);
    this.usage.add("tokensStream", user.id);
    return { token };
  }
}
