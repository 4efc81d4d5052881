import { e164, type SmsMessage, type SmsProvider } from "./index.ts";

/**
 * Development only (refused when ENVIRONMENT=production, see config.ts): prints one JSON line
 * `{"msg":"sms","to","text"}` whatever LOG_LEVEL is, so a developer can read the code. It is
 * the only log line that ever holds a code.
 */
export function consoleProvider(): SmsProvider {
  return {
    name: "console",
    async send(message: SmsMessage) {
      console.log(
        JSON.stringify({ level: "info", time: new Date().toISOString(), msg: "sms", to: e164(message.to), text: message.text }),
      );
    },
  };
}
