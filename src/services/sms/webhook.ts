import type { SmsConfig } from "../../config.ts";
import { hex, hmacSha256 } from "../../lib/crypto.ts";
import { e164, SMS_TIMEOUT_MS, type SmsMessage, type SmsProvider } from "./index.ts";

/** `sha256=<hex HMAC-SHA256 of the raw body under the secret>`, as sent in X-Signature. */
export async function webhookSignature(secret: string, rawBody: string): Promise<string> {
  return `sha256=${hex(await hmacSha256(secret, rawBody))}`;
}

/**
 * POSTs `{to, text, purpose}` as JSON to SMS_WEBHOOK_URL, signed with SMS_WEBHOOK_SECRET in
 * `X-Signature`. Any 2xx is success; anything else (or no answer within 5 s) is a failure.
 */
export function webhookProvider(sms: SmsConfig): SmsProvider {
  return {
    name: "webhook",
    async send(message: SmsMessage) {
      if (!sms.webhookUrl || !sms.webhookSecret) throw new Error("webhook provider is not configured");
      const body = JSON.stringify({ to: e164(message.to), text: message.text, purpose: message.purpose });
      const res = await fetch(sms.webhookUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Signature": await webhookSignature(sms.webhookSecret, body) },
        body,
        signal: AbortSignal.timeout(SMS_TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    },
  };
}
