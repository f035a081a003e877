// @ts-check
// The one readiness probe for LocalStack and any other AWS-compatible endpoint, used by
// the host-mode launcher, the testkit (endpoint, container and host modes) and the smoke
// check. Plain Node ESM, no dependencies, Node >= 22; types in readiness.d.mts (checked against this file's JSDoc).
//
// LocalStack serves GET /_localstack/health ({"services": {"sqs": "running", ...}}) and
// GET /_localstack/init/ready ({"completed": true, "scripts": [...]}) once its init hooks
// ran. An endpoint that does not serve /_localstack/health (another implementation, a
// proxy, real AWS) is not LocalStack: it is ready when the caller's `awsCheck` (cheap SQS
// and KMS calls, e.g. ListQueues and ListKeys) succeeds.

/** @typedef {import('./readiness.mjs').HealthProbe} HealthProbe */
/** @typedef {import('./readiness.mjs').InitProbe} InitProbe */
/** @typedef {import('./readiness.mjs').WaitReadyOptions} WaitReadyOptions */
/** @typedef {import('./readiness.mjs').WaitReadyResult} WaitReadyResult */

const UP = new Set(['available', 'running'])
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One GET with a timeout; never throws.
 * @param {URL} url
 * @param {number} timeoutMs
 * @returns {Promise<{ status: number, body: any, error?: any }>}
 */
async function get(url, timeoutMs) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    let body = null
    try {
      body = await res.json()
    } catch {
      body = null
    }
    return { status: res.status, body }
  } catch (error) {
    return { status: 0, body: null, error }
  }
}

/**
 * One GET of /_localstack/health.
 * @param {string} endpoint
 * @param {{ readonly timeoutMs?: number }} [options]
 * @returns {Promise<HealthProbe>}
 */
export async function probeHealth(endpoint, { timeoutMs = 2000 } = {}) {
  const r = await get(new URL('/_localstack/health', endpoint), timeoutMs)
  if (r.status === 0) {
    const why = r.error?.cause?.code ?? r.error?.name ?? 'no answer'
    return { reachable: false, localstack: false, healthy: false, version: null, services: null, detail: why }
  }
  const services = r.body && typeof r.body === 'object' ? r.body.services : undefined
  if (!services || typeof services !== 'object') {
    return {
      reachable: true,
      localstack: false,
      healthy: false,
      version: null,
      services: null,
      detail: `GET /_localstack/health answered ${r.status} without a LocalStack health document`,
    }
  }
  const sqs = services.sqs ?? null
  const kms = services.kms ?? null
  return {
    reachable: true,
    localstack: true,
    healthy: UP.has(sqs) && UP.has(kms),
    version: typeof r.body.version === 'string' ? r.body.version : null,
    services: { sqs, kms },
    detail: `sqs: ${sqs ?? '-'}, kms: ${kms ?? '-'}`,
  }
}

/**
 * One GET of /_localstack/init/ready, or null when it is not served.
 * @param {string} endpoint
 * @param {{ readonly timeoutMs?: number }} [options]
 * @returns {Promise<InitProbe | null>}
 */
export async function probeInit(endpoint, { timeoutMs = 2000 } = {}) {
  const r = await get(new URL('/_localstack/init/ready', endpoint), timeoutMs)
  if (r.status !== 200 || !r.body || typeof r.body !== 'object') return null
  /** @type {InitProbe['scripts']} */
  const scripts = Array.isArray(r.body.scripts) ? r.body.scripts : []
  return {
    completed: r.body.completed === true,
    failed: scripts.filter((s) => s?.state === 'ERROR').map((s) => String(s.name)),
    scripts,
  }
}

/**
 * Polls until the endpoint is ready, or the time is up, or `exited()` names a reason to stop.
 * Never throws: the result says why it is not ready.
 * @param {string} endpoint
 * @param {WaitReadyOptions} [options]
 * @returns {Promise<WaitReadyResult>}
 */
export async function waitReady(endpoint, options = {}) {
  const { timeoutMs = 60_000, requireInit = false, awsCheck, exited, pollMs = 250 } = options
  const deadline = Date.now() + timeoutMs
  const expired = () => Date.now() > deadline
  /** @type {HealthProbe | null} */
  let health = null
  let last = 'no answer yet'
  for (;;) {
    const gone = exited?.()
    if (gone) return { ok: false, reason: gone, health }
    health = await probeHealth(endpoint)
    if (health.healthy) break
    if (health.reachable && !health.localstack) {
      if (!awsCheck) return { ok: false, reason: `${endpoint} is not LocalStack (${health.detail})`, health }
      try {
        await awsCheck()
        return { ok: true, kind: 'aws', health, init: null }
      } catch (/** @type {any} */ error) {
        last = `SQS/KMS check failed: ${error?.name ?? 'Error'}: ${error?.message ?? error}`
      }
    } else {
      last = health.detail
    }
    if (expired()) return { ok: false, reason: `not ready at ${endpoint} in time (${last})`, health }
    await sleep(pollMs)
  }
  // Healthy: wait for the ready.d init hooks, so their resources exist when callers start.
  for (;;) {
    const gone = exited?.()
    if (gone) return { ok: false, reason: gone, health }
    const init = await probeInit(endpoint)
    if (init?.completed || (init == null && !requireInit)) return { ok: true, kind: 'localstack', health, init }
    if (expired()) {
      const reason = init ? 'the ready.d init hooks did not complete in time' : 'GET /_localstack/init/ready not served'
      return { ok: false, reason, health, init }
    }
    await sleep(Math.max(pollMs, 500))
  }
}
