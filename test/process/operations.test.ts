// Operations as an ops engineer meets them on day one: a taken port, the banner, the first
// admin's password, the CLI's password and email handling, signals through `npm start`.
// Real processes (`bun src/index.ts`, `npm start`) on loopback; every wait is on an event.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { USAGE } from "../../src/cli";
import { describeAddress } from "../../src/ops/listen";

const root = join(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "chatgate-ops-"));
const children: ReturnType<typeof Bun.spawn>[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  banner: Record<string, any>;
  /** Resolves once stdout is closed: every process holding it (the server too) has exited. */
  stdoutClosed: Promise<void>;
  stdout: () => string;
  stderr: () => string;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? work, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn" });

/** Starts a command and resolves with its banner line, or rejects with its output if it exits. */
async function start(cmd: string[], env: Record<string, string>): Promise<Running> {
  const proc = Bun.spawn(cmd, { cwd: root, env: { ...baseEnv(), ...env }, stdout: "pipe", stderr: "pipe" });
  children.push(proc);
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  void (async () => {
    const r = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    for (let c = await r.read(); !c.done; c = await r.read()) err += decoder.decode(c.value);
  })().catch(() => {});
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let banner: Record<string, any> | undefined;
  while (!banner) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`exited before its banner: ${out}${err}`);
    out += decoder.decode(value);
    const line = out.split("\n").find((l) => l.includes('"msg":"listening"'));
    if (line && out.includes(`${line}\n`)) banner = JSON.parse(line);
  }
  const stdoutClosed = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += decoder.decode(r.value);
  })().catch(() => {});
  return { proc, banner, stdoutClosed, stdout: () => out, stderr: () => err };
}

async function run(cmd: string[], env: Record<string, string>, stdin?: string) {
  const proc = Bun.spawn(cmd, {
    cwd: root,
    env: { ...baseEnv(), ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(proc);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  return { stdout, stderr, code };
}

const chatgate = [process.execPath, "src/index.ts"];

async function login(base: string, username: string, password: string): Promise<number> {
  const res = await fetch(`${base}/api/v1/chat/authenticate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  await res.body?.cancel();
  return res.status;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe("start-up", () => {
  test("the banner is one JSON line naming the bound address; the generated password is only in a 0600 file", async () => {
    const dataDir = join(work, "fresh");
    const a = await start([...chatgate, "serve"], { DATA_DIR: dataDir });
    const { banner } = a;
    expect(banner.level).toBe("info");
    expect(banner.address).toBe(`127.0.0.1:${new URL(banner.url).port}`);
    expect(banner.interfaces).toBe("only 127.0.0.1");
    expect(banner.openapi).toBe(`${banner.url}/swagger`);
    expect(banner.first_admin).toBe("admin@localhost");
    // Every stdout line is JSON: the banner is a log line like the others.
    for (const line of a.stdout().split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    const file = banner.first_admin_file as string;
    expect(file).toBe(join(dataDir, "first-admin-password"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = /^password=(.+)$/m.exec(readFileSync(file, "utf8"))![1]!;
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(await login(banner.url, "admin@localhost", password)).toBe(200);
    // The image's HEALTHCHECK command: 0 while /readyz answers 200, 1 once nothing listens.
    const port = new URL(banner.url).port;
    expect((await run([...chatgate, "healthcheck"], { PORT: port })).code).toBe(0);
    a.proc.kill("SIGTERM");
    expect(await a.proc.exited).toBe(0);
    expect(a.stdout()).not.toContain(password);
    expect(a.stderr()).not.toContain(password);
    const down = await run([...chatgate, "healthcheck"], { PORT: port });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("/readyz did not answer");

    // A port already taken by a running chatgate: a start-up error naming it, exit 1.
    const b = await start([...chatgate, "serve"], { DATA_DIR: "memory://", ADMIN_PASSWORD: "bootstrap-password" });
    const taken = new URL(b.banner.url).port;
    const clash = await run([...chatgate, "serve"], { DATA_DIR: "memory://", PORT: taken, ADMIN_PASSWORD: "bootstrap-password" });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(`cannot listen on 127.0.0.1:${taken}: the port is already in use`);
    expect(clash.stdout).not.toContain('"msg":"listening"');
    // Sharing is an explicit opt-in on both sides.
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
  }, 120_000);

  test("REUSE_PORT=true lets two processes share a port on purpose", async () => {
    const env = { DATA_DIR: "memory://", ADMIN_PASSWORD: "bootstrap-password", REUSE_PORT: "true" };
    const a = await start([...chatgate, "serve"], env);
    const port = new URL(a.banner.url).port;
    const b = await start([...chatgate, "serve"], { ...env, PORT: port });
    expect(b.banner.address).toBe(`127.0.0.1:${port}`);
    for (const p of [a, b]) {
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
    }
  }, 120_000);

  test("the banner says what 0.0.0.0 and :: mean", () => {
    const fake = (hostname: string) => ({ hostname, port: 8080 }) as any;
    expect(describeAddress(fake("0.0.0.0"), "0.0.0.0")).toEqual({
      address: "0.0.0.0:8080",
      interfaces: "all IPv4 interfaces",
      url: "http://127.0.0.1:8080",
    });
    expect(describeAddress(fake("::"), "::")).toEqual({ address: "[::]:8080", interfaces: "all interfaces", url: "http://[::1]:8080" });
  });
});

test("the image checks /readyz and keeps /data to its owner", () => {
  const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
  expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["\/usr\/local\/bin\/chatgate", "healthcheck"\]$/m);
  expect(dockerfile).toMatch(/chmod 0700 \/data/);
  expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
});

test("npm test gives each test 30 s: bun takes no timeout from bunfig, and its 5 s default fails on a busy machine", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(pkg.scripts.test).toBe("bun test --timeout 30000");
  expect(readFileSync(join(root, "bunfig.toml"), "utf8")).not.toMatch(/^timeout\s*=/m);
});

describe("npm start", () => {
  test.each(["SIGTERM", "SIGINT"] as const)(
    "passes %s to the server, which stops (no orphan)",
    async (signal) => {
      const npm = await start(["npm", "start", "--silent"], { DATA_DIR: "memory://", ADMIN_PASSWORD: "bootstrap-password", LOG_LEVEL: "info" });
      const serverPid = npm.banner.pid as number;
      expect(serverPid).not.toBe(npm.proc.pid);
      npm.proc.kill(signal);
      await npm.proc.exited;
      // npm waits for its child; once npm is gone the server must be gone too, and the pipe they
      // shared is closed (an orphaned server would hold it open).
      expect(gone(serverPid)).toBe(true);
      await npm.stdoutClosed;
      expect(npm.stdout()).toContain('"msg":"stopped"');
    },
    120_000,
  );
});

describe("chatgate user create", () => {
  test("validates the email as the API does and takes the password from stdin or CHATGATE_PASSWORD", async () => {
    const dataDir = join(work, "cli");
    const bad = await run([...chatgate, "user", "create", "--email", "not an email"], { DATA_DIR: dataDir }, "long-enough-password\n");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--email: must be an email address");
    expect(existsSync(dataDir)).toBe(false);

    const viaStdin = await run([...chatgate, "user", "create", "--email", "stdin@example.test"], { DATA_DIR: dataDir }, "stdin-password-123\n");
    expect(viaStdin.code).toBe(0);
    const viaEnv = await run([...chatgate, "user", "create", "--email", "env@example.test", "--role", "admin"], {
      DATA_DIR: dataDir,
      CHATGATE_PASSWORD: "env-password-1234",
    });
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ email: "env@example.test", role: "admin" });
    const none = await run([...chatgate, "user", "create", "--email", "none@example.test"], { DATA_DIR: dataDir }, "");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("CHATGATE_PASSWORD");

    const server = await start([...chatgate, "serve"], { DATA_DIR: dataDir });
    expect(await login(server.banner.url, "stdin@example.test", "stdin-password-123")).toBe(200);
    expect(await login(server.banner.url, "env@example.test", "env-password-1234")).toBe(200);
    // Each command left one audit row, its actor the CLI, no password.
    const token = (
      await (
        await fetch(`${server.banner.url}/api/v1/chat/authenticate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "env@example.test", password: "env-password-1234" }),
        })
      ).json()
    ).access_token;
    const audit = await (await fetch(`${server.banner.url}/api/admin/audit?action=user.created`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(audit.events.map((e: { actor: unknown; changes: { email: unknown[] } }) => [e.actor, e.changes.email[1]]).sort()).toEqual([
      [{ type: "cli", id: null }, "env@example.test"],
      [{ type: "cli", id: null }, "stdin@example.test"],
    ]);
    expect(JSON.stringify(audit)).not.toContain("password-1234");
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
  }, 120_000);

  test("--help lists every environment variable the configuration reads", () => {
    const source = readFileSync(join(root, "src/config.ts"), "utf8");
    const names = [...source.matchAll(/\(env, "([A-Z_]+)"/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    for (const name of new Set(names)) expect(`${name}: ${USAGE.includes(name)}`).toBe(`${name}: true`);
    expect(USAGE).toContain("CHATGATE_PASSWORD");
    expect(USAGE).toMatch(/PORT \/ HOST .*\(8080 \/ 0\.0\.0\.0\)/);
  });
});
