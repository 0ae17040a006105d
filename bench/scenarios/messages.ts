// Messaging: how many messages per second send-bulk can queue (the durable outbox insert).
import { bearer, json, notAvailable, throughput, type Bench } from "./common";

export async function sendBulk(b: Bench): Promise<void> {
  const [u] = b.seed.users;
  const ids = b.seed.contacts;
  const scenario = `POST /api/messages/send-bulk (${ids.length} recipients)`;
  if (!u?.accessToken || ids.length === 0) {
    b.rows.push(notAvailable("POST /api/messages/send-bulk", "no user access token or contacts (see seeding notes)"));
    return;
  }
  const body = JSON.stringify({ recipientIds: ids, message: "Bench message: your order has shipped." });
  const { row } = await throughput(b, scenario, { url: `${b.base}/api/messages/send-bulk`, method: "POST", headers: { ...json, ...bearer(u.accessToken) }, body });
  if (row.rps !== undefined) row.note = [`${Math.round(row.rps * ids.length)} messages queued/s`, row.note].filter(Boolean).join("; ");
  b.rows.push(row);
}
