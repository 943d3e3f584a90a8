// Loads twill_bgp.proto at run time. The file lives next to this module's source; the compiled
// module (dist/bgp/daemon/api/proto.js) finds it under the package root, so `npm run build`
// output works without copying the .proto.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TwillError } from '../../../src/errors.js';
import { packageRoot } from '../../../src/lib/package-info.js';

export const PROTO_FILE = 'twill_bgp.proto';

/** Where the .proto is: beside this file (source) or under the package root (built). */
export function protoPath(): string {
  const beside = join(dirname(fileURLToPath(import.meta.url)), PROTO_FILE);
  if (existsSync(beside)) return beside;
  const root = packageRoot();
  const inRoot = root && join(root, 'bgp', 'daemon', 'api', PROTO_FILE);
  if (inRoot && existsSync(inRoot)) return inRoot;
  throw new TwillError('BgpDaemonProtoMissing', `cannot find bgp/daemon/api/${PROTO_FILE} (looked beside ${beside} and in the package root)`, {
    hint: 'run twill-bgp from the Twill package: the .proto ships with it and is not copied into dist/',
  });
}

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The TwillBgp service definition (client constructor, with `.service` for the server). */
export function twillBgpService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { twill: { bgp: { v1: { TwillBgp: grpc.ServiceClientConstructor } } } };
  cached = pkg.twill.bgp.v1.TwillBgp;
  return cached;
}
