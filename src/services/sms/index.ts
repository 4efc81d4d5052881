// One interface for sending SMS, with providers chosen by SMS_PROVIDER (docs/sms.md):
// console (development), webhook (signed JSON POST to any gateway or relay), msg91 (India).
import type { AppConfig, SmsConfig } from "../../config.ts";
import type { Logger } from "../../lib/logger.ts";
import { consoleProvider } from "./console.ts";
import { msg91Provider } from "./msg91.ts";
import { webhookProvider } from "./webhook.ts";

export interface SmsMessage {
  /** Normalized 10-digit Indian mobile number. */
  to: string;
  text: string;
  purpose: "login" | "reset";
  /** The one-time code inside `text`, for gateways that template it themselves (MSG91). */
  code: string;
}

export interface SmsProvider {
  readonly name: string;
  /** Resolves when the gateway accepted the message; throws (without the code in the message) otherwise. */
  send(message: SmsMessage): Promise<void>;
}

export const SMS_TIMEOUT_MS = 5_000;

export function smsProvider(sms: SmsConfig): SmsProvider {
  switch (sms.provider) {
    case "webhook":
      return webhookProvider(sms);
    case "msg91":
      return msg91Provider(sms);
    case "console":
      return consoleProvider();
  }
}

/** E.164 form of a normalized Indian mobile number. */
export function e164(normalized: string): string {
  return `+91${normalized}`;
}

/**
 * Sends `message` through the configured provider. Never throws: a provider failure is
 * logged (no code, no number) and reported as false — the client's answer does not depend on it.
 */
export async function sendSms(config: AppConfig, logger: Logger, message: SmsMessage): Promise<boolean> {
  const provider = smsProvider(config.sms);
  try {
    await provider.send(message);
    return true;
  } catch (err) {
    logger.error("sms not sent", {
      provider: provider.name,
      purpose: message.purpose,
      error: (err as Error).name,
      detail: (err as Error).message,
    });
    return false;
  }
}
