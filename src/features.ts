import type { AppContext, Worker } from "./context";
import { setupChat } from "./chat/setup";
import { setupCredits } from "./credits/setup";
import { setupIdentity } from "./identity/setup";
import { setupKeys } from "./keys/setup";
import { setupMessaging } from "./messaging/setup";

/** Each feature wires its services into the context and returns the workers it started. */
export type FeatureSetup = (ctx: AppContext) => Promise<Worker[] | void>;

export const FEATURE_SETUPS: FeatureSetup[] = [setupIdentity, setupKeys, setupCredits, setupChat, setupMessaging];
