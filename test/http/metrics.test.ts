import { describe, expect, test } from "bun:test";
import { Counter, Histogram } from "../../src/http/metrics";

describe("metrics label keys", () => {
  test("the same labels in another order are one series", () => {
    const c = new Counter("t_total", "test");
    c.inc({ route: "/a", method: "GET", status: "200" });
    c.inc({ status: "200", method: "GET", route: "/a" });
    expect(c.get({ method: "GET", route: "/a", status: "200" })).toBe(2);
    expect(c.render()).toBe('# HELP t_total test\n# TYPE t_total counter\nt_total{method="GET",route="/a",status="200"} 2');
  });

  test("label sets whose names and values run together stay apart", () => {
    const c = new Counter("t_total", "test");
    c.inc({ ab: "c" });
    c.inc({ a: "bc" });
    c.inc({ a: "bc" });
    expect(c.get({ ab: "c" })).toBe(1);
    expect(c.get({ a: "bc" })).toBe(2);
  });

  test("quotes, backslashes and newlines in values are escaped", () => {
    const h = new Histogram("t_seconds", "test");
    h.observe({ route: 'a"b\\c\nd' }, 0.002);
    expect(h.render()).toContain('t_seconds_count{route="a_b_c_d"} 1');
  });

  test("counts stay right past the key cache's bound", () => {
    const c = new Counter("t_total", "test");
    for (let i = 0; i < 10_050; i++) c.inc({ route: `/r${i}` });
    c.inc({ route: "/r0" });
    c.inc({ route: "/r10049" });
    expect(c.get({ route: "/r0" })).toBe(2);
    expect(c.get({ route: "/r10049" })).toBe(2);
    expect(c.get({ route: "/r5000" })).toBe(1);
  });
});
