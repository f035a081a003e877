import { createDecipheriv, createHmac } from 'node:crypto'
import { fixedKeyKms } from './fixed-key-kms.ts'
import { opsPerCpuSecond } from './harness.ts'
import { cryptoSuite } from './suites/crypto.ts'

const settings = { rounds: 3, minCpuMs: 100, warmupCpuMs: 50, sizes: [4096] }
const { cases, teardown } = await cryptoSuite.setup(settings)
const c = cases.find((x) => x.group === 'open bytes')!
const e = cases.find((x) => x.group === 'Fernet.encrypt')!
const { Fernet } = await import('@sqs-envelope/core')
const k = Buffer.alloc(32, 1)
const f = new Fernet(k)
const token = f.encrypt(Buffer.alloc(4096))
const bytes = Buffer.from(token, 'base64url')
const us = async (fn: () => unknown) => (1e6 / (await opsPerCpuSecond(fn, 60))).toFixed(1)
async function pair(name: string, other: () => unknown) {
  let line = name.padEnd(20)
  for (let i = 0; i < 8; i++) line += ` ${await us(c.ours)}/${await us(other)}`
  console.log(line)
}
for (let i = 0; i < 10; i++) await us(c.ours)
await pair('decode', () => Buffer.from(token, 'base64url'))
await pair('ours only', () => 0)
await pair('hmac', () =>
  createHmac('sha256', k.subarray(0, 16))
    .update(bytes.subarray(0, bytes.length - 32))
    .digest(),
)
await pair('ours only', () => 0)
await pair('decipher', () => {
  const d = createDecipheriv('aes-128-cbc', k.subarray(16), bytes.subarray(9, 25))
  d.setAutoPadding(false)
  return d.update(bytes.subarray(25, bytes.length - 32))
})
await pair('ours only', () => 0)
await pair('encrypt', e.ours)
await teardown()
