import { t } from "elysia";
import { pageFields } from "../http/paging";

export const MAX_QUESTION = 32_000;

export const predictBody = t.Object({
  chatflow_id: t.String({ minLength: 1, maxLength: 200, error: "chatflow_id: required, 1 to 200 characters" }),
  question: t.String({ minLength: 1, maxLength: MAX_QUESTION, error: `question: required, 1 to ${MAX_QUESTION} characters` }),
  overrideConfig: t.Optional(
    t.Record(t.String(), t.Unknown(), { description: "Only keys listed in FLOWISE_OVERRIDE_ALLOW; others → 422", error: "overrideConfig: must be an object" }),
  ),
  session_id: t.Optional(t.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$", error: "session_id: 1 to 100 characters of A-Z a-z 0-9 _ . : -" })),
  streaming: t.Optional(t.Boolean({ error: "streaming: must be true or false" })),
});
export type PredictBody = typeof predictBody.static;

export const predictAnswer = t.Object(
  { session_id: t.String() },
  { additionalProperties: true, description: "Flowise's JSON answer (text, chatId, chatMessageId, sourceDocuments, ...) plus session_id" },
);

export const sessionsQuery = t.Object(pageFields(200, 50));

export const sessionSummary = t.Object({
  session_id: t.String(),
  chatflow_id: t.Union([t.String(), t.Null()]),
  topic: t.Union([t.String(), t.Null()]),
  created_at: t.String({ format: "date-time" }),
});
export type SessionSummary = typeof sessionSummary.static;

export const sessionList = t.Object({ sessions: t.Array(sessionSummary), count: t.Integer() });

export const sessionParams = t.Object({ id: t.String({ minLength: 1, maxLength: 100 }) });

export const historyMessage = t.Object({
  role: t.Union([t.Literal("user"), t.Literal("assistant")]),
  content: t.String(),
  timestamp: t.String({ format: "date-time" }),
  status: t.Union([t.Literal("complete"), t.Literal("incomplete"), t.Literal("error"), t.Literal("failed")], {
    description:
      "complete; incomplete = answer cut short (client left, Flowise lost); error = Flowise reported an error; " +
      "failed = a question no answer content followed (the prediction was refunded)",
  }),
});

export const sessionHistoryModel = t.Object({ session_id: t.String(), messages: t.Array(historyMessage) });

export const chatModels = {
  ChatPredictRequest: predictBody,
  ChatPredictAnswer: predictAnswer,
  ChatSessionList: sessionList,
  ChatSessionHistory: sessionHistoryModel,
};
