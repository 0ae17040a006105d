// The schema-driven rule behind "null means absent", on shapes the routes do not have today
// (nested objects, arrays of objects, unions), so a future route gets it without thinking.
import { describe, expect, test } from "bun:test";
import { t } from "elysia";
import { dropNullOptionals } from "../../src/http/lenient-nulls";

const schema = t.Object({
  required: t.String(),
  optional: t.Optional(t.String()),
  nullable: t.Optional(t.Union([t.String(), t.Null()])),
  nested: t.Optional(t.Object({ inner: t.Optional(t.Number()), keep: t.Number() })),
  list: t.Optional(t.Array(t.Object({ tag: t.Optional(t.String()) }))),
  either: t.Optional(t.Union([t.Object({ a: t.Optional(t.String()) }), t.String()])),
});

describe("dropNullOptionals", () => {
  test("drops null optional fields at every depth; keeps required and nullable ones", () => {
    const body = { required: null, optional: null, nullable: null, nested: { inner: null, keep: null }, list: [{ tag: null }, { tag: "x" }], either: { a: null } };
    expect(dropNullOptionals(schema, body)).toEqual({ required: null, nullable: null, nested: { keep: null }, list: [{}, { tag: "x" }], either: {} });
  });

  test("a null optional body is no body; a null required body stays null", () => {
    expect(dropNullOptionals(t.Optional(t.Object({ a: t.Optional(t.String()) })), null)).toBeUndefined();
    expect(dropNullOptionals(t.Object({ a: t.Optional(t.String()) }), null)).toBeNull();
  });

  test("values that are not objects pass through", () => {
    expect(dropNullOptionals(schema, "text")).toBe("text");
    expect(dropNullOptionals(schema, 5)).toBe(5);
  });
});
