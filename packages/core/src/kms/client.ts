import { createRequire } from 'node:module'
import { KMSClient } from '@aws-sdk/client-kms'
import type { KmsOptions } from '../options.ts'

/** What a client we build adds to its user agent: this library and, when known, its version. */
export const USER_AGENT: [name: string, version?: string] = ['sqs-envelope', packageVersion()]

function packageVersion(): string | undefined {
  try {
    // package.json is two levels up from both src/kms and dist/kms; a bundle may not have it.
    const { version } = createRequire(import.meta.url)('../../package.json') as { version?: unknown }
    return typeof version === 'string' ? version : undefined
  } catch {
    return undefined
  }
}

/**
 * The injected client, or one built for us (SDK retries off, so the gateway's apply, and our
 * user agent). Whose retries apply to an injected client: see {@link attemptsFor}.
 */
export function kmsClientFor(options: KmsOptions): { kms: KMSClient; owned: boolean } {
  if (options.kms) return { kms: options.kms, owned: false }
  const kms = new KMSClient({
    maxAttempts: 1,
    customUserAgent: [USER_AGENT],
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  })
  return { kms, owned: true }
}

/**
 * Attempts the gateway makes per request, so that exactly one layer retries: an injected
 * client that retries itself (SDK `maxAttempts` above 1, the SDK's default being 3) keeps
 * its own retries and ours make one attempt; an injected client with SDK retries off
 * (`maxAttempts: 1`), like the one we build, gets ours (`kmsMaxAttempts`).
 */
export async function attemptsFor(kms: KMSClient, owned: boolean, ours: number): Promise<number> {
  if (owned) return ours
  const configured = (kms as { config?: { maxAttempts?: unknown } }).config?.maxAttempts
  const sdkAttempts = typeof configured === 'function' ? await (configured as () => Promise<unknown>)() : configured
  return typeof sdkAttempts === 'number' && sdkAttempts > 1 ? 1 : ours
}
