import { describe, expect, test } from "bun:test";
import { FrameSplitter, parseFrame } from "../../src/chat/sse";
import { sseFrame, streamEvents } from "../doubles/flowise";

const enc = new TextEncoder();
const dec = new TextDecoder();

const sample = () =>
  [
    ...streamEvents({ tokens: ["é", "🙂 ", "tok"], question: "q", chatId: "c", chatMessageId: "m", sessionId: "c" }).map((e) => sseFrame(e.event, e.data)),
    ":heartbeat\n\n",
    sseFrame("error", "boom", "legacy"),
  ].join("");

describe("FrameSplitter", () => {
  test("cut at every byte offset, it gives back whole frames whose bytes are exactly the input", () => {
    const bytes = enc.encode(sample());
    for (let cut = 1; cut < bytes.length; cut++) {
      const sp = new FrameSplitter();
      const frames = [...sp.push(bytes.slice(0, cut)), ...sp.push(bytes.slice(cut))];
      expect(sp.rest().length).toBe(0);
      expect(Buffer.concat(frames).equals(Buffer.from(bytes))).toBe(true);
      expect(frames.length).toBe(8);
    }
  });

  test("parses events of both framings, CRLF lines, and treats comments as no event", () => {
    const frames = new FrameSplitter().push(enc.encode(sample()));
    const events = frames.map(parseFrame);
    expect(events.map((e) => e?.event)).toEqual(["start", "token", "token", "token", "metadata", "end", undefined, "error"]);
    expect(
      events
        .filter((e) => e?.event === "token")
        .map((e) => e!.data)
        .join(""),
    ).toBe("é🙂 tok");
    expect(parseFrame(enc.encode('message:\r\ndata:{"event":"token","data":"x"}\r\n\r\n'))).toEqual({ event: "token", data: "x" });
    const crlf = new FrameSplitter().push(enc.encode("data: 1\r\n\r\ndata: 2\n\n"));
    expect(crlf.map((f) => dec.decode(f))).toEqual(["data: 1\r\n\r\n", "data: 2\n\n"]);
    expect(parseFrame(enc.encode("data: not json\n\n"))).toBeUndefined();
  });
});
