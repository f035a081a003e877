// The consumer's quarantine rules for tools that receive messages themselves (the CLI's `receive`):
// where a poison message goes, how it is copied there intact, and the breaker that tells a bad message
// from a misconfigured worker.
export { KmsBreaker, SUSPECT_KMS_CODES, type SuspectVerdict } from '../breaker.ts'
export { deadLetterQueueUrl, quarantineInput } from '../quarantine.ts'
