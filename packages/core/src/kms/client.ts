import { KMSClient } from '@aws-sdk/client-kms'
import type { KmsOptions } from '../options.ts'

/** The injected client, or one built for us (SDK retries off: the gateway retries). */
export function kmsClientFor(options: KmsOptions): { kms: KMSClient; owned: boolean } {
  if (options.kms) return { kms: options.kms, owned: false }
  const kms = new KMSClient({
    maxAttempts: 1,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  })
  return { kms, owned: true }
}
