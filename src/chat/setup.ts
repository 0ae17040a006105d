import type { AppContext, Worker } from "../context";

export async function setupChat(_ctx: AppContext): Promise<Worker[] | void> {}
