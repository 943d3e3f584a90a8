// Test certificates made with openssl: a CA, a second CA nobody trusts, and leaves signed by the
// first — a server/peer certificate for 127.0.0.1 and a client certificate. For the TLS tests of
// etcd (a single member and a 3-member cluster).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** The CA that signed every leaf. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  /** serverAuth + clientAuth for 127.0.0.1: an etcd member's client and peer certificate. */
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** Writes the PKI into `dir` (which must exist). */
export function makePki(dir: string): TestPki {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(dir, ['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=twill-test-${ca}`]);
  }
  const leaf = (name: string, ext: string): { cert: string; key: string } => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    server: leaf('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'),
    client: leaf('client', 'extendedKeyUsage=clientAuth\n'),
  };
}
