import { Buffer } from 'node:buffer'
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto'

/*
 * The floor: the least work that encrypts and authenticates a payload the way
 * Fernet does — AES-128-CBC, HMAC-SHA256, base64url — with node:crypto and
 * nothing else: a fixed IV, no header, no copies into one token, no padding
 * or strictness checks, no MAC comparison.
 */

export interface FloorKeys {
  readonly signingKey: Buffer
  readonly encryptionKey: Buffer
}

const IV = new Uint8Array(16)

export function floorEncrypt(keys: FloorKeys, data: string | Uint8Array): string {
  const cipher = createCipheriv('aes-128-cbc', keys.encryptionKey, IV)
  const head = typeof data === 'string' ? cipher.update(data, 'utf8') : cipher.update(data)
  const tail = cipher.final()
  const mac = createHmac('sha256', keys.signingKey).update(head).update(tail).digest()
  return head.toString('base64url') + tail.toString('base64url') + mac.toString('base64url')
}

/** Decrypts a Fernet token without checking anything; returns the padded plaintext. */
export function floorDecrypt(keys: FloorKeys, token: string): Buffer {
  const bytes = Buffer.from(token, 'base64url')
  const macOffset = bytes.length - 32
  createHmac('sha256', keys.signingKey).update(bytes.subarray(0, macOffset)).digest()
  const decipher = createDecipheriv('aes-128-cbc', keys.encryptionKey, bytes.subarray(9, 25))
  decipher.setAutoPadding(false)
  return decipher.update(bytes.subarray(25, macOffset))
}
