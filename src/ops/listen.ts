import type { Server } from "bun";

export class StartupError extends Error {}

/** What the listening socket really is, for the banner (0.0.0.0 / :: mean every interface). */
export function describeAddress(server: Server<unknown>, requestedHost: string, scheme: "http" | "https" = "http") {
  const host = server.hostname ?? requestedHost;
  const port = server.port!;
  const everywhere = host === "0.0.0.0" || host === "::" || host === "[::]";
  const literal = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const localHost = everywhere ? (host === "0.0.0.0" ? "127.0.0.1" : "[::1]") : literal;
  return {
    address: `${literal}:${port}`,
    interfaces: everywhere ? `all ${host === "0.0.0.0" ? "IPv4 " : ""}interfaces` : `only ${host}`,
    url: `${scheme}://${localHost}:${port}`,
  };
}

/** Bun reports a taken port as EADDRINUSE; anything else about the socket is named as it is. */
export function explainListenError(e: unknown, host: string, port: number): StartupError {
  const code = (e as { code?: string })?.code;
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE" || /in use/i.test(String((e as Error)?.message))) {
    return new StartupError(
      `cannot listen on ${where}: the port is already in use by another process (stop it or set PORT; ` +
        `REUSE_PORT=true lets several chatgate processes share one port on purpose)`,
    );
  }
  if (code === "EACCES") return new StartupError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`);
  if (code === "EADDRNOTAVAIL") return new StartupError(`cannot listen on ${where}: HOST is not an address of this machine`);
  return new StartupError(`cannot listen on ${where}: ${(e as Error)?.message ?? e}`);
}
