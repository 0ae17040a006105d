import type { AuthOptions } from "../kernel/guard";

/** Every messaging route takes an admin-issued API token, an access token or a write API key. */
export const MESSAGING_AUTH: { auth: AuthOptions } = { auth: { accept: ["apiToken", "access", "apiKey"], level: "write" } };
