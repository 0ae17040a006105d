// HTTPS served by the binary: a CA and certificates made at run time with the openssl CLI, a real
// `bun src/index.ts serve` process, clients that trust only that CA. Protocol floor, renewal on
// SIGHUP while an SSE prediction streams, a bad file on SIGHUP, the 308 redirect, HSTS, expiry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFlowiseDouble, type FlowiseDouble } from "../doubles/flowise";

const root = join(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "chatgate-tls-"));
const hasOpenssl = Bun.which("openssl") !== null;
if (!hasOpenssl) console.warn("openssl is not installed: the HTTPS tests are skipped (.ci/run installs it)");

const ADMIN_EMAIL = "ops@example.test";
const ADMIN_PASSWORD = "correct horse battery staple";
const FLOWISE_KEY = "flowise-key-tls";
const SLOW = "7d2e4f3a-5b6c-4d7e-8f90-a1b2c3d4e5f6";
const children: ReturnType<typeof Bun.spawn>[] = [];
let flowise: FlowiseDouble;
let ca: string;

function openssl(...args: string[]): string {
  const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** A server certificate for localhost/127.0.0.1 signed by the test CA: `<name>.pem` (chain), `<name>.key`. */
function issue(name: string, serial: string, days: number): { cert: string; key: string } {
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", "/CN=localhost");
  writeFileSync(join(dir, `${name}.ext`), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    `0x${serial}`,
    "-days",
    String(days),
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  );
  // The served file is the chain: the leaf, then the CA.
  const cert = readFileSync(join(dir, `${name}.crt`), "utf8") + ca;
  return { cert, key: readFileSync(join(dir, `${name}.key`), "utf8") };
}

/** Replaces a file the way certbot's deploy step does: a new file renamed over the old path. */
function replace(path: string, contents: string) {
  writeFileSync(`${path}.new`, contents);
  renameSync(`${path}.new`, path);
}

const notAfter = (pem: string) => new Date(new X509Certificate(pem).validTo);
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  redirectPort?: number;
  base: string;
  output: () => string;
  /** Resolves once a stdout/stderr line matches (lines already written count). */
  waitFor: (pattern: RegExp, after?: number) => Promise<string>;
}

async function serve(env: Record<string, string>): Promise<Server> {
  const proc = Bun.spawn([process.execPath, "src/index.ts", "serve"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", DATA_DIR: "memory://", ADMIN_EMAIL, ADMIN_PASSWORD, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(proc);
  let out = "";
  const waiters: (() => void)[] = [];
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      out += decoder.decode(r.value);
      for (const w of waiters.splice(0)) w();
    }
    for (const w of waiters.splice(0)) w();
  };
  void drain(proc.stdout as ReadableStream<Uint8Array>).catch(() => {});
  void drain(proc.stderr as ReadableStream<Uint8Array>).catch(() => {});
  const waitFor = async (pattern: RegExp, after = 0): Promise<string> => {
    for (;;) {
      const line = out
        .slice(after)
        .split("\n")
        .find((l) => pattern.test(l));
      if (line) return line;
      if (proc.exitCode !== null) throw new Error(`exited (${proc.exitCode}) before ${pattern}: ${out}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const banner = JSON.parse(await waitFor(/"msg":"listening"/));
  const port = Number(new URL(banner.url).port);
  return { proc, port, redirectPort: banner.http_redirect_port, base: `https://localhost:${port}`, output: () => out, waitFor };
}

/** fetch that trusts only the test CA. */
const get = (url: string, init: RequestInit = {}) => fetch(url, { ...init, tls: { ca } } as RequestInit);

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const res = await get(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** A new TLS connection: the protocol it negotiated and the certificate it was shown. */
function handshake(port: number, versions: { min?: tls.SecureVersion; max?: tls.SecureVersion } = {}) {
  return new Promise<{ protocol: string | null; serial: string; fingerprint256: string }>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca, minVersion: versions.min, maxVersion: versions.max }, () => {
      const peer = socket.getPeerCertificate();
      resolve({ protocol: socket.getProtocol(), serial: peer.serialNumber.toUpperCase(), fingerprint256: peer.fingerprint256 });
      socket.end();
    });
    socket.on("error", reject);
  });
}

/** `openssl s_client` at one protocol version, with every cipher allowed on its side. */
async function sClient(port: number, version: string): Promise<string> {
  const proc = Bun.spawn(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, `-${version}`, "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", join(dir, "ca.pem")], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [o, e] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text()]);
  await proc.exited;
  return o + e;
}

async function metricValue(base: string): Promise<number> {
  const text = await (await get(`${base}/metrics`)).text();
  return Number(/^chatgate_tls_certificate_expiry_timestamp_seconds (\d+)$/m.exec(text)?.[1]);
}

beforeAll(async () => {
  if (!hasOpenssl) return;
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "60", "-subj", "/CN=chatgate test CA");
  ca = readFileSync(join(dir, "ca.pem"), "utf8");
  flowise = await startFlowiseDouble({ apiKey: FLOWISE_KEY, chatflows: [{ id: SLOW, name: "slow" }], heartbeatMs: 0 });
  // Long enough to span the renewal; the test waits on events, not on this pace.
  flowise.setAnswer({ tokenCount: 50, delayMs: 100 }, SLOW);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await flowise?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.if(hasOpenssl)("HTTPS", () => {
  test("configuration errors stop start-up with a clear message and no secret", async () => {
    const good = issue("cfg", "C0FFEE01", 2);
    const other = issue("other", "C0FFEE02", 2);
    writeFileSync(join(dir, "cfg.chain.pem"), good.cert);
    writeFileSync(join(dir, "garbage.pem"), "not a certificate\n");
    const cases: [Record<string, string>, string][] = [
      [{ TLS_CERT_FILE: join(dir, "cfg.chain.pem") }, "TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together"],
      [{ TLS_KEY_FILE: join(dir, "cfg.key") }, "TLS_CERT_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together"],
      [{ TLS_CERT_FILE: join(dir, "missing.pem"), TLS_KEY_FILE: join(dir, "cfg.key") }, `TLS_CERT_FILE: cannot read ${join(dir, "missing.pem")} (ENOENT)`],
      [{ TLS_CERT_FILE: join(dir, "garbage.pem"), TLS_KEY_FILE: join(dir, "cfg.key") }, "holds no PEM certificate"],
      [{ TLS_CERT_FILE: join(dir, "cfg.chain.pem"), TLS_KEY_FILE: join(dir, "garbage.pem") }, "holds no usable unencrypted PEM private key"],
      [{ TLS_CERT_FILE: join(dir, "cfg.chain.pem"), TLS_KEY_FILE: join(dir, "other.key") }, "does not match the certificate"],
      [{ HTTP_REDIRECT_PORT: "8081" }, "HTTP_REDIRECT_PORT: needs TLS_CERT_FILE and TLS_KEY_FILE"],
    ];
    for (const [env, message] of cases) {
      const proc = Bun.spawn([process.execPath, "src/index.ts", "serve"], {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", DATA_DIR: "memory://", ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
      expect({ code, stderr }).toMatchObject({ code: 1, stderr: expect.stringContaining(`chatgate: invalid configuration: `) });
      expect(stderr).toContain(message);
      expect(stdout).not.toContain('"msg":"listening"');
      // The key's body never reaches the output.
      const keyLine = other.key.split("\n")[1]!;
      expect(stderr + stdout).not.toContain(keyLine);
    }
  }, 60_000);

  test("TLS 1.2/1.3 only, renewal on SIGHUP with an SSE stream open, a bad file keeps the pair, redirect and HSTS", async () => {
    const first = issue("first", "A1A1A1", 3);
    const renewed = issue("renewed", "B2B2B2", 40);
    const certFile = join(dir, "live.pem");
    const keyFile = join(dir, "live.key");
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key, { mode: 0o600 });
    const s = await serve({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, HTTP_REDIRECT_PORT: "0", FLOWISE_URL: flowise.url, FLOWISE_API_KEY: FLOWISE_KEY });
    expect(s.output()).toContain(`"url":"https://127.0.0.1:${s.port}"`);

    // Only a client trusting the test CA gets through; the system store does not know it.
    await expect(fetch(`${s.base}/healthz`)).rejects.toThrow();
    const ready = await get(`${s.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect((await ready.json()).tls_certificate_expires_at).toBe(notAfter(first.cert).toISOString());
    expect(await metricValue(s.base)).toBe(notAfter(first.cert).getTime() / 1000);
    // Error answers carry it too.
    expect((await get(`${s.base}/no-such-route`)).headers.get("strict-transport-security")).toBe("max-age=31536000");

    // Protocol floor: 1.2 and 1.3 negotiate; 1.1 is refused by the server (its alert, not the client's own refusal).
    expect((await handshake(s.port, { min: "TLSv1.2", max: "TLSv1.2" })).protocol).toBe("TLSv1.2");
    expect((await handshake(s.port, { min: "TLSv1.3", max: "TLSv1.3" })).protocol).toBe("TLSv1.3");
    const old = await sClient(s.port, "tls1_1");
    expect(old).toMatch(/alert protocol version/);
    expect(old).toContain("no peer certificate available");
    expect(old).toContain("Cipher is (NONE)");
    // The same client at 1.2 completes its handshake: the refusal above is about the version.
    const modern = await sClient(s.port, "tls1_2");
    expect(modern).toMatch(/New, TLSv1\.2, Cipher is [A-Z0-9-]+/);
    expect(modern).toContain("Verify return code: 0 (ok)");

    // The plain listener: 308 to the same host, path and query on the HTTPS port; no HSTS on plain HTTP.
    const plain = await fetch(`http://127.0.0.1:${s.redirectPort}/api/v1/chat/predict?x=1&y=%20`, { redirect: "manual", headers: { host: `chat.example.test:${s.redirectPort}` } });
    expect(plain.status).toBe(308);
    expect(plain.headers.get("location")).toBe(`https://chat.example.test:${s.port}/api/v1/chat/predict?x=1&y=%20`);
    expect(plain.headers.get("strict-transport-security")).toBeNull();
    const followed = await get(`http://localhost:${s.redirectPort}/readyz`);
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(`${s.base}/readyz`);

    // An SSE prediction opens and streams on the first certificate.
    const login = await call(s.base, "POST", "/api/v1/chat/authenticate", undefined, { username: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const token = login.access_token as string;
    await call(s.base, "POST", "/api/admin/chatflows", token, { id: SLOW, name: "slow", cost: 1 });
    const me = await call(s.base, "GET", "/api/auth/me", token);
    await call(s.base, "POST", `/api/admin/users/${me.id}/credits`, token, { amount: 100, reason: "tls test" });
    const stream = await get(`${s.base}/api/v1/chat/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ chatflow_id: SLOW, question: "a long answer please", streaming: true }),
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("strict-transport-security")).toBe("max-age=31536000");
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (done: (t: string) => boolean) => {
      while (!done(text)) {
        const r = await reader.read();
        if (r.done) break;
        text += decoder.decode(r.value, { stream: true });
      }
    };
    const tokens = () => (text.match(/"event":"token"/g) ?? []).length;
    await readUntil(() => tokens() >= 2);
    const before = await handshake(s.port);
    expect(before.serial).toBe(serialOf(first.cert));

    // Renewal: new files, SIGHUP; the reload is logged, new connections see the new certificate.
    replace(certFile, renewed.cert);
    replace(keyFile, renewed.key);
    let mark = s.output().length;
    s.proc.kill("SIGHUP");
    const reloaded = JSON.parse(await s.waitFor(/tls certificate reloaded/, mark));
    expect(reloaded.serial).toBe(serialOf(renewed.cert));
    // The upstream was still generating when the listener changed: the stream really spans the renewal.
    expect(flowise.stats.streamsCompleted).toBe(0);
    const after = await handshake(s.port);
    expect(after.serial).toBe(serialOf(renewed.cert));
    expect(after.fingerprint256).toBe(new X509Certificate(renewed.cert).fingerprint256);
    const tokensAtReload = tokens();
    // The open stream goes on to its normal end on the old connection.
    await readUntil((t) => t.includes('"event":"end"'));
    expect(tokens()).toBeGreaterThan(tokensAtReload);
    expect(text).toContain('"event":"end"');
    expect(text).not.toContain('"event":"error"');
    expect(flowise.stats.streamsCompleted).toBe(1);
    expect((await (await get(`${s.base}/readyz`)).json()).tls_certificate_expires_at).toBe(notAfter(renewed.cert).toISOString());
    expect(await metricValue(s.base)).toBe(notAfter(renewed.cert).getTime() / 1000);

    // A bad file on SIGHUP: logged with the reason, the renewed pair stays.
    const keyBody = renewed.key.split("\n")[1]!;
    for (const [file, contents, reason] of [
      [certFile, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n", "cannot be parsed"],
      [keyFile, issue("stray", "D4D4D4", 2).key, "does not match the certificate"],
    ] as const) {
      const saved = readFileSync(file, "utf8");
      replace(file, contents);
      mark = s.output().length;
      s.proc.kill("SIGHUP");
      const failed = JSON.parse(await s.waitFor(/tls reload failed/, mark));
      expect(failed.level).toBe("error");
      expect(failed.error).toContain(reason);
      expect(failed.serial).toBe(serialOf(renewed.cert));
      expect((await handshake(s.port)).serial).toBe(serialOf(renewed.cert));
      expect((await get(`${s.base}/readyz`)).status).toBe(200);
      replace(file, saved);
    }
    expect(s.output()).not.toContain(keyBody);

    s.proc.kill("SIGTERM");
    expect(await s.proc.exited).toBe(0);
  }, 120_000);

  test("HSTS_MAX_AGE=0 sends no Strict-Transport-Security; `chatgate healthcheck` speaks HTTPS", async () => {
    const pair = issue("nohsts", "E5E5E5", 2);
    writeFileSync(join(dir, "nohsts.chain.pem"), pair.cert);
    const env = { TLS_CERT_FILE: join(dir, "nohsts.chain.pem"), TLS_KEY_FILE: join(dir, "nohsts.key") };
    const s = await serve({ ...env, HSTS_MAX_AGE: "0" });
    const res = await get(`${s.base}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.has("strict-transport-security")).toBe(false);
    const check = Bun.spawn([process.execPath, "src/index.ts", "healthcheck"], { cwd: root, env: { PATH: process.env.PATH ?? "", PORT: String(s.port), ...env } });
    expect(await check.exited).toBe(0);
    s.proc.kill("SIGTERM");
    expect(await s.proc.exited).toBe(0);
  }, 60_000);
});
