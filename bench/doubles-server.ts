// The upstreams, in a process of their own (so their CPU and RSS are not the harness's): the
// Flowise double from test/doubles with one chatflow per inter-event delay, and the
// OpenAI-compatible double for the peer gateway. Prints one JSON line with both URLs.
import { startFlowiseDouble } from "../test/doubles/flowise.ts";
import { startOpenAiDouble } from "./openai-double.ts";

/** start + 197 tokens + metadata + end = 200 frames per answer. */
export const FLOWISE_TOKENS = 197;

const spec = JSON.parse(process.argv[2] ?? "{}") as { apiKey: string; flows: { id: string; delayMs: number }[] };
const flowise = await startFlowiseDouble({
  apiKey: spec.apiKey,
  heartbeatMs: 0,
  chatflows: spec.flows.map((f) => ({ id: f.id, name: `bench ${f.delayMs} ms` })),
});
for (const f of spec.flows) flowise.setAnswer({ tokenCount: FLOWISE_TOKENS, delayMs: f.delayMs }, f.id);
const openai = await startOpenAiDouble();
process.stdout.write(`${JSON.stringify({ flowise: flowise.url, openai: openai.url })}\n`);

const stop = async () => {
  await Promise.allSettled([flowise.stop(), openai.stop()]);
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
