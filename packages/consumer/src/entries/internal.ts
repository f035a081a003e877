/**
 * `@sqs-envelope/consumer/internal`: the consumer's pieces that sibling packages reuse (the CLI's
 * `receive`, later the Lambda handler), not a public API: where a poison message goes and how it is
 * copied there intact, the breaker that tells a bad message from a misconfigured worker, and the
 * open → verdict step.
 * @internal
 */
export { KmsBreaker, SUSPECT_KMS_CODES, type SuspectVerdict } from '../breaker.ts'
export { BreakerGate, type BreakerRule } from '../breaker-gate.ts'
export { acknowledgedIds } from '../handler.ts'
export {
  dataKeyOf,
  type MessageOpener,
  MessageOpening,
  type Opened,
  type OpenedJob,
  type PoisonJob,
  type RetryJob,
  sortBatch,
} from '../opening.ts'
export { deadLetterQueueUrl, quarantineInput } from '../quarantine.ts'
