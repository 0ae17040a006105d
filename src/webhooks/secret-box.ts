// Webhook signing secrets must be usable (to sign), so they are encrypted, not hashed:
// AES-256-GCM under a key derived from the master secret, bound to the webhook id (as
// associated data) so a ciphertext copied onto another row does not decrypt. Whoever reads the
// database alone learns no secret. Rotating the master secret makes stored secrets unreadable:
// roll each webhook's secret (PATCH {"rotate_secret": true}) afterwards.

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

export class SecretBox {
  private constructor(private readonly key: CryptoKey) {}

  static async create(raw: Uint8Array<ArrayBuffer>): Promise<SecretBox> {
    return new SecretBox(await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
  }

  async seal(plain: string, boundTo: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(boundTo) }, this.key, new TextEncoder().encode(plain));
    return `v1:${b64(iv)}:${b64(new Uint8Array(ct))}`;
  }

  async open(sealed: string, boundTo: string): Promise<string> {
    const [v, iv, ct] = sealed.split(":");
    if (v !== "v1" || !iv || !ct) throw new Error("unknown sealed secret format");
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: Buffer.from(iv, "base64"), additionalData: new TextEncoder().encode(boundTo) },
      this.key,
      Buffer.from(ct, "base64"),
    );
    return new TextDecoder().decode(plain);
  }
}

/** `whsec_` + base64 of 24 random bytes, as Standard Webhooks specifies. */
export const newSigningSecret = () => `whsec_${b64(crypto.getRandomValues(new Uint8Array(24)))}`;

/** The HMAC key is the base64-decoded part after `whsec_`. */
export const signingKeyOf = (secret: string) => Buffer.from(secret.replace(/^whsec_/, ""), "base64");
