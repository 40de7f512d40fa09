// Public API of @tributary/core. Named exports only: this list is the contract.
export {
  ErrorCode,
  DecodeFailure,
  TributaryError,
  InvalidArgumentError,
  DecodeError,
  ValidationError,
  NoGroupError,
  UnsupportedError,
  TimeoutError,
  ClosedError,
  isTributaryError,
} from './errors.js';
export type { ErrorCodeValue, DecodeFailureValue, TributaryErrorOptions, ValidationIssue } from './errors.js';
export { toTributaryError, isErrorReply, isNoGroupReply, isBusyGroupReply, isNoScriptReply } from './redis-errors.js';
export { validateName, MAX_NAME_LENGTH } from './names.js';
export { topicKeys } from './keys.js';
export type { TopicKeys } from './keys.js';
export { jsonCodec, encodePayload, decodePayload } from './codec.js';
export type { Codec } from './codec.js';
export { parseOptions, toValidationIssues } from './options.js';
export { retentionArgs, retentionSchema } from './retention.js';
export type { Retention } from './retention.js';
export { defineTopic, DEFAULT_RETENTION } from './topic.js';
export type { Topic, TopicOptions, TopicTypes, TypeName, PayloadOf, PayloadInputOf } from './topic.js';
export { Field, encodeMessage, fieldsToRecord } from './envelope.js';
export { decodeMessage, decodeMessageBytes, producerLayoutFields } from './decode-message.js';
export type { EntryText } from './decode-message.js';
export type { Headers, OutgoingMessage, Message, MessageOf, RawEntry } from './envelope.js';
export { toCommander, asCommander, defineScript } from './redis-client.js';
export type { Commander, RedisClientLike, RedisCommandOptions, LuaScript } from './redis-client.js';
export { connectRedis, connectRedisCluster, reconnectDelay } from './connect.js';
export { settlesUnlessAborted, settlesWithin } from './settles-within.js';
export type { ConnectRedisOptions, ConnectRedisClusterOptions } from './connect.js';
export { detectCapabilities, capabilitiesOf, parseServerVersion, MIN_REDIS_VERSION } from './capabilities.js';
export type { ServerCapabilities } from './capabilities.js';
export { parseEntries, parseReadReply, singleStreamEntries, pairsToObject, compareStreamIds } from './stream-replies.js';
export type { EntryTuple, StreamEntry } from './stream-replies.js';
