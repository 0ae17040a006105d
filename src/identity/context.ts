import type { Recorder } from "../audit/service";
import type { Core } from "../kernel/core";
import type { EventHooks } from "../kernel/events";
import type { UsageRecorder } from "../kernel/usage";
import type { UserCache } from "./user-cache";

/** What identity's services need: the kernel plus the feature's own user cache. */
export type IdentityContext = Core &
  EventHooks & {
    users: UserCache;
    record: Recorder;
    /** Logins, refused logins and the tokens they issue, counted in usage rollups. */
    usage: UsageRecorder;
    /** login.throttled is announced once per account and window on this instance: key → until (ms). */
    throttleNoticed: Map<string, number>;
  };
