import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'

export const FIXED_KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-00000000bench'

/**
 * A KMS stand-in that answers GenerateDataKey and Decrypt with one fixed data
 * key. The sealer and opener ask it once and then serve every message from
 * their caches, so what the crypto suite measures is the per-message path.
 */
export function fixedKeyKms(): { client: KMSClient; dataKey: Buffer; calls: () => number } {
  const dataKey = randomBytes(32)
  const blob = randomBytes(184) // about the size of a real CiphertextBlob for an AES_256 data key
  let calls = 0
  const client = {
    send: async (command: unknown) => {
      calls++
      // A fresh copy each time: the library zero-fills what it is given.
      if (command instanceof GenerateDataKeyCommand) {
        return { Plaintext: Buffer.from(dataKey), CiphertextBlob: Buffer.from(blob), KeyId: FIXED_KEY_ARN }
      }
      if (command instanceof DecryptCommand) return { Plaintext: Buffer.from(dataKey), KeyId: FIXED_KEY_ARN }
      throw new Error('fixedKeyKms: unexpected command')
    },
    destroy: () => {},
  } as unknown as KMSClient
  return { client, dataKey, calls: () => calls }
}
