import { DecodeError, DecodeFailure, InvalidArgumentError } from './errors.js';

/**
 * Turns payloads into the `data` field's text and back. Swap it per topic to use another
 * format (MessagePack as base64, protobuf…); other languages must implement the same codec
 * to read the stream.
 */
export interface Codec {
  /** Short name for docs and DLQ metadata, e.g. `json`. */
  readonly name: string;
  /** Encodes a payload. Throw to reject a value the format cannot represent. */
  encode(value: unknown): string;
  /** Decodes a payload. Throw on malformed text; the error becomes a `DecodeError`. */
  decode(text: string): unknown;
}

/** The default codec: `JSON.stringify` / `JSON.parse`. */
export const jsonCodec: Codec = {
  name: 'json',
  encode(value) {
    const text = JSON.stringify(value);
    // JSON.stringify returns undefined for undefined, functions and symbols: nothing to store.
    if (text === undefined) throw new TypeError(`cannot encode ${typeof value} as JSON`);
    return text;
  },
  decode: (text) => JSON.parse(text) as unknown,
};

/** Runs `codec.encode`, reporting failures as an `InvalidArgumentError` on `data`. */
export function encodePayload(codec: Codec, value: unknown): string {
  let text: unknown;
  try {
    text = codec.encode(value);
  } catch (error) {
    throw new InvalidArgumentError('data', `codec "${codec.name}" cannot encode it: ${(error as Error).message}`, { cause: error });
  }
  if (typeof text !== 'string') {
    throw new InvalidArgumentError('data', `codec "${codec.name}" returned ${typeof text} instead of a string`);
  }
  return text;
}

/** Runs `codec.decode`, reporting failures as a `DecodeError` with reason `invalid-payload`. */
export function decodePayload(codec: Codec, text: string): unknown {
  try {
    return codec.decode(text);
  } catch (error) {
    throw new DecodeError(
      DecodeFailure.InvalidPayload,
      `codec "${codec.name}" cannot decode data: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
