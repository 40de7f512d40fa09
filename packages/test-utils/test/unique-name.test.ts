import { uniqueName } from '../src/index.js';

describe('uniqueName', () => {
  it('is unique across 1000 calls and only uses [a-z0-9-]', () => {
    const names = Array.from({ length: 1000 }, () => uniqueName('orders'));
    expect(new Set(names).size).toBe(1000);
    for (const name of names) {
      expect(name).toMatch(/^[a-z0-9-]+$/);
      expect(name.startsWith('orders-')).toBe(true);
    }
  });

  it('sanitises the prefix and has a default', () => {
    expect(uniqueName('My Stream:{x}')).toMatch(/^my-stream-x-[0-9a-f]{12}$/);
    expect(uniqueName()).toMatch(/^test-[0-9a-f]{12}$/);
    expect(uniqueName('***')).toMatch(/^[0-9a-f]{12}$/);
  });
});
