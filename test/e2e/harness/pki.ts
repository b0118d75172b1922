// The test cluster's certificates, made on the fly with openssl: one CA that signs the API
// server's serving certificate and the admin's client certificate (group system:masters, which
// RBAC lets do anything), and the service-account signing key pair. The webhook's serving pair
// comes from the project's own certs/make-dev-certs.sh, whose SANs include 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterPki {
  caCert: string;
  caKey: string;
  apiServerCert: string;
  apiServerKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** The node's certificates, for a cluster with a kubelet. */
export interface NodePki {
  /** The kubelet's client certificate: user `system:node:NAME` in `system:nodes` (the Node authorizer's). */
  nodeCert: string;
  nodeKey: string;
  /** The kubelet's serving certificate (SANs localhost, 127.0.0.1), which the API server verifies. */
  kubeletServingCert: string;
  kubeletServingKey: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

function ecKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** Signs a leaf for `subject` with the CA, with the extensions section `ext` of `cnf`. */
function leaf(dir: string, name: string, subject: string, cnf: string, ext: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  ecKey(key);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr, '-config', cnf]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x7${randomBytes(15).toString('hex')}`,
    '-days', '2', '-sha256', '-extfile', cnf, '-extensions', ext, '-out', cert]);
  return { cert, key };
}

/** Writes the cluster's PKI into `dir` (created if missing). */
export function makeClusterPki(dir: string, serviceIp: string): ClusterPki {
  mkdirSync(dir, { recursive: true });
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      // The API server's in-cluster names too: the `kubernetes` Service's ClusterIP is the first
      // address of --service-cluster-ip-range.
      `subjectAltName = IP:127.0.0.1, IP:${serviceIp}, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc`,
      '[kubelet_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      '[client_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  ecKey(ca.key);
  openssl(['req', '-new', '-x509', '-key', ca.key, '-subj', '/CN=pullfix-e2e-ca', '-days', '2', '-sha256',
    '-config', cnf, '-extensions', 'ca_ext', '-out', ca.cert]);
  const server = leaf(dir, 'apiserver', '/CN=kube-apiserver', cnf, 'server_ext', ca);
  const admin = leaf(dir, 'admin', '/O=system:masters/CN=pullfix-e2e-admin', cnf, 'client_ext', ca);
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccountKey]);
  openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return {
    caCert: ca.cert,
    caKey: ca.key,
    apiServerCert: server.cert,
    apiServerKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}

/** Adds the node's certificates to a PKI made by makeClusterPki (same directory, same CA). */
export function makeNodePki(dir: string, nodeName: string): NodePki {
  const cnf = join(dir, 'openssl.cnf');
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const node = leaf(dir, 'node', `/O=system:nodes/CN=system:node:${nodeName}`, cnf, 'client_ext', ca);
  const serving = leaf(dir, 'kubelet', `/CN=${nodeName}`, cnf, 'kubelet_ext', ca);
  return { nodeCert: node.cert, nodeKey: node.key, kubeletServingCert: serving.cert, kubeletServingKey: serving.key };
}
