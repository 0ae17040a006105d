// The states of one streamed answer and the only moves between them. The charge decision is in
// the states themselves: a stream that wrote answer content to the client ends `answered` and can
// only be settled; one that did not ends `unanswered` and can only be refunded.
//
//   waiting ──content──▶ relaying ──content──▶ relaying
//      │                    │
//     end                  end
//      ▼                    ▼
//   unanswered           answered
//      │                    │
//    refund               charge
//      ▼                    ▼
//   refunded             settled

/**
 * - `waiting`: Flowise answered; nothing the user paid for was written yet (its `start ""`,
 *   metadata, heartbeats may have been).
 * - `relaying`: answer content reached the client: the stream is charged however it ends.
 * - `unanswered` / `answered`: the upstream part is over (complete, Flowise's error, lost, timed
 *   out, shutdown, client gone, internal failure); the client stream is closed and the prediction
 *   is being stored and settled or refunded.
 * - `refunded` / `settled`: final.
 */
export type RelayState = "waiting" | "relaying" | "unanswered" | "answered" | "refunded" | "settled";
export type RelayEvent = "content" | "end" | "refund" | "charge";

const TRANSITIONS: Record<RelayState, Partial<Record<RelayEvent, RelayState>>> = {
  waiting: { content: "relaying", end: "unanswered" },
  relaying: { content: "relaying", end: "answered" },
  unanswered: { refund: "refunded" },
  answered: { charge: "settled" },
  refunded: {},
  settled: {},
};

export class IllegalTransition extends Error {
  constructor(
    readonly from: RelayState,
    readonly event: RelayEvent,
  ) {
    super(`stream relay: no transition from ${from} on ${event}`);
  }
}

/** The state `event` leads to from `from`; an event the table does not allow there throws. */
export function nextState(from: RelayState, event: RelayEvent): RelayState {
  const to = TRANSITIONS[from][event];
  if (!to) throw new IllegalTransition(from, event);
  return to;
}
