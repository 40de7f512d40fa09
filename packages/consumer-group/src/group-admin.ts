import {
  asCommander,
  type Commander,
  InvalidArgumentError,
  isBusyGroupReply,
  pairsToObject,
  type RedisClientLike,
  type Topic,
  toTributaryError,
  validateName,
} from '@tributary/core';

/**
 * Where a new group starts reading: `'$'` only messages added from now on (default), `'0'`
 * the whole stream (a new group replays history), or a stream ID to start after.
 */
export type GroupStartId = '$' | '0' | (string & {});

/** Result of {@link ensureGroup}. */
export interface EnsureGroupResult {
  /** True when this call created the group; false when it already existed. */
  created: boolean;
}

function checkStartId(startId: string): string {
  if (startId === '$' || startId === '0' || /^\d+(-\d+)?$/.test(startId)) return startId;
  throw new InvalidArgumentError('startId', `expected "$", "0" or a stream ID, got ${JSON.stringify(startId)}`);
}

/**
 * Creates the consumer group if it does not exist (XGROUP CREATE … MKSTREAM). Idempotent:
 * an existing group (BUSYGROUP) is not an error and is left untouched, so every worker can call
 * it at start-up.
 */
export async function ensureGroup(
  connection: RedisClientLike | Commander,
  topic: Topic,
  group: string,
  startId: GroupStartId = '$',
): Promise<EnsureGroupResult> {
  const commander = asCommander(connection);
  validateName('group', group);
  const key = topic.keys.stream;
  try {
    await commander.send(key, ['XGROUP', 'CREATE', key, group, checkStartId(startId), 'MKSTREAM']);
    return { created: true };
  } catch (error) {
    if (isBusyGroupReply(error)) return { created: false };
    throw toTributaryError(error, `XGROUP CREATE ${key} ${group}`);
  }
}

/** One consumer of a group, from XINFO CONSUMERS. */
export interface ConsumerInfo {
  /** Consumer name. */
  name: string;
  /** Messages delivered to it and not yet acked. */
  pending: number;
  /** ms since its last attempted interaction (read or claim). */
  idleMs: number;
  /** ms since its last successful interaction; `undefined` before Redis 7.2. */
  inactiveMs: number | undefined;
}

/** A consumer group's state, from XINFO GROUPS and XINFO CONSUMERS. */
export interface GroupInfo {
  /** Group name. */
  name: string;
  /** Number of consumers. */
  consumers: number;
  /** Entries delivered and not yet acked (the PEL size). */
  pending: number;
  /** ID of the last entry delivered to the group. */
  lastDeliveredId: string;
  /** Entries the group has read (Redis ≥ 7.0; `undefined` before). */
  entriesRead: number | undefined;
  /** Entries not yet delivered to the group (Redis ≥ 7.0; `null` when Redis cannot tell). */
  lag: number | null | undefined;
}

function toNumberOrNull(value: unknown): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return Number(value);
}

/** Lists the groups of a topic's stream (XINFO GROUPS). An absent stream has no groups. */
export async function listGroups(
  connection: RedisClientLike | Commander, topic: Topic): Promise<GroupInfo[]> {
  const commander = asCommander(connection);
  const key = topic.keys.stream;
  let raw: unknown;
  try {
    raw = await commander.send(key, ['XINFO', 'GROUPS', key]);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return [];
    throw toTributaryError(error, `XINFO GROUPS ${key}`);
  }
  return (raw as unknown[]).map((item) => {
    const g = pairsToObject(item);
    return {
      name: String(g['name']),
      consumers: Number(g['consumers']),
      pending: Number(g['pending']),
      lastDeliveredId: String(g['last-delivered-id']),
      entriesRead: toNumberOrNull(g['entries-read']) ?? undefined,
      lag: toNumberOrNull(g['lag']),
    };
  });
}

/** One group's state, or `undefined` if the group (or stream) does not exist. */
export async function getGroupInfo(connection: RedisClientLike | Commander, topic: Topic, group: string): Promise<GroupInfo | undefined> {
  const commander = asCommander(connection);
  return (await listGroups(commander, topic)).find((g) => g.name === group);
}

/** Lists a group's consumers (XINFO CONSUMERS). */
export async function listConsumers(
  connection: RedisClientLike | Commander, topic: Topic, group: string): Promise<ConsumerInfo[]> {
  const commander = asCommander(connection);
  const key = topic.keys.stream;
  let raw: unknown;
  try {
    raw = await commander.send(key, ['XINFO', 'CONSUMERS', key, group]);
  } catch (error) {
    throw toTributaryError(error, `XINFO CONSUMERS ${key} ${group}`);
  }
  return (raw as unknown[]).map((item) => {
    const c = pairsToObject(item);
    return {
      name: String(c['name']),
      pending: Number(c['pending']),
      idleMs: Number(c['idle']),
      inactiveMs: c['inactive'] === undefined ? undefined : Number(c['inactive']),
    };
  });
}

/**
 * Deletes a consumer group and its pending list (XGROUP DESTROY). Pending messages of that
 * group are forgotten by it (the entries stay in the stream for other groups).
 * @returns true if the group existed
 */
export async function destroyGroup(
  connection: RedisClientLike | Commander, topic: Topic, group: string): Promise<boolean> {
  const commander = asCommander(connection);
  const key = topic.keys.stream;
  try {
    return Number(await commander.send(key, ['XGROUP', 'DESTROY', key, group])) === 1;
  } catch (error) {
    if (error instanceof Error && /requires the key to exist/i.test(error.message)) return false;
    throw toTributaryError(error, `XGROUP DESTROY ${key} ${group}`);
  }
}
