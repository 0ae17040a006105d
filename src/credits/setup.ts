import type { AppContext, Worker } from "../context";

export async function setupCredits(_ctx: AppContext): Promise<Worker[] | void> {}
