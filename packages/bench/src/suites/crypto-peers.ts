import { deepStrictEqual, equal } from 'node:assert/strict'
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node'
import type { EnvelopeOpener, EnvelopeSealer, Fernet } from '@sqs-envelope/core'
import fernetJs, { type Secret as FernetSecret } from 'fernet'
import { Fernet as FernetNodejs } from 'fernet-nodejs'
import type { BenchCase } from '../harness.ts'

/** An ASCII text of `bytes` bytes: the peers take strings (`fernet` only strings). */
export function textOfSize(bytes: number): string {
  const unit = 'The quick brown fox jumps over the lazy dog. 0123456789 '
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes)
}

/** The peer libraries, keyed with one data key. */
export interface Peers {
  readonly secret: FernetSecret
  readonly fernetNodejs: FernetNodejs
  readonly keyring: RawAesKeyringNode
  readonly awsDefault: AwsCryptoClient
  readonly cachingManager: NodeCachingMaterialsManager
  readonly committingSuite: AlgorithmSuiteIdentifier
}

interface AwsCryptoClient {
  encrypt(
    manager: RawAesKeyringNode | NodeCachingMaterialsManager,
    plaintext: Buffer,
    options?: { suiteId?: AlgorithmSuiteIdentifier; plaintextLength?: number },
  ): Promise<{ result: Buffer }>
  decrypt(manager: RawAesKeyringNode | NodeCachingMaterialsManager, ciphertext: Buffer): Promise<{ plaintext: Buffer }>
}

/** The peers for one key: built once per run. */
export function peers(dataKey: Buffer): Peers {
  const base64Key = dataKey.toString('base64url')
  const secret = new fernetJs.Secret(dataKey.toString('base64'))
  const fernetNodejs = new FernetNodejs(base64Key)
  const keyring = new RawAesKeyringNode({
    keyName: 'bench',
    keyNamespace: 'sqs-envelope-bench',
    unencryptedMasterKey: new Uint8Array(dataKey),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  })
  // Default client: commitment required, the default suite (AES-256-GCM, HKDF, key commitment, ECDSA P-384 signature).
  const awsDefault = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  // Committing suite without signing, data keys cached like ours (5 minutes, 10,000 messages).
  const cachingManager = new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(1000),
    maxAge: 300_000,
    maxMessagesEncrypted: 10_000,
  })
  const committingSuite = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY
  return { secret, fernetNodejs, keyring, awsDefault, cachingManager, committingSuite }
}

/**
 * Our Fernet and sealer/opener against the peer libraries, on the same text: ratio = ours / peer
 * (above 1: we are faster). `@aws-crypto/client-node` is another format (AES-GCM with its own
 * header), compared with seal/open as the whole per-message job of each library.
 */
export async function peerCases(
  bytes: number,
  ours: { fernet: Fernet; sealer: EnvelopeSealer; opener: EnvelopeOpener },
  p: Peers,
): Promise<BenchCase[]> {
  const text = textOfSize(bytes)
  const token = ours.fernet.encrypt(text)
  const sealed = await ours.sealer.seal(text)
  const message = { Body: sealed.body, MessageAttributes: sealed.messageAttributes }
  const plaintext = Buffer.from(text)
  const awsDefaultCiphertext = (await p.awsDefault.encrypt(p.keyring, plaintext)).result
  const awsCommittingCiphertext = (
    await p.awsDefault.encrypt(p.cachingManager, plaintext, { suiteId: p.committingSuite, plaintextLength: bytes })
  ).result
  const target = 1
  return [
    {
      group: 'Fernet.encrypt',
      bytes,
      baselineName: 'fernet 0.4 (npm)',
      target,
      ours: () => ours.fernet.encrypt(text),
      baseline: () => new fernetJs.Token({ secret: p.secret, ttl: 0 }).encode(text),
      check: () => {
        const theirs = new fernetJs.Token({ secret: p.secret, ttl: 0 }).encode(text)
        equal(ours.fernet.decrypt(theirs).toString(), text)
        equal(new fernetJs.Token({ secret: p.secret, token, ttl: 0 }).decode(), text)
      },
    },
    {
      group: 'Fernet.decrypt',
      bytes,
      baselineName: 'fernet 0.4 (npm)',
      target,
      ours: () => ours.fernet.decrypt(token),
      baseline: () => new fernetJs.Token({ secret: p.secret, token, ttl: 0 }).decode(),
      check: () => equal(new fernetJs.Token({ secret: p.secret, token, ttl: 0 }).decode(), text),
    },
    {
      group: 'Fernet.encrypt',
      bytes,
      baselineName: 'fernet-nodejs',
      target,
      ours: () => ours.fernet.encrypt(text),
      baseline: () => p.fernetNodejs.encrypt(text),
      check: () => equal(ours.fernet.decrypt(p.fernetNodejs.encrypt(text)).toString(), text),
    },
    {
      group: 'Fernet.decrypt',
      bytes,
      baselineName: 'fernet-nodejs',
      target,
      ours: () => ours.fernet.decrypt(token),
      baseline: () => p.fernetNodejs.decrypt(token),
      check: () => equal(p.fernetNodejs.decrypt(token), text),
    },
    {
      group: 'seal text',
      bytes,
      baselineName: '@aws-crypto raw AES, default suite',
      target,
      ours: () => ours.sealer.seal(text),
      baseline: () => p.awsDefault.encrypt(p.keyring, plaintext),
      check: async () => {
        const { result } = await p.awsDefault.encrypt(p.keyring, plaintext)
        deepStrictEqual((await p.awsDefault.decrypt(p.keyring, result)).plaintext, plaintext)
      },
    },
    {
      group: 'open text',
      bytes,
      baselineName: '@aws-crypto raw AES, default suite',
      target,
      ours: () => ours.opener.open(message),
      baseline: () => p.awsDefault.decrypt(p.keyring, awsDefaultCiphertext),
      check: async () => {
        equal((await ours.opener.open(message)).value, text)
        deepStrictEqual((await p.awsDefault.decrypt(p.keyring, awsDefaultCiphertext)).plaintext, plaintext)
      },
    },
    {
      group: 'seal text',
      bytes,
      baselineName: '@aws-crypto committing, no signing, cached',
      target,
      ours: () => ours.sealer.seal(text),
      baseline: () =>
        p.awsDefault.encrypt(p.cachingManager, plaintext, { suiteId: p.committingSuite, plaintextLength: bytes }),
      check: async () => {
        const { result } = await p.awsDefault.encrypt(p.cachingManager, plaintext, {
          suiteId: p.committingSuite,
          plaintextLength: bytes,
        })
        deepStrictEqual((await p.awsDefault.decrypt(p.cachingManager, result)).plaintext, plaintext)
      },
    },
    {
      group: 'open text',
      bytes,
      baselineName: '@aws-crypto committing, no signing, cached',
      target,
      ours: () => ours.opener.open(message),
      baseline: () => p.awsDefault.decrypt(p.cachingManager, awsCommittingCiphertext),
      check: async () =>
        deepStrictEqual((await p.awsDefault.decrypt(p.cachingManager, awsCommittingCiphertext)).plaintext, plaintext),
    },
  ]
}
