import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fernetTokenLength, sealedBodyBytes } from './body-size.ts'
import { Fernet } from './fernet.ts'
import { encodeBody } from './wire/body.ts'

describe('sealedBodyBytes', () => {
  const fernet = new Fernet(randomBytes(32))

  it('is the exact UTF-8 size of the body encodeBody writes, for every plaintext and blob length tried', () => {
    const plaintextLengths = [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 100, 1000, 4096, 65_535, 65_536, 262_144]
    const blobLengths = [1, 2, 3, 48, 151, 184, 185, 186, 6144]
    for (const n of plaintextLengths) {
      const token = fernet.encrypt(new Uint8Array(n))
      expect(token.length).toBe(fernetTokenLength(n))
      for (const b of blobLengths) {
        const body = encodeBody(new Uint8Array(b).fill(1), token)
        expect(Buffer.byteLength(body)).toBe(sealedBodyBytes(n, b))
      }
    }
  })

  it('grows with the plaintext in whole AES blocks (PKCS7 always pads)', () => {
    expect(fernetTokenLength(15)).toBe(fernetTokenLength(0))
    expect(fernetTokenLength(16)).toBeGreaterThan(fernetTokenLength(15))
  })
})
