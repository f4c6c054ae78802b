// Hand-written uses of the generated bindings (spec/typescript/arcp.ts), compiled with
// `tsc --strict` by tests/spec/test_typescript.py. Every `@ts-expect-error` below is a claim
// that the bindings refuse something; tsc fails if one stops being refused.
import {
  ERROR_CODES,
  EVENT_KINDS,
  FEATURE_FLAGS,
  MESSAGE_TYPES,
  NEVER_RETRYABLE,
  PROTOCOL_VERSION,
  SECRET_PATHS,
  isKnownEvent,
  isVendorEvent,
} from "./arcp";
import type {
  ErrorCode,
  EventKind,
  FeatureFlag,
  JobEventPayload,
  JsonValue,
  Message,
  MessageType,
  NeverRetryableErrorCode,
  RetryableErrorCode,
  Secret,
  VendorEvent,
} from "./arcp";

function assertNever(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}

// §5: the message union narrows on `type`, exhaustively.
export function describeMessage(message: Message): string {
  switch (message.type) {
    case "session.hello":
      return message.payload.client.name;
    case "session.welcome":
      return message.payload.runtime.name;
    case "session.resume":
      return message.payload.session_id;
    case "session.ping":
      return message.payload.nonce;
    case "session.pong":
      return message.payload.ping_nonce;
    case "session.ack":
      return String(message.payload.last_processed_seq);
    case "session.list_jobs":
      return String(message.payload.limit ?? "");
    case "session.jobs":
      return String(message.payload.jobs.length);
    case "session.close":
    case "session.bye":
      return message.payload.reason ?? "";
    case "session.closed":
      return "closed";
    case "session.error":
    case "job.error":
      return message.payload.code;
    case "job.submit":
      return message.payload.agent;
    case "job.accepted":
      return message.payload.job_id;
    case "job.cancel":
      return message.payload.reason ?? "";
    case "job.cancelled":
      return message.payload.job_id ?? "";
    case "job.subscribe":
    case "job.unsubscribe":
      return message.payload.job_id;
    case "job.subscribed":
      return message.payload.current_status;
    case "job.event":
      return describeEvent(message.payload);
    case "job.result":
      return message.payload.final_status;
    default:
      return assertNever(message);
  }
}

// §8.2: the event payload narrows on `kind`, vendor kinds included. A kind a later bump adds
// lands in `isKnownEvent` (so a regenerated binding compiles this file unchanged); what is
// left after it is exactly the vendor events.
export function describeEvent(event: JobEventPayload): string {
  switch (event.kind) {
    case "log":
      return `${event.body.level}: ${event.body.message}`;
    case "status":
      return event.body.phase;
    case "metric":
      return `${event.body.name}=${event.body.value}`;
    case "artifact_ref":
      return event.body.uri;
    case "progress":
      return String(event.body.current);
    case "result_chunk":
      return event.body.encoding;
    default: {
      if (isKnownEvent(event)) return EVENT_KINDS[event.kind].body;
      const vendor: VendorEvent = event; // only vendor events are left
      return vendor.kind.slice("x-vendor.".length);
    }
  }
}

// Leaving a kind out is a compile error: the default branch is not `never`.
export function forgetsAKind(event: JobEventPayload): string {
  switch (event.kind) {
    case "log":
      return "log";
    default:
      // @ts-expect-error `thought` and the others, and vendor kinds, are not handled
      return assertNever(event);
  }
}

export function vendorOrKnown(event: JobEventPayload): string {
  if (isVendorEvent(event)) return event.kind;
  if (isKnownEvent(event)) return EVENT_KINDS[event.kind].body;
  return assertNever(event);
}

// A vendor kind needs its prefix; a made-up kind is refused.
export const vendor: JobEventPayload = {
  kind: "x-vendor.acme.trace",
  ts: "2026-05-13T19:30:00.000Z",
  body: { anything: [1, "two", { three: null }] },
};
// @ts-expect-error a kind that is neither a spec kind nor `x-vendor.*`
export const madeUp: JobEventPayload = { kind: "custom", ts: "2026-05-13T19:30:00Z", body: {} };

// "Any JSON value" is any JSON value: an array input is fine, a function is not.
export const arrayInput: JsonValue = [1, [2, { a: "b" }], null, true];
// @ts-expect-error functions are not JSON
export const notJson: JsonValue = () => 1;

// Error codes and their retryability (§12).
export const retryable: RetryableErrorCode = "TIMEOUT";
// @ts-expect-error LEASE_EXPIRED is never retryable
export const notRetryable: RetryableErrorCode = "LEASE_EXPIRED";
export const never: NeverRetryableErrorCode[] = ["LEASE_EXPIRED", "BUDGET_EXHAUSTED"];
export const leaseExpiredRetryable: false = ERROR_CODES.LEASE_EXPIRED.retryable;
export const neverList: readonly ErrorCode[] = NEVER_RETRYABLE;
// @ts-expect-error not an error code of this version
export const unknownCode: ErrorCode = "QUOTA_EXCEEDED";

// Feature flags, message types and the protocol version.
export const flag: FeatureFlag = "cost.budget";
// @ts-expect-error not a feature flag
export const noFlag: FeatureFlag = "cost";
export const budgetSection: string = FEATURE_FLAGS["cost.budget"].section;
export const welcomeAnswers: readonly MessageType[] = MESSAGE_TYPES["session.welcome"].answers;
export const version: `1.${string}` = PROTOCOL_VERSION;
export const kinds: EventKind[] = ["log", "progress"];

// Secrets are marked where the schema marks them.
export const token: Secret = "sk-not-real";
export const secretPaths: readonly string[] = SECRET_PATHS;
