// `make chart-push` against a real OCI registry (Debian's docker-registry on loopback, as the node
// suite runs it): helm pushes the packaged chart, and `helm pull` / `helm show` read back the same
// archive, Chart.yaml, values and README. Needs no cluster; it runs in the API suite because
// make e2e builds helm there.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REGISTRY_BINARY, Registry } from './harness/registry.js';
import { freePort } from './harness/processes.js';
import { buildHelm, chartDir, findHelm, root } from '../manifests/helm.js';

const HELM = findHelm() ?? buildHelm();

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('e2e: make chart-push to an OCI registry', function () {
  this.timeout(120_000);
  let dir = '';
  let registry: Registry | undefined;
  let env: NodeJS.ProcessEnv = {};
  const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string; kubeVersion: string; icon: string };

  const helm = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(HELM, args, { encoding: 'utf8', env, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const make = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('make', ['--no-print-directory', '-f', 'mk/chart.mk', ...args, `HELM=${HELM}`, `CHART_OUT=${path.join(dir, 'out')}`], { cwd: root, encoding: 'utf8', env, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(async function () {
    if (!existsSync(REGISTRY_BINARY)) {
      console.warn(`    skipped: ${REGISTRY_BINARY} not found (apt-get install docker-registry; test/e2e/cluster/host-packages.sh installs it)`);
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'pullfix-chart-oci-'));
    // helm's registry login and cache stay in the run's directory.
    env = { ...process.env, HELM_REGISTRY_CONFIG: path.join(dir, 'registry.json'), HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_DATA_HOME: path.join(dir, 'data') };
    registry = new Registry({ dir: path.join(dir, 'registry'), port: await freePort() });
    await registry.start();
  });

  after(async function () {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pushes the packaged chart; helm pull gets the same archive back, helm show the same chart, values and README', function () {
    const repo = `oci://${registry?.host}/charts`;
    const push = make(['chart-push', `CHART_REGISTRY=${repo}`, 'CHART_PLAIN_HTTP=1']);
    expect(push.status, `${push.stdout}\n${push.stderr}`).to.equal(0);
    expect(push.stderr).to.match(new RegExp(`Pushed: ${registry?.host}/charts/pullfix:${chart.version.replace(/\./g, '\\.')}`));
    const packaged = path.join(dir, 'out', `pullfix-${chart.version}.tgz`);

    mkdirSync(path.join(dir, 'pulled'));
    const pull = helm(['pull', `${repo}/pullfix`, '--version', chart.version, '--plain-http', '--destination', path.join(dir, 'pulled')]);
    expect(pull.status, pull.stderr).to.equal(0);
    expect(sha256(path.join(dir, 'pulled', `pullfix-${chart.version}.tgz`))).to.equal(sha256(packaged));

    const shown = helm(['show', 'chart', `${repo}/pullfix`, '--version', chart.version, '--plain-http']);
    expect(shown.status, shown.stderr).to.equal(0);
    expect(parse(shown.stdout)).to.deep.include({ name: 'pullfix', version: chart.version, appVersion: chart.appVersion, kubeVersion: chart.kubeVersion, icon: chart.icon });
    const values = helm(['show', 'values', `${repo}/pullfix`, '--version', chart.version, '--plain-http']);
    // helm show ends what it prints with a newline of its own.
    expect(values.stdout.trimEnd()).to.equal(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8').trimEnd());
    const readme = helm(['show', 'readme', `${repo}/pullfix`, '--version', chart.version, '--plain-http']);
    expect(readme.stdout.trimEnd()).to.equal(readFileSync(path.join(chartDir, 'README.md'), 'utf8').trimEnd());

    // What helm template renders from the registry is what it renders from the checkout.
    const fromRegistry = helm(['template', 'pullfix', `${repo}/pullfix`, '--version', chart.version, '--plain-http', '--kube-version', '1.32.0', '--set', 'certificates.mode=cert-manager']);
    const fromCheckout = helm(['template', 'pullfix', chartDir, '--kube-version', '1.32.0', '--set', 'certificates.mode=cert-manager']);
    expect(fromRegistry.status, fromRegistry.stderr).to.equal(0);
    expect(fromRegistry.stdout).to.equal(fromCheckout.stdout);
  });

  it('the registry stores it as a Helm chart artifact (config media type), under the chart version as tag', async function () {
    const res = await fetch(`http://${registry?.host}/v2/charts/pullfix/manifests/${chart.version}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).to.equal(200);
    const manifest = (await res.json()) as { config: { mediaType: string }; layers: { mediaType: string; digest: string }[] };
    expect(manifest.config.mediaType).to.equal('application/vnd.cncf.helm.config.v1+json');
    expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal(['application/vnd.cncf.helm.chart.content.v1.tar+gzip']);
    expect(manifest.layers[0]?.digest).to.equal(`sha256:${sha256(path.join(dir, 'out', `pullfix-${chart.version}.tgz`))}`);
  });

  it('refuses a CHART_REGISTRY that is not oci://, naming it (exit 2 from the recipe)', function () {
    const bad = make(['chart-push', `CHART_REGISTRY=${registry?.host}/charts`]);
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.include(`chart-push: CHART_REGISTRY must be an OCI repository, e.g. oci://ghcr.io/pullfix/charts (got '${registry?.host}/charts')`);
  });
});
