/**
 * @deprecated Use `@sqs-envelope/consumer/internal`; this subpath goes away in the next release.
 * @internal
 */
export { KmsBreaker, SUSPECT_KMS_CODES, type SuspectVerdict } from '../breaker.ts'
export { deadLetterQueueUrl, quarantineInput } from '../quarantine.ts'
