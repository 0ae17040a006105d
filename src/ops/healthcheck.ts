/**
 * `chatgate healthcheck`: the image's HEALTHCHECK, so the final image needs no curl. Asks the
 * local server's /readyz (the database answers) and exits 0 only on 200.
 */
export async function healthcheck(portEnv: string | undefined): Promise<number> {
  const port = Number(portEnv ?? "8080");
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(4000) });
    await res.body?.cancel();
    if (res.status === 200) return 0;
    console.error(`chatgate: /readyz answered ${res.status}`);
  } catch (e) {
    console.error(`chatgate: /readyz did not answer: ${(e as Error).message}`);
  }
  return 1;
}
