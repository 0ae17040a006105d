import type { Recorder } from "../audit/service";
import type { Core } from "../kernel/core";
import type { UserCache } from "./user-cache";

/** What identity's services need: the kernel plus the feature's own user cache. */
export type IdentityContext = Core & { users: UserCache; record: Recorder };
