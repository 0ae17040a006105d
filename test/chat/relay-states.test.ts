// The stream relay's transition table: the charge decision lives in the states, and every move the
// table does not list is refused.
import { describe, expect, test } from "bun:test";
import { IllegalTransition, nextState, type RelayEvent, type RelayState } from "../../src/chat/relay-states";

const STATES: RelayState[] = ["waiting", "relaying", "unanswered", "answered", "refunded", "settled"];
const EVENTS: RelayEvent[] = ["content", "end", "refund", "charge"];

const LEGAL: Record<string, RelayState> = {
  "waiting content": "relaying",
  "waiting end": "unanswered",
  "relaying content": "relaying",
  "relaying end": "answered",
  "unanswered refund": "refunded",
  "answered charge": "settled",
};

describe("relay transition table", () => {
  for (const from of STATES) {
    for (const event of EVENTS) {
      const to = LEGAL[`${from} ${event}`];
      test(`${from} --${event}--> ${to ?? "refused"}`, () => {
        if (to) expect(nextState(from, event)).toBe(to);
        else expect(() => nextState(from, event)).toThrow(IllegalTransition);
      });
    }
  }

  test("a stream that wrote no answer content can only be refunded, one that did only charged", () => {
    const run = (events: RelayEvent[]) => events.reduce<RelayState>((s, e) => nextState(s, e), "waiting");
    expect(run(["end", "refund"])).toBe("refunded");
    expect(() => run(["end", "charge"])).toThrow(IllegalTransition);
    expect(run(["content", "content", "end", "charge"])).toBe("settled");
    expect(() => run(["content", "end", "refund"])).toThrow(IllegalTransition);
  });

  test("nothing follows the end but the settlement: no second end, no content after it", () => {
    expect(() => nextState("answered", "end")).toThrow(IllegalTransition);
    expect(() => nextState("unanswered", "content")).toThrow(IllegalTransition);
    const err = (() => {
      try {
        nextState("settled", "refund");
      } catch (e) {
        return e as IllegalTransition;
      }
    })();
    expect(err).toMatchObject({ from: "settled", event: "refund" });
  });
});
