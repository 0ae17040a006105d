import { constants, createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Server } from "bun";
import type { Logger } from "../http/logger";
import type { Metrics } from "../http/metrics";

// HTTPS served by the binary: the certificate pair, its renewal on SIGHUP, the plain-HTTP redirect.

export class TlsError extends Error {}

/** A certificate and key read from disk and checked to belong together. */
export interface CertificatePair {
  cert: string;
  key: string;
  notAfter: Date;
  serial: string;
  fingerprint256: string;
}

function read(variable: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new TlsError(`${variable}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Reads and checks the pair. Messages name the file and the problem, never the contents (OpenSSL's
 * own messages are not passed on: they are not promised to leave key material out).
 */
export function loadCertificatePair(certFile: string, keyFile: string): CertificatePair {
  const cert = read("TLS_CERT_FILE", certFile);
  const key = read("TLS_KEY_FILE", keyFile);
  // The first block is the server's own certificate; the rest of a chain follows it.
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(cert)?.[0];
  if (!first) throw new TlsError(`TLS_CERT_FILE: ${certFile} holds no PEM certificate`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(first);
  } catch {
    throw new TlsError(`TLS_CERT_FILE: ${certFile}: the first PEM certificate cannot be parsed`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsError(`TLS_KEY_FILE: ${keyFile} holds no usable unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsError(`TLS_KEY_FILE: ${keyFile} does not match the certificate in ${certFile}`);
  }
  return { cert, key, notAfter: new Date(x509.validTo), serial: x509.serialNumber, fingerprint256: x509.fingerprint256 };
}

// Bun.serve has no minVersion; its native default floor is TLS 1.2 already. The options say so
// explicitly as well, and test/process/tls.test.ts checks that a TLS 1.1 client is refused.
const NO_OLD_PROTOCOLS = constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;

export const tlsOptions = (pair: CertificatePair) => ({ cert: pair.cert, key: pair.key, secureOptions: NO_OLD_PROTOCOLS });

export interface Listening {
  server: Server<unknown>;
}

/**
 * The served certificate and its renewal. Bun's `server.reload()` ignores `tls` (oven-sh/bun
 * #43815), so a renewal starts a successor listener with the new pair on the same port
 * (SO_REUSEPORT) and stops the old one from accepting: connections and SSE streams it holds run on
 * until they end; new connections meet the new certificate.
 */
export class TlsCertificates {
  private readonly draining = new Set<Server<unknown>>();

  constructor(
    private pair: CertificatePair,
    private readonly files: { certFile: string; keyFile: string },
    private readonly log: Logger,
  ) {}

  get current(): CertificatePair {
    return this.pair;
  }

  readiness(): Record<string, string> {
    return { tls_certificate_expires_at: this.pair.notAfter.toISOString() };
  }

  registerMetrics(metrics: Metrics): void {
    metrics.gauge("chatgate_tls_certificate_expiry_timestamp_seconds", "notAfter of the certificate served on PORT (Unix seconds)", (g) =>
      g.set({}, Math.floor(this.pair.notAfter.getTime() / 1000)),
    );
  }

  /**
   * Reads the files again and, when they are good, hands the port to a listener with the new pair.
   * `listening.server` is replaced; a bad file keeps the old pair and says why.
   */
  reload(listening: Listening, start: (tls: ReturnType<typeof tlsOptions>, port: number) => Server<unknown>): boolean {
    let next: CertificatePair;
    try {
      next = loadCertificatePair(this.files.certFile, this.files.keyFile);
    } catch (e) {
      this.log.error("tls reload failed: keeping the current certificate", {
        error: e instanceof TlsError ? e.message : "unexpected error",
        serial: this.pair.serial,
        expires_at: this.pair.notAfter.toISOString(),
      });
      return false;
    }
    const old = listening.server;
    let successor: Server<unknown>;
    try {
      successor = start(tlsOptions(next), old.port!);
    } catch (e) {
      this.log.error("tls reload failed: keeping the current certificate", {
        error: `cannot start a listener with the new certificate: ${(e as Error).message}`,
        serial: this.pair.serial,
      });
      return false;
    }
    listening.server = successor;
    this.pair = next;
    this.draining.add(old);
    void Promise.resolve(old.stop(false)).finally(() => this.draining.delete(old));
    this.log.info("tls certificate reloaded", {
      serial: next.serial,
      fingerprint_sha256: next.fingerprint256,
      expires_at: next.notAfter.toISOString(),
    });
    return true;
  }

  /** Listeners still finishing connections from before a renewal (stopped with the process). */
  drainingServers(): Server<unknown>[] {
    return [...this.draining];
  }
}

/** The authority (host[:port]) a redirect may point at: a hostname or address, nothing else. */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** 308 to the same host, path and query on https (the HTTPS port, unless 443, replaces any port). */
export function redirectTarget(request: Request, httpsPort: number): string | undefined {
  const host = request.headers.get("host");
  if (!host || !HOST.test(host)) return undefined;
  const name = host.replace(/:\d+$/, "");
  const url = new URL(request.url);
  return `https://${name}${httpsPort === 443 ? "" : `:${httpsPort}`}${url.pathname}${url.search}`;
}

/**
 * With REUSE_PORT off, a port someone else holds must still stop start-up, though the HTTPS
 * listener sets SO_REUSEPORT (its renewal needs it): a plain bind first proves the port free, and
 * names the port when PORT=0.
 */
export function claimPort(host: string, port: number): number {
  const probe = Bun.listen({ hostname: host, port, socket: { data() {} } });
  const claimed = probe.port;
  probe.stop(true);
  return claimed;
}

export function startRedirectListener(opts: { host: string; port: number; httpsPort: number }): Server<unknown> {
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    reusePort: false,
    fetch(request) {
      const location = redirectTarget(request, opts.httpsPort);
      if (!location) {
        return Response.json({ detail: "A Host header naming this server is required" }, { status: 400 });
      }
      return new Response(null, { status: 308, headers: { location } });
    },
  });
}
