import { createProducer } from '@tributary/producer';
import { connectRedis } from '@tributary/core';
console.log(typeof createProducer, typeof connectRedis, require.resolve('@tributary/core'));
