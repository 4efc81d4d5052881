import type { SmsConfig } from "../../config.ts";
import { SMS_TIMEOUT_MS, type SmsMessage, type SmsProvider } from "./index.ts";

/**
 * MSG91 (India), Flow API: `POST {MSG91_BASE_URL}/api/v5/flow` with the `authkey` header and
 * `{template_id, short_url: "0", recipients: [{mobiles: "91XXXXXXXXXX", otp, purpose}]}`. The
 * DLT-approved template (MSG91_TEMPLATE_ID) holds the text, with `##otp##` where the code goes.
 * MSG91 answers `{"type":"success"|"error","message"}`; anything but a 2xx success fails.
 */
export function msg91Provider(sms: SmsConfig): SmsProvider {
  return {
    name: "msg91",
    async send(message: SmsMessage) {
      if (!sms.msg91AuthKey || !sms.msg91TemplateId) throw new Error("msg91 provider is not configured");
      const res = await fetch(`${sms.msg91BaseUrl}/api/v5/flow`, {
        method: "POST",
        headers: { authkey: sms.msg91AuthKey, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          template_id: sms.msg91TemplateId,
          short_url: "0",
          recipients: [{ mobiles: `91${message.to}`, otp: message.code, purpose: message.purpose }],
        }),
        signal: AbortSignal.timeout(SMS_TIMEOUT_MS),
      });
      const answer = (await res.json().catch(() => null)) as { type?: unknown; message?: unknown } | null;
      if (!res.ok || answer?.type !== "success") {
        // MSG91's message names the problem (bad key, template…); it never echoes the code.
        throw new Error(
          `msg91 answered ${res.status} ${String(answer?.type ?? "")}: ${String(answer?.message ?? "").slice(0, 200)}`,
        );
      }
    },
  };
}
