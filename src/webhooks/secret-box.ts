import type { KeySealer } from "../kernel/signing-keys";

// Webhook signing secrets must be usable (to sign), so they are encrypted, not hashed, with the
// kernel's sealer (AES-256-GCM under a key derived from the master secret, also opened with
// JWT_SECRET_PREVIOUS after a rotation), bound to the webhook id so a ciphertext copied onto
// another row does not open. Whoever reads the database alone learns no secret.

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

export interface SecretBox {
  seal(plain: string, webhookId: string): Promise<string>;
  open(sealed: string, webhookId: string): Promise<string>;
}

export const secretBox = (sealer: KeySealer): SecretBox => ({
  seal: (plain, id) => sealer.seal(new TextEncoder().encode(plain), `webhook:${id}`),
  open: async (sealed, id) => new TextDecoder().decode(await sealer.open(sealed, `webhook:${id}`)),
});

/** `whsec_` + base64 of 24 random bytes, as Standard Webhooks specifies. */
export const newSigningSecret = () => `whsec_${b64(crypto.getRandomValues(new Uint8Array(24)))}`;

/** The HMAC key is the base64-decoded part after `whsec_`. */
export const signingKeyOf = (secret: string) => Buffer.from(secret.replace(/^whsec_/, ""), "base64");
