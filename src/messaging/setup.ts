import type { AppContext, Worker } from "../context";

export async function setupMessaging(_ctx: AppContext): Promise<Worker[] | void> {}
