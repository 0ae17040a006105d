// The brain (Quivr-style) chat API over the same pipeline as /api/v1/chat/predict: a chat is a
// chat session, a brain is a chatflow, and the question stream is the predict stream re-framed.
import { eq } from "drizzle-orm";
import { chatflows } from "../chatflows/schema";
import type { Principal } from "../kernel/principal";
import { AppError } from "../http/errors";
import { openPrediction, resolveChatflow, withStreamSlot, type ChatDeps, type OpenPrediction } from "../chat/pipeline";
import { getOrCreateSession, ownedSession, sessionMessages } from "../chat/sessions";
import { dataFrame } from "../chat/sse";
import { streamPrediction, type StreamEncoder, type StreamState } from "../chat/stream-run";
import type { Chatflow } from "../chatflows/schema";
import type { BrainMessage } from "./model";
import { BRAIN_ERRORS } from "./errors";

export async function createChat(deps: ChatDeps, userId: string, name: string) {
  const s = await getOrCreateSession(deps.db, { userId, chatflowId: null, name });
  return { chat_id: s.id, chat_name: s.name ?? name, user_id: s.userId, creation_time: s.createdAt.toISOString() };
}

/** Question/answer pairs, oldest first; a question whose answer failed has `assistant: ""`. */
export async function chatHistory(deps: ChatDeps, userId: string, chatId: string): Promise<BrainMessage[]> {
  const session = await ownedSession(deps.db, userId, chatId);
  let brainName: string | null = null;
  if (session.chatflowId) {
    const [flow] = await deps.db.select({ name: chatflows.name }).from(chatflows).where(eq(chatflows.id, session.chatflowId));
    brainName = flow?.name ?? null;
  }
  const out: BrainMessage[] = [];
  let open: BrainMessage | undefined; // the last question, until its answer arrives
  for (const m of await sessionMessages(deps.db, chatId)) {
    if (m.role === "assistant" && open) {
      open.message_id = m.id;
      open.assistant = m.content;
      open.metadata = { ...((m.metadata as Record<string, unknown> | null) ?? {}), status: m.status };
      open = undefined;
      continue;
    }
    const item: BrainMessage = {
      chat_id: chatId,
      message_id: m.id,
      user_message: m.role === "user" ? m.content : "",
      message_time: m.createdAt.toISOString(),
      assistant: m.role === "assistant" ? m.content : "",
      prompt_title: null,
      brain_name: brainName,
      brain_id: session.chatflowId,
      metadata: {},
    };
    out.push(item);
    open = m.role === "user" ? item : undefined;
  }
  return out;
}

function brainEncoder(p: OpenPrediction, brain: Chatflow): StreamEncoder {
  const common = {
    chat_id: p.session.id,
    message_id: p.answerId,
    user_message: p.request.question,
    message_time: p.question.createdAt.toISOString(),
    prompt_title: null,
    brain_name: brain.name,
    brain_id: brain.id,
  };
  const token = (text: string) => dataFrame({ ...common, assistant: text, metadata: {} });
  const last = (s: StreamState, extra: Record<string, unknown> = {}) => dataFrame({ ...common, assistant: "", metadata: { sources: s.sources, ...extra } });
  return {
    frame(raw, e) {
      if (e?.event === "token" && typeof e.data === "string") return [token(e.data)];
      // Flowise's own heartbeat comments pass; its other events are folded into the last frame.
      return e === undefined && raw[0] === 0x3a ? [raw] : [];
    },
    json: (_body, s) => [token(s.text), last(s)],
    failure: (message, s) => [last(s, { error: message })],
    close: (s) => [last(s, s.error === undefined ? {} : { error: s.error })],
  };
}

export interface AskBrain {
  principal: Principal;
  chatId: string;
  brainId?: string;
  question: string;
  signal?: AbortSignal;
}

export async function askBrain(deps: ChatDeps, a: AskBrain): Promise<Response> {
  const { principal } = a;
  if (a.question.trim() === "") throw BRAIN_ERRORS.BLANK_QUESTION();
  let brainId = a.brainId;
  if (principal.kind === "chat") {
    // A chat token is good for its own brain only.
    if (brainId !== undefined && brainId !== principal.brainId) throw BRAIN_ERRORS.OTHER_BRAIN();
    brainId = principal.brainId;
  }
  if (brainId === undefined) throw BRAIN_ERRORS.BRAIN_REQUIRED();
  const brain = await resolveChatflow(deps, principal.user, brainId).catch((err: unknown) => {
    if (err instanceof AppError && err.code === "NOT_FOUND") throw BRAIN_ERRORS.BRAIN_NOT_FOUND();
    if (err instanceof AppError && err.code === "FORBIDDEN") throw BRAIN_ERRORS.NO_BRAIN_ACCESS();
    throw err;
  });
  return withStreamSlot(deps, principal.user, async (slot) => {
    const p = await openPrediction(deps, {
      user: principal.user,
      chatflow: brain,
      question: a.question,
      sessionId: a.chatId,
      streaming: true,
      mode: "sse",
      clientSignal: a.signal,
      keyId: principal.keyId,
    });
    return streamPrediction(deps, p, brainEncoder(p, brain), { slot });
  });
}
