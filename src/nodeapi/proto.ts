// Loads twill_node.proto at run time. From the sources it sits beside this module; the build
// (dist/src/nodeapi/proto.js) reads it from the package's src/nodeapi/, which ships with it.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TwillError } from '../errors.js';

const PROTO_FILE = 'twill_node.proto';

function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, PROTO_FILE);
  if (existsSync(beside)) return beside;
  const inPackage = resolve(here, '../../../src/nodeapi', PROTO_FILE);
  if (existsSync(inPackage)) return inPackage;
  throw new TwillError('NodeApiProtoMissing', `cannot find src/nodeapi/${PROTO_FILE} (looked in ${here} and ${dirname(inPackage)})`, {
    hint: 'run twill-node and twillctl from the Twill package: the .proto ships with it and is not copied into dist/',
  });
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The TwillNode service definition (client constructor, with `.service` for the server). */
export function twillNodeService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync(protoPath(), { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { twill: { node: { v1: { TwillNode: grpc.ServiceClientConstructor } } } };
  cached = pkg.twill.node.v1.TwillNode;
  return cached;
}
