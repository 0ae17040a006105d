import { t } from "elysia";

export const createChatBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 200, error: "name: required, 1 to 200 characters" }),
});

export const chatCreated = t.Object({
  chat_id: t.String(),
  chat_name: t.String(),
  user_id: t.String(),
  creation_time: t.String({ format: "date-time" }),
});

export const chatParams = t.Object({
  chat_id: t.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$", error: "chat_id: 1 to 100 characters of A-Z a-z 0-9 _ . : -" }),
});

export const questionQuery = t.Object({
  brain_id: t.Optional(t.String({ minLength: 1, maxLength: 200, error: "brain_id: 1 to 200 characters" })),
});

export const questionBody = t.Object({
  question: t.String({ minLength: 1, maxLength: 32_000, error: "question: required, 1 to 32000 characters" }),
});

/** One frame of the question stream, and one entry of a chat's history. */
export const brainMessage = t.Object({
  chat_id: t.String(),
  message_id: t.String(),
  user_message: t.String(),
  message_time: t.String({ format: "date-time" }),
  assistant: t.String(),
  prompt_title: t.Union([t.String(), t.Null()]),
  brain_name: t.Union([t.String(), t.Null()]),
  brain_id: t.Union([t.String(), t.Null()]),
  metadata: t.Record(t.String(), t.Unknown()),
});
export type BrainMessage = typeof brainMessage.static;

export const brainModels = { BrainChatCreate: createChatBody, BrainChat: chatCreated, BrainMessage: brainMessage, BrainQuestion: questionBody };
