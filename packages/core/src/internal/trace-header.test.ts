import { describe, expect, it } from 'vitest'
import { fromTraceparent, fromXrayHeader, toTraceparent, toXrayHeader } from './trace-header.ts'

const ids = { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', sampled: true }
// The example of AWS's X-Ray documentation and its W3C twin.
const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
const TRACEPARENT = '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01'

describe('X-Ray trace header ↔ W3C ids', () => {
  it('a W3C trace id is the X-Ray root epoch and id joined; sampled is Sampled=1', () => {
    expect(toXrayHeader(ids)).toBe(XRAY)
    expect(fromXrayHeader(XRAY)).toEqual(ids)
    expect(toXrayHeader({ ...ids, sampled: false })).toBe(XRAY.replace('Sampled=1', 'Sampled=0'))
  })

  it('reads fields in any order, ignores Lineage and Self, upper-case hex, missing or deferred Sampled as not sampled', () => {
    const header =
      'Sampled=1;Lineage=a87bd80c:1|68fd508a:5;Parent=53995C3F42CD8AD8;Root=1-5759E988-BD862E3FE1BE46A994272793'
    expect(fromXrayHeader(header)).toEqual(ids)
    expect(fromXrayHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8')?.sampled).toBe(false)
    expect(fromXrayHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?')?.sampled).toBe(
      false,
    )
  })

  it.each([
    ['no Parent (a root only)', 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1'],
    ['no Root', 'Parent=53995c3f42cd8ad8;Sampled=1'],
    ['another version', 'Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8'],
    ['a short trace id', 'Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8'],
    ['a non-hex parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8adz'],
    ['an all-zero parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000'],
    ['an all-zero trace', 'Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8'],
    ['empty', ''],
  ])('no context from a header with %s', (_what, header) => {
    expect(fromXrayHeader(header)).toBeUndefined()
  })

  it('no context from something that is not a string, or absurdly long', () => {
    expect(fromXrayHeader(undefined)).toBeUndefined()
    expect(fromXrayHeader(42 as unknown as string)).toBeUndefined()
    expect(fromXrayHeader(`${XRAY};${'x'.repeat(2000)}`)).toBeUndefined()
  })

  it('no header from invalid ids', () => {
    expect(toXrayHeader({ ...ids, traceId: '0'.repeat(32) })).toBeUndefined()
    expect(toXrayHeader({ ...ids, spanId: 'xyz' })).toBeUndefined()
    expect(toTraceparent({ ...ids, spanId: '0'.repeat(16) })).toBeUndefined()
  })

  it('traceparent both ways, and X-Ray → W3C → X-Ray is the identity', () => {
    expect(toTraceparent(ids)).toBe(TRACEPARENT)
    expect(fromTraceparent(TRACEPARENT)).toEqual(ids)
    expect(fromTraceparent(TRACEPARENT.replace(/-01$/, '-00'))?.sampled).toBe(false)
    const w3c = fromTraceparent(toTraceparent(fromXrayHeader(XRAY) as typeof ids))
    expect(toXrayHeader(w3c as typeof ids)).toBe(XRAY)
  })

  it.each([
    ['version ff', 'ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01'],
    ['a zero trace id', `00-${'0'.repeat(32)}-53995c3f42cd8ad8-01`],
    ['a short span id', '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad-01'],
    ['no flags', '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8'],
  ])('no context from a traceparent with %s', (_what, header) => {
    expect(fromTraceparent(header)).toBeUndefined()
  })
})
