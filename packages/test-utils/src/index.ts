/**
 * @packageDocumentation
 * Real redis-server processes for Tributary tests: standalone, persistent (AOF, survives kill -9),
 * and local clusters, on free loopback ports, plus helpers for fault tests. See README.md.
 */
export { getFreePort, type GetFreePortOptions } from './free-port.js';
export { uniqueName } from './unique-name.js';
export { waitFor, WaitForTimeoutError, type WaitForOptions } from './wait-for.js';
export { startRedis, type RedisServer, type StartRedisOptions } from './redis-server.js';
export {
  startRedisCluster,
  type RedisCluster,
  type RedisClusterNode,
  type StartRedisClusterOptions,
} from './redis-cluster.js';
export { spawnScript, type ChildExit, type ChildScript, type SpawnScriptOptions } from './child-script.js';
export { startTcpProxy, type ProxiedConnection, type TcpProxy } from './tcp-proxy.js';
