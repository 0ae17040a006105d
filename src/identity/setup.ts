import type { AppContext, Worker } from "../context";

export async function setupIdentity(_ctx: AppContext): Promise<Worker[] | void> {}
