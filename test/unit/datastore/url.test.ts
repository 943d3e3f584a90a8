import { describe, expect, it } from 'vitest';
import {
  DatastoreConfigError,
  DEFAULT_DATASTORE_URL,
  datastoreUrlFromEnv,
  defaultDatastorePath,
  parseDatastoreUrl,
} from '../../../src/datastore/index.js';

describe('datastore URLs', () => {
  it('parses memory:, file: and etcd:// URLs', () => {
    expect(parseDatastoreUrl('memory:')).toEqual({ backend: 'memory' });
    expect(parseDatastoreUrl('file:/var/lib/twill/ds.json')).toEqual({ backend: 'file', path: '/var/lib/twill/ds.json' });
    expect(parseDatastoreUrl('file:///var/lib/twill/ds.json')).toEqual({ backend: 'file', path: '/var/lib/twill/ds.json' });
    expect(parseDatastoreUrl('file:rel/ds.json')).toEqual({ backend: 'file', path: `${process.cwd()}/rel/ds.json` });
    expect(parseDatastoreUrl('etcd://127.0.0.1:2379')).toEqual({ backend: 'etcd', endpoints: [{ host: '127.0.0.1', port: 2379 }] });
    expect(parseDatastoreUrl('etcd://a:1,b:2, [::1]:3')).toEqual({
      backend: 'etcd',
      endpoints: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
        { host: '[::1]', port: 3 },
      ],
    });
    expect(parseDatastoreUrl('etcd://etcd.example')).toEqual({ backend: 'etcd', endpoints: [{ host: 'etcd.example', port: 2379 }] });
  });

  it('rejects what it does not understand, saying what was wrong', () => {
    for (const [u, why] of [
      ['mysql://x', /not understood/],
      ['etcd://', /names no etcd endpoint/],
      ['etcd://h:99999', /port/],
      ['etcd://h:1,', /is not host:port/],
      ['file:', /no file path/],
      ['file://remote-host/x', /must be local/],
    ] as const) {
      let err: unknown;
      try {
        parseDatastoreUrl(u);
      } catch (e) {
        err = e;
      }
      expect(err, u).toBeInstanceOf(DatastoreConfigError);
      expect((err as Error).message).toContain(u);
      expect((err as Error).message).toMatch(why);
    }
  });

  it('defaults to a file under XDG_STATE_HOME, else ~/.local/state', () => {
    expect(defaultDatastorePath({ XDG_STATE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/twill/datastore.json');
    expect(defaultDatastorePath({ HOME: '/home/u' })).toBe('/home/u/.local/state/twill/datastore.json');
    expect(defaultDatastorePath({ XDG_STATE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/state/twill/datastore.json');
    expect(DEFAULT_DATASTORE_URL).toBe(`file:${defaultDatastorePath()}`);
  });

  it('takes TWILL_DATASTORE from the environment when set', () => {
    expect(datastoreUrlFromEnv({ TWILL_DATASTORE: 'etcd://10.0.0.1:2379', HOME: '/h' })).toBe('etcd://10.0.0.1:2379');
    expect(datastoreUrlFromEnv({ TWILL_DATASTORE: '  ', HOME: '/h' })).toBe('file:/h/.local/state/twill/datastore.json');
    expect(datastoreUrlFromEnv({ HOME: '/h', XDG_STATE_HOME: '/s' })).toBe('file:/s/twill/datastore.json');
  });
});
