import { AwsJson1_0Protocol, JsonCodec } from '@aws-sdk/core/protocols'

// The SDK's own JSON settings for AWS JSON 1.0 (as AwsJsonRpcProtocol's default codec).
const JSON_SETTINGS = { timestampFormat: { useTrait: true, default: 7 as const }, jsonName: false }

type ProtocolSettings = ConstructorParameters<typeof AwsJson1_0Protocol>[0]

/**
 * SQS's AWS JSON 1.0 protocol with the SDK's `JsonCodec` (builds the object, then JSON.stringify)
 * instead of its default byte-by-byte `JsonCodec2`: the same bytes on the wire for less CPU (the
 * bench's `sdk` suite). Passed as a constructor, so the client hands it its own settings (namespace,
 * error registries, service target) and only the codec differs.
 */
class StringifyJson1_0Protocol extends AwsJson1_0Protocol {
  constructor(settings: ProtocolSettings) {
    super({ ...settings, jsonCodec: new JsonCodec(JSON_SETTINGS) })
  }
}

/**
 * What every SQS client we build adds to the SDK's config: MD5 checks off (every sealed body is
 * authenticated end to end by the Fernet HMAC, checked before anything else, so the SDK's MD5 of
 * the same bytes adds CPU and no protection; see the core README's Security section) and the
 * cheaper JSON codec. Clients a user injects keep theirs.
 * @internal
 */
export function sqsClientConfig(): { readonly md5: false; readonly protocol: typeof StringifyJson1_0Protocol } {
  return { md5: false, protocol: StringifyJson1_0Protocol }
}
