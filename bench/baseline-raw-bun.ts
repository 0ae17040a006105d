// The machine's ceiling: a bare Bun.serve answering a fixed JSON body, run as its own process
// like chatgate, so both are measured with the same load generator on the same cores.
const port = Number(process.argv[2] ?? "0");
const body = JSON.stringify({ id: "usr_0123456789abcdef", email: "user@bench.local", role: "user", valid: true });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
process.stdout.write(`listening ${server.port}\n`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
