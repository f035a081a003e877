import { deepStrictEqual, ok } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { EnvelopeOpener, EnvelopeSealer, Fernet } from '@sqs-envelope/core'
import { fixedKeyKms } from '../fixed-key-kms.ts'
import { type FloorKeys, floorDecrypt, floorEncrypt } from '../floor.ts'
import type { BenchCase, BenchSettings } from '../harness.ts'
import type { Suite } from '../suite.ts'
import { peerCases, peers } from './crypto-peers.ts'

/** A JSON value whose JSON.stringify is about `bytes` long: records of mixed field types, as jobs carry. */
export function jsonValueOfSize(bytes: number): unknown {
  const items: unknown[] = []
  const value = { jobId: 'job-0001', createdAt: '2026-01-01T00:00:00.000Z', items }
  let length = JSON.stringify(value).length
  for (let i = 0; length < bytes; i++) {
    const item = {
      id: i,
      sku: `SKU-${i.toString(36).padStart(6, '0')}`,
      qty: (i % 7) + 1,
      price: 9.99 + i,
      gift: i % 3 === 0,
    }
    length += JSON.stringify(item).length + 1
    items.push(item)
  }
  return value
}

function paddedLength(bytes: number): number {
  return (Math.floor(bytes / 16) + 1) * 16
}

/**
 * Fernet and the sealer/opener against the floor (see floor.ts). The sealer
 * and opener use a KMS stand-in with a fixed data key, so after the first call
 * every message is served from their key caches: this is the per-message path.
 */
export const cryptoSuite: Suite = {
  name: 'crypto',
  description:
    'Fernet.encrypt/decrypt and seal/open (bytes, json) against the floor: aes-128-cbc + HMAC-SHA256 + base64url ' +
    'with node:crypto, no framing, no checks (json: floor + JSON.stringify/JSON.parse of the same value). ' +
    'seal/open use EnvelopeSealer/EnvelopeOpener with a KMS stand-in returning a fixed data key: ' +
    'the per-message path once the data key is cached. Then the same against the peer libraries on the same text ' +
    '(ratio = ours / peer; above 1 we are faster): the `fernet` and `fernet-nodejs` packages, and ' +
    '`@aws-crypto/client-node` with a raw AES keyring (its default suite, which signs with ECDSA P-384; and the ' +
    'committing suite without signing under a caching materials manager).',
  async setup(settings: BenchSettings) {
    const kms = fixedKeyKms()
    const keys: FloorKeys = { signingKey: kms.dataKey.subarray(0, 16), encryptionKey: kms.dataKey.subarray(16, 32) }
    const fernet = new Fernet(kms.dataKey)
    // Budgets high enough that one data key serves the whole run (a rotation would add a KMS call, not per-message work).
    const sealer = new EnvelopeSealer({
      kmsKeyId: 'alias/bench',
      kms: kms.client,
      maxMessagesPerDataKey: Number.MAX_SAFE_INTEGER,
      maxBytesPerDataKey: Number.MAX_SAFE_INTEGER,
    })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const cases: BenchCase[] = []
    // Run after every floor comparison: the peer libraries (the Encryption SDK's ECDSA signing above
    // all) leave a larger, busier heap behind, and the 4 KiB floor rows that followed them in the
    // same process measured up to 0.2 lower than in a process of their own.
    const peerComparisons: BenchCase[] = []
    const peerLibraries = peers(kms.dataKey)
    for (const bytes of settings.sizes) {
      const data = randomBytes(bytes)
      const token = fernet.encrypt(data)
      cases.push(
        {
          group: 'Fernet.encrypt',
          bytes,
          baselineName: 'floor',
          target: 0.9,
          ours: () => fernet.encrypt(data),
          baseline: () => floorEncrypt(keys, data),
          check: () => {
            deepStrictEqual(fernet.decrypt(fernet.encrypt(data)), data)
            // base64url of the padded ciphertext and the MAC
            ok(floorEncrypt(keys, data).length >= Math.ceil(((paddedLength(bytes) + 32) * 4) / 3))
          },
        },
        {
          group: 'Fernet.decrypt',
          bytes,
          baselineName: 'floor',
          target: 0.9,
          ours: () => fernet.decrypt(token),
          baseline: () => floorDecrypt(keys, token),
          check: () => {
            deepStrictEqual(fernet.decrypt(token), data)
            deepStrictEqual(floorDecrypt(keys, token).subarray(0, bytes), data)
          },
        },
      )

      const sealedBytes = await sealer.seal(data, { contentType: 'bytes' })
      const bytesMessage = { Body: sealedBytes.body, MessageAttributes: sealedBytes.messageAttributes }
      cases.push(
        {
          group: 'seal bytes',
          bytes,
          baselineName: 'floor',
          target: 0.8,
          ours: () => sealer.seal(data, { contentType: 'bytes' }),
          baseline: () => floorEncrypt(keys, data),
          check: async () => {
            const sealed = await sealer.seal(data, { contentType: 'bytes' })
            const opened = await opener.open({ Body: sealed.body, MessageAttributes: sealed.messageAttributes })
            deepStrictEqual(opened.plaintext, data)
          },
        },
        {
          group: 'open bytes',
          bytes,
          baselineName: 'floor',
          target: 0.8,
          ours: () => opener.open(bytesMessage),
          baseline: () => floorDecrypt(keys, token),
          check: async () => deepStrictEqual((await opener.open(bytesMessage)).value, data),
        },
      )

      const value = jsonValueOfSize(bytes)
      const json = JSON.stringify(value)
      const sealedJson = await sealer.seal(value, { contentType: 'json' })
      const jsonMessage = { Body: sealedJson.body, MessageAttributes: sealedJson.messageAttributes }
      const jsonToken = fernet.encrypt(json)
      cases.push(
        {
          group: 'seal json',
          bytes: json.length,
          baselineName: 'floor + JSON.stringify',
          target: 0.8,
          ours: () => sealer.seal(value, { contentType: 'json' }),
          baseline: () => floorEncrypt(keys, JSON.stringify(value)),
          check: async () => {
            const sealed = await sealer.seal(value, { contentType: 'json' })
            const opened = await opener.open({ Body: sealed.body, MessageAttributes: sealed.messageAttributes })
            deepStrictEqual(opened.value, value)
          },
        },
        {
          group: 'open json',
          bytes: json.length,
          baselineName: 'floor + JSON.parse',
          target: 0.8,
          ours: () => opener.open(jsonMessage),
          baseline: () => {
            const padded = floorDecrypt(keys, jsonToken)
            return JSON.parse(padded.toString('utf8', 0, padded.length - (padded[padded.length - 1] ?? 0)))
          },
          check: async () => deepStrictEqual((await opener.open(jsonMessage)).value, value),
        },
      )
      peerComparisons.push(...(await peerCases(bytes, { fernet, sealer, opener }, peerLibraries)))
    }
    return {
      // The floor comparisons of every size first, then the peer libraries: see peerComparisons.
      cases: [...cases, ...peerComparisons],
      teardown: () => {
        fernet.destroy()
        sealer.close()
        opener.close()
        // One GenerateDataKey and one Decrypt, unless the run outlived the 5-minute key age.
        if (kms.calls() > 10) throw new Error(`the key caches missed: ${kms.calls()} KMS calls`)
      },
    }
  },
}
