// The one readiness probe for LocalStack and any other AWS-compatible endpoint, used by
// the host-mode launcher, the testkit (endpoint, container and host modes) and the smoke
// check. Plain Node ESM, no dependencies, Node >= 20; types in readiness.d.mts.
//
// LocalStack serves GET /_localstack/health ({"services": {"sqs": "running", ...}}) and
// GET /_localstack/init/ready ({"completed": true, "scripts": [...]}) once its init hooks
// ran. An endpoint that does not serve /_localstack/health (another implementation, a
// proxy, real AWS) is not LocalStack: it is ready when the caller's `awsCheck` (cheap SQS
// and KMS calls, e.g. ListQueues and ListKeys) succeeds.

const UP = new Set(['available', 'running'])
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

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

/** One GET of /_localstack/health. */
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

/** One GET of /_localstack/init/ready, or null when it is not served. */
export async function probeInit(endpoint, { timeoutMs = 2000 } = {}) {
  const r = await get(new URL('/_localstack/init/ready', endpoint), timeoutMs)
  if (r.status !== 200 || !r.body || typeof r.body !== 'object') return null
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
 */
export async function waitReady(endpoint, options = {}) {
  const { timeoutMs = 60_000, requireInit = false, awsCheck, exited, pollMs = 250 } = options
  const deadline = Date.now() + timeoutMs
  const expired = () => Date.now() > deadline
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
      } catch (error) {
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
