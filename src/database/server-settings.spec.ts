import { availableMemory, serverSettings } from './server-settings';

const MB = 2 ** 20;
const setting = (flags: string[], name: string) =>
  flags.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);

describe('serverSettings (the embedded PostgreSQL)', () => {
  it('passes every setting as a -c flag', () => {
    const flags = serverSettings(8192 * MB);
    expect(flags.filter((_, i) => i % 2 === 0).every((f) => f === '-c')).toBe(true);
    expect(setting(flags, 'max_wal_size')).toBe('4GB');
    expect(setting(flags, 'checkpoint_timeout')).toBe('15min');
    expect(setting(flags, 'jit')).toBe('off');
  });

  it.each([
    [256 * MB, '128MB'], // never below PostgreSQL's own default
    [2048 * MB, '512MB'], // a quarter of the memory
    [24 * 1024 * MB, '1024MB'], // capped: the app shares the machine
  ])('sizes shared_buffers for %d bytes as %s', (memory, expected) => {
    expect(setting(serverSettings(memory), 'shared_buffers')).toBe(expected);
  });
});

describe('availableMemory', () => {
  it.each([
    ['no limit, reported as 0', 0, 8192 * MB],
    ['no limit, reported as 2^64', 2 ** 64, 8192 * MB],
    ['a container limit below the machine memory', 512 * MB, 512 * MB],
    ['unknown', undefined, 8192 * MB],
  ])('%s', (_, constrained, expected) => {
    expect(availableMemory(8192 * MB, constrained)).toBe(expected);
  });

  it('keeps a 512 MB container to 128 MB of shared buffers', () => {
    expect(setting(serverSettings(availableMemory(24576 * MB, 512 * MB)), 'shared_buffers')).toBe(
      '128MB',
    );
  });
});
