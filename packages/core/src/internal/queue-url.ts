import { invalidOption } from './option-checks.ts'

// http as well as https: LocalStack and other local endpoints answer on plain http.
const QUEUE_URL = /^https?:\/\/\S+$/

/**
 * The one queue-URL check, for `queueUrl`, `quarantineQueueUrl` and the like: an http(s) URL
 * with no whitespace. SQS itself says whether the queue exists.
 * @internal
 */
export function queueUrlOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !QUEUE_URL.test(value)) {
    throw invalidOption(name, 'an http(s) SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)', value)
  }
  return value
}
