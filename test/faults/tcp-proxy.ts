// A TCP proxy the test controls, between chatgate and the machine's Postgres: the database itself
// is never touched, only the path to it. Modes:
// - open: bytes flow both ways;
// - reset: every connection is destroyed and new ones are refused (ECONNREFUSED);
// - blackhole: connections stay open but nothing is forwarded (a silent network), new ones too.
// `cutOn` arms a precise cut: when a client chunk contains a needle for the n-th time, the chunk
// is dropped and the proxy resets, so a transaction dies between two of its statements.
import net from "node:net";

export type ProxyMode = "open" | "reset" | "blackhole";

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections accepted so far (each is one pooled database connection). */
  readonly accepted: number;
  /** Connections the client (chatgate) closed itself, while the proxy held them open. */
  readonly closedByClient: number;
  /** How many of the first `n` accepted connections are still open. */
  openAmongFirst(n: number): number;
  setMode(mode: ProxyMode): Promise<void>;
  cutOn(needle: string, occurrence?: number): Promise<void>;
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Accept order, from 1. */
  n?: number;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  if (!["127.0.0.1", "localhost", "::1"].includes(target.host)) throw new Error("the proxy only reaches loopback");
  let mode: ProxyMode = "open";
  let accepted = 0;
  let closedByClient = 0;
  const pairs = new Set<Pair>();
  let trigger: { needle: Buffer; left: number; fired: () => void } | undefined;

  const server = net.createServer((client) => {
    accepted++;
    if (mode === "blackhole") {
      // Accepted by the kernel, never answered: the driver's connect timeout must fire.
      client.on("error", () => {});
      // Reading (and dropping) is what lets the proxy see the client close it.
      client.on("data", () => {});
      const held: Pair = { client, upstream: new net.Socket(), n: accepted };
      pairs.add(held);
      client.on("close", () => {
        if (pairs.delete(held)) closedByClient++;
      });
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, n: accepted };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (mode === "blackhole") return;
      if (trigger && chunk.includes(trigger.needle) && --trigger.left === 0) {
        const fired = trigger.fired;
        trigger = undefined;
        void reset().then(fired);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (mode !== "blackhole") client.write(chunk);
    });
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", () => {
      if (pairs.has(pair)) closedByClient++;
      drop();
    });
    upstream.on("close", drop);
  });

  const listen = (port: number) =>
    new Promise<void>((ok, ko) => {
      server.once("error", ko);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", ko);
        ok();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;

  function destroyAll() {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
  }

  async function reset() {
    mode = "reset";
    destroyAll();
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
  }

  return {
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    get closedByClient() {
      return closedByClient;
    },
    openAmongFirst(n) {
      let open = 0;
      for (const p of pairs) if ((p.n ?? 0) <= n) open++;
      return open;
    },
    async setMode(next) {
      if (next === "reset") return reset();
      if (!server.listening) await listen(port);
      if (next === "blackhole" && mode === "open") {
        // Existing connections go silent too (no FIN, no RST): only client-side timeouts help.
        mode = next;
        return;
      }
      if (next === "open" && mode === "blackhole") destroyAll();
      mode = next;
    },
    cutOn(needle, occurrence = 1) {
      return new Promise<void>((fired) => {
        trigger = { needle: Buffer.from(needle), left: occurrence, fired };
      });
    },
    async stop() {
      trigger = undefined;
      destroyAll();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
