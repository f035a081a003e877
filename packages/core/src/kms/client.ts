import { KMSClient } from '@aws-sdk/client-kms'
import { clientFor } from '../internal/aws-client.ts'
import type { ResolvedKmsOptions } from '../options.ts'

/**
 * The injected client, or one built for us: SDK retries off (the gateway's apply), our user
 * agent and `requestTimeoutMs` on its HTTP handler. Whose retries apply to an injected client:
 * see {@link attemptsFor}.
 */
export function kmsClientFor(options: Pick<ResolvedKmsOptions, 'kms' | 'region' | 'endpoint' | 'requestTimeoutMs'>): {
  kms: KMSClient
  owned: boolean
} {
  const { region, endpoint, requestTimeoutMs } = options
  const { client, owned } = clientFor(KMSClient, options.kms, { region, endpoint, requestTimeoutMs, maxAttempts: 1 })
  return { kms: client, owned }
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
