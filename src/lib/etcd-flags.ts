// The etcd client-certificate flags of every program that opens the datastore (twillctl,
// twill-node, twill-kube-controllers): one wording, and one way to hand them on.
import type { Command } from 'commander';

/** The TLS files for etcd, as `openDatastore` takes them. */
export interface EtcdTlsFiles {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

/** Adds --etcd-ca, --etcd-cert and --etcd-key to `cmd` (their values land in etcdCa / etcdCert / etcdKey). */
export function addEtcdTlsOptions(cmd: Command): Command {
  return cmd
    .option('--etcd-ca <file>', 'CA certificate (PEM) that signed the etcd server certificate')
    .option('--etcd-cert <file>', 'client certificate (PEM) for etcd')
    .option('--etcd-key <file>', 'client key (PEM) for etcd');
}

/** Only the files that were given (no keys for the others). */
export function etcdTlsFiles(o: EtcdTlsFiles): EtcdTlsFiles {
  return {
    ...(o.etcdCa ? { etcdCa: o.etcdCa } : {}),
    ...(o.etcdCert ? { etcdCert: o.etcdCert } : {}),
    ...(o.etcdKey ? { etcdKey: o.etcdKey } : {}),
  };
}
