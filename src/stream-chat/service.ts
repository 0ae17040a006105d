import type { StreamChat } from "stream-chat";
import type { UserState } from "../identity/user-cache";
import { AppError } from "../http/errors";
import type { AuditWriter } from "./audit";
import type { SlidingWindowLimiter } from "./rate-limit";

export const STREAM_MESSAGES = {
  customerMismatch: "Customer ID does not match authenticated user",
  notConfigured: "Stream Chat is not configured",
  rateLimited: "Too many Stream token requests; try again later",
  badCustomerId: "customer_id must be a positive integer",
} as const;

export interface IssueMeta {
  ip: string | null;
  userAgent: string | null;
}

const MAX_CUSTOMER_ID = 2147483647; // customer ids are Postgres integers

/** A JSON integer in range; strings, floats, negatives and huge numbers are a 400. */
export function parseCustomerId(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_CUSTOMER_ID) {
    throw new AppError("BAD_REQUEST", STREAM_MESSAGES.badCustomerId);
  }
  return value;
}

/** Stream Chat user ids are `customer-{id}`, the format the iOS app relies on. */
export const streamUserId = (customerId: number) => `customer-${customerId}`;

/**
 * Issues Stream Chat user tokens with the Stream SDK. The token always carries `iat` (Stream
 * can revoke a user's tokens issued before a date only when they have one) and `exp` when a
 * TTL is configured. The token is returned only after its audit row is committed.
 */
export class StreamTokenService {
  constructor(
    private readonly client: StreamChat | undefined,
    private readonly ttlSec: number | undefined,
    private readonly limiter: SlidingWindowLimiter,
    private readonly audit: AuditWriter,
  ) {}

  async issue(user: UserState, customerId: number, meta: IssueMeta): Promise<{ token: string }> {
    if (customerId !== user.customerId) throw new AppError("FORBIDDEN", STREAM_MESSAGES.customerMismatch);
    if (!this.client) throw new AppError("UNAVAILABLE", STREAM_MESSAGES.notConfigured);
    const wait = this.limiter.take(user.id);
    if (wait > 0) throw new AppError("RATE_LIMITED", STREAM_MESSAGES.rateLimited, { "Retry-After": String(wait) });
    const now = new Date();
    await this.audit.record({ userId: user.id, customerId, ip: meta.ip, userAgent: meta.userAgent, createdAt: now });
    const iat = Math.floor(now.getTime() / 1000);
    const exp = this.ttlSec === undefined ? undefined : iat + this.ttlSec;
    return { token: this.client.createToken(streamUserId(customerId), exp, iat) };
  }
}
