import { createRequire } from 'node:module'
import { KMSClient } from '@aws-sdk/client-kms'
import type { KmsOptions, ResolvedKmsOptions } from '../options.ts'

// package.json is two levels up from both src/kms and dist/kms.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

/** What a client we build adds to its user agent: this library and its version. */
export const USER_AGENT: [name: string, version: string] = ['sqs-envelope', version]

/**
 * The injected client, or one built for us, and the retry policy the gateway applies to it.
 * Only one layer retries: a client we build has SDK retries off and ours apply; an injected
 * client keeps its own retry strategy and ours make a single attempt, so they never multiply.
 */
export function kmsClientFor(
  options: KmsOptions,
  policy: ResolvedKmsOptions,
): { kms: KMSClient; owned: boolean; policy: ResolvedKmsOptions } {
  if (options.kms) return { kms: options.kms, owned: false, policy: { ...policy, maxAttempts: 1 } }
  const kms = new KMSClient({
    maxAttempts: 1,
    customUserAgent: [USER_AGENT],
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  })
  return { kms, owned: true, policy }
}
