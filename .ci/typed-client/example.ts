// A client developer's first program against chatgate, through a client generated from the
// OpenAPI document (openapi-typescript + openapi-fetch). CI type-checks it against the freshly
// generated schema.gen.ts, then runs it against a live server: a document that drifts from the
// routes breaks the build here before it breaks a client.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.gen";

type DetailError = components["schemas"]["DetailError"];

const base = process.env.CHATGATE_URL ?? "http://127.0.0.1:8080";
const client = createClient<paths>({ baseUrl: base });

const login = await client.POST("/api/v1/chat/authenticate", {
  body: { username: process.env.CHATGATE_EMAIL ?? "admin@localhost", password: process.env.CHATGATE_PASSWORD ?? "" },
});
if (!login.data) throw new Error(`login failed: ${(login.error as DetailError | undefined)?.detail}`);
const accessToken: string = login.data.access_token;

const created = await client.POST("/api-key", {
  headers: { authorization: `Bearer ${accessToken}` },
  body: { name: "typed-client", level: "read" },
});
if (!created.data) throw new Error(`key creation failed: ${created.error?.detail}`);
const key: string = created.data.key;

const valid = await client.GET("/api/auth/validate", { headers: { "x-api-key": key } });
if (valid.data?.level !== "read") throw new Error("the new key does not validate");

// An error body, typed by the document: the `detail` family.
const refused = await client.GET("/api/auth/validate", { headers: { "x-api-key": "sk_live_not-a-key" } });
const error: DetailError | undefined = refused.error;
if (refused.response.status !== 401 || typeof error?.detail !== "string") throw new Error("expected a typed 401 body");

console.log(JSON.stringify({ logged_in: true, key_prefix: key.slice(0, 8), error_status: refused.response.status, error_detail: error.detail }));
