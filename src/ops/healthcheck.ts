/**
 * `chatgate healthcheck`: the image's HEALTHCHECK, so the final image needs no curl. Asks the
 * local server's /readyz (the database answers) and exits 0 only on 200.
 */
export async function healthcheck(portEnv: string | undefined, https = false): Promise<number> {
  const port = Number(portEnv ?? "8080");
  try {
    // Over HTTPS the question is whether the local process answers, not who it is: the
    // certificate names the public host, not 127.0.0.1.
    const res = await fetch(`${https ? "https" : "http"}://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(4000),
      ...(https ? { tls: { rejectUnauthorized: false } } : {}),
    });
    await res.body?.cancel();
    if (res.status === 200) return 0;
    console.error(`chatgate: /readyz answered ${res.status}`);
  } catch (e) {
    console.error(`chatgate: /readyz did not answer: ${(e as Error).message}`);
  }
  return 1;
}
