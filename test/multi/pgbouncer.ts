// A PgBouncer process for tests, in front of the test Postgres, with its config written at run
// time on a loopback port. Debian's package (`apt-get install -y pgbouncer`); PgBouncer refuses to
// run as root, so as root it is started with `-u postgres`. Only loopback targets.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => existsSync(p));

export interface Bouncer {
  /** `target` with host and port replaced by PgBouncer's. */
  url: string;
  port: number;
  stop(): Promise<void>;
  output(): string;
}

async function freePort(): Promise<number> {
  return new Promise((ok, ko) => {
    const s = net.createServer();
    s.once("error", ko);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => ok(port));
    });
  });
}

export async function startPgBouncer(target: string, opts: { poolMode: "session" | "transaction"; poolSize: number }): Promise<Bouncer> {
  if (!PGBOUNCER) throw new Error("pgbouncer is not installed (apt-get install -y pgbouncer)");
  const u = new URL(target);
  if (!["127.0.0.1", "localhost"].includes(u.hostname)) throw new Error("pgbouncer tests only reach loopback");
  const dir = mkdtempSync(join(tmpdir(), "chatgate-pgbouncer-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const db = u.pathname.slice(1);
  const user = decodeURIComponent(u.username || "postgres");
  writeFileSync(join(dir, "userlist.txt"), `"${user}" ""\n`);
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `${db} = host=${u.hostname} port=${u.port || 5432} dbname=${db}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      "auth_type = trust",
      `auth_file = ${join(dir, "userlist.txt")}`,
      `pool_mode = ${opts.poolMode}`,
      `default_pool_size = ${opts.poolSize}`,
      "max_client_conn = 500",
      // What operators commonly set; chatgate itself sends no statement_timeout at start-up in
      // pooler modes, so it does not depend on this.
      "ignore_startup_parameters = extra_float_digits",
      "server_reset_query = DISCARD ALL",
      "",
    ].join("\n"),
  );
  for (const f of ["userlist.txt", "pgbouncer.ini"]) chmodSync(join(dir, f), 0o644);
  const asRoot = process.getuid?.() === 0;
  const proc = Bun.spawn([PGBOUNCER, ...(asRoot ? ["-u", "postgres"] : []), join(dir, "pgbouncer.ini")], { stdout: "pipe", stderr: "pipe" });
  let out = "";
  const decoder = new TextDecoder();
  for (const s of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      const r = s.getReader();
      for (let x = await r.read(); !x.done; x = await r.read()) out += decoder.decode(x.value);
    })().catch(() => {});
  }
  // Ready when it accepts connections.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`pgbouncer exited (${proc.exitCode}): ${out}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), r(true)));
      c.once("error", () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer not listening: ${out}`);
    await Bun.sleep(50);
  }
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    port,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
