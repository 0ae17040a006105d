import type { AppContext, Worker } from "../context";

export async function setupKeys(_ctx: AppContext): Promise<Worker[] | void> {}
