// `pullfix krm` end to end: the built CLI reading a ResourceList on stdin, as kustomize and
// kpt run it, and the exec-plugin form kubectl kustomize runs.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoPath } from '../helpers/fixtures.js';

const CLI = repoPath('dist', 'src', 'cli', 'main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function krm(input: string, args: string[] = []): Run {
  const r = spawnSync(process.execPath, [CLI, 'krm', ...args], { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function text(...lines: string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

// Items as kustomize sends them: its path and index annotations, comments and odd spacing kept.
const DEPLOYMENT = text(
  '# the web front end',
  '- apiVersion: apps/v1',
  '  kind: Deployment',
  '  metadata:',
  '    name: web',
  '    namespace: shop',
  '    annotations:',
  "      config.kubernetes.io/index: '0'",
  "      internal.config.kubernetes.io/index: '0'",
  "      internal.config.kubernetes.io/path: 'apps/web.yaml'",
  '  spec:',
  '    template:',
  '      spec:',
  '        imagePullPolicy: Always  # meant for the containers',
  '        containers:',
  '        - name: web',
  '          image: registry.example.com/web:5c3dda6b',
  '        - name: sidecar',
  '          image: "envoyproxy/envoy:v1.31.0"',
  '          imagePullPolicy: "IfNotPresent"   # pinned',
);
const DEPLOYMENT_FIXED = text(
  '# the web front end',
  '- apiVersion: apps/v1',
  '  kind: Deployment',
  '  metadata:',
  '    name: web',
  '    namespace: shop',
  '    annotations:',
  "      config.kubernetes.io/index: '0'",
  "      internal.config.kubernetes.io/index: '0'",
  "      internal.config.kubernetes.io/path: 'apps/web.yaml'",
  '  spec:',
  '    template:',
  '      spec:',
  '        containers:',
  '        - name: web',
  '          image: registry.example.com/web:5c3dda6b',
  '          imagePullPolicy: Always',
  '        - name: sidecar',
  '          image: "envoyproxy/envoy:v1.31.0"',
  '          imagePullPolicy: "IfNotPresent"   # pinned',
);
const SERVICE = text(
  '- apiVersion: v1',
  '  kind: Service',
  '  metadata: {name: web, namespace: shop, annotations: {config.kubernetes.io/path: "apps/service.yaml"}}',
  '  spec:',
  '    ports:   [{port: 80, targetPort: 8080}]   # spacing on purpose',
  '    selector: {app: web}',
);
const CONFIGMAP = text(
  '- apiVersion: v1',
  '  kind: ConfigMap',
  '  metadata:',
  '    name: settings',
  '  data:',
  "    motd: 'it''s fine'",
  '    script: |',
  '      echo one',
  '',
  '      echo two',
);
const CRONJOB = text(
  '- apiVersion: batch/v1',
  '  kind: CronJob',
  '  metadata:',
  '    name: report',
  '    annotations:',
  '      config.kubernetes.io/path: jobs/report.yaml',
  "      config.kubernetes.io/index: '2'",
  '  spec:',
  '    schedule: "0 3 * * *"',
  '    jobTemplate:',
  '      spec:',
  '        template:',
  '          spec:',
  '            containers:',
  '            - name: report',
  '              image: registry.example.com/report:nightly',
);
const POD_FLOW = "- {apiVersion: v1, kind: Pod, metadata: {name: debug}, spec: {containers: [{name: shell, image: 'busybox:dev'}]}}\n";
const BAD_IMAGE_JOB = text(
  '- apiVersion: batch/v1',
  '  kind: Job',
  '  metadata:',
  '    name: once',
  '  spec:',
  '    template:',
  '      spec:',
  '        containers:',
  '        - name: once',
  '          image: "Registry.Example.com/UPPER:1"',
);

function resourceList(items: string, functionConfig: string): string {
  return `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}functionConfig:\n${functionConfig}`;
}

const CONFIGMAP_CONFIG = text('  apiVersion: v1', '  kind: ConfigMap', '  metadata:', '    name: pullfix', '  data:', '    mutable: Always');

describe('pullfix krm', () => {
  describe('a ResourceList with several kinds', () => {
    const input = resourceList(DEPLOYMENT + SERVICE + CONFIGMAP + CRONJOB + POD_FLOW + BAD_IMAGE_JOB, CONFIGMAP_CONFIG);
    const run = krm(input);

    it('exits 0 and writes a ResourceList', () => {
      expect(run.stderr).to.equal('');
      expect(run.status).to.equal(0);
      expect(parse(run.stdout)).to.include({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList' });
    });

    it('fixes the workloads: the stray field moved, the class policy applied', () => {
      const items = parse(run.stdout).items;
      expect(items[0].spec.template.spec).to.not.have.property('imagePullPolicy');
      expect(items[0].spec.template.spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy)).to.deep.equal(['Always', 'IfNotPresent']);
      expect(items[3].spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy).to.equal('Always');
      expect(items[4].spec.containers[0].imagePullPolicy).to.equal('Always');
    });

    it('edits the fixed items in place and leaves every other byte as it was', () => {
      // A flow item is edited inside its braces, in its own style, like any other.
      const pod = POD_FLOW.replace("image: 'busybox:dev'", '$&, imagePullPolicy: Always');
      const cronjob = CRONJOB.replace('              image: registry.example.com/report:nightly\n', '$&              imagePullPolicy: Always\n');
      const expectedItems = DEPLOYMENT_FIXED + SERVICE + CONFIGMAP + cronjob + pod + BAD_IMAGE_JOB;
      const expectedHead = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${expectedItems}functionConfig:\n${CONFIGMAP_CONFIG}`;
      expect(run.stdout.startsWith(expectedHead)).to.equal(true, run.stdout);
      expect(run.stdout.slice(expectedHead.length)).to.match(/^results:\n- message: /);
    });

    it('carries one result per change or problem, with the resource, the field and the file', () => {
      const results = parse(run.stdout).results;
      const web = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' };
      const webFile = { path: 'apps/web.yaml', index: 0 };
      expect(results).to.deep.equal([
        {
          message: 'container "web": imagePullPolicy set to Always (moved from pod level)',
          severity: 'info',
          resourceRef: web,
          field: { path: 'spec.template.spec.containers[0].imagePullPolicy' },
          file: webFile,
        },
        {
          message: 'removed pod-level imagePullPolicy Always: Kubernetes ignores it there',
          severity: 'info',
          resourceRef: web,
          field: { path: 'spec.template.spec.imagePullPolicy' },
          file: webFile,
        },
        {
          message: 'container "report": imagePullPolicy set to Always (functionConfig policies.mutable: Always)',
          severity: 'info',
          resourceRef: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'report' },
          field: { path: 'spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy' },
          // The older annotation form, as kustomize 4 and kpt still write it.
          file: { path: 'jobs/report.yaml', index: 2 },
        },
        {
          message: 'container "shell": imagePullPolicy set to Always (functionConfig policies.mutable: Always)',
          severity: 'info',
          resourceRef: { apiVersion: 'v1', kind: 'Pod', name: 'debug' },
          field: { path: 'spec.containers[0].imagePullPolicy' },
        },
        {
          message: results[4].message,
          severity: 'warning',
          resourceRef: { apiVersion: 'batch/v1', kind: 'Job', name: 'once' },
        },
      ]);
      expect(results[4].message).to.match(/^container "once": image "Registry.Example.com\/UPPER:1" does not parse/);
    });
  });

  it('fixes the objects inside an item that is a List, as fix does, with results naming the object and the file', () => {
    const list = text(
      '- apiVersion: v1',
      '  kind: List',
      '  metadata:',
      '    annotations:',
      "      internal.config.kubernetes.io/path: 'list.yaml'",
      '  items:',
      '  - apiVersion: v1',
      '    kind: Pod',
      '    metadata: {name: p}',
      '    spec:',
      '      imagePullPolicy: Never',
      '      containers:',
      '      - name: a',
      '        image: a:1',
    );
    const input = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${list}`;
    const run = krm(input);
    expect(run.status).to.equal(0);
    expect(run.stderr).to.equal('');
    const out = parse(run.stdout) as any;
    expect(out.items[0].items[0].spec).to.deep.equal({ containers: [{ name: 'a', image: 'a:1', imagePullPolicy: 'Never' }] });
    expect(run.stdout.startsWith(input.replace('      imagePullPolicy: Never\n', '').replace('        image: a:1\n', '$&        imagePullPolicy: Never\n'))).to.equal(true);
    expect(out.results).to.deep.equal([
      {
        message: 'container "a": imagePullPolicy set to Never (moved from pod level)',
        severity: 'info',
        resourceRef: { apiVersion: 'v1', kind: 'Pod', name: 'p' },
        field: { path: 'spec.containers[0].imagePullPolicy' },
        file: { path: 'list.yaml' },
      },
      {
        message: 'removed pod-level imagePullPolicy Never: Kubernetes ignores it there',
        severity: 'info',
        resourceRef: { apiVersion: 'v1', kind: 'Pod', name: 'p' },
        field: { path: 'spec.imagePullPolicy' },
        file: { path: 'list.yaml' },
      },
    ]);
  });

  it('names bytes on stdin that are not UTF-8 as <stdin>:LINE:COL, exit 2', () => {
    const r = spawnSync(process.execPath, [CLI, 'krm'], { input: Buffer.from([0x6b, 0x3a, 0x20, 0xe9, 0x0a]), encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal('pullfix: <stdin>:1:4: not UTF-8 (byte 0xE9); convert it first, e.g. iconv -f latin1 -t utf-8 (manifests are UTF-8)\n');
  });

  it('takes a PullfixConfig functionConfig: mode enforce overrides a written value', () => {
    const config = text('  apiVersion: pullfix.dev/v1alpha1', '  kind: PullfixConfig', '  metadata:', '    name: pullfix', '  mode: enforce', '  policies:', '    tagged: Always');
    const run = krm(resourceList(DEPLOYMENT, config));
    expect(run.status).to.equal(0);
    const containers = parse(run.stdout).items[0].spec.template.spec.containers;
    expect(containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy)).to.deep.equal(['Always', 'Always']);
    // The quoting of the replaced value is kept.
    expect(run.stdout).to.include('          imagePullPolicy: "Always"   # pinned\n');
  });

  it('moves stray fields with no functionConfig, and applies no class policy', () => {
    const run = krm(`apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${DEPLOYMENT}${CRONJOB}`);
    expect(run.status).to.equal(0);
    expect(run.stdout.startsWith(`apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${DEPLOYMENT_FIXED}${CRONJOB}results:\n`)).to.equal(true);
  });

  it('writes the input back byte for byte when there is nothing to say', () => {
    const input = resourceList(SERVICE + CONFIGMAP, CONFIGMAP_CONFIG);
    expect(krm(input)).to.deep.equal({ status: 0, stdout: input, stderr: '' });
  });

  it('appends to the results already in the list', () => {
    const input = `${resourceList(CRONJOB, CONFIGMAP_CONFIG)}results:\n- message: from an earlier function\n  severity: info\n`;
    const results = parse(krm(input).stdout).results;
    expect(results.map((r: { message: string }) => r.message)).to.deep.equal([
      'from an earlier function',
      'container "report": imagePullPolicy set to Always (functionConfig policies.mutable: Always)',
    ]);
  });

  it('accepts the ResourceList as JSON and keeps the untouched items as they were', () => {
    const input = JSON.stringify({
      apiVersion: 'config.kubernetes.io/v1',
      kind: 'ResourceList',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { imagePullPolicy: 'Never', containers: [{ name: 'a', image: 'a:1' }] } },
      ],
    });
    const run = krm(input);
    expect(run.status).to.equal(0);
    expect(run.stdout.startsWith('{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}},')).to.equal(true);
    const out = parse(run.stdout);
    expect(out.items[1].spec).to.deep.equal({ containers: [{ name: 'a', image: 'a:1', imagePullPolicy: 'Never' }] });
    expect(out.results).to.have.length(2);
  });

  describe('errors: exit 2, a message saying what is wrong, nothing on stdout', () => {
    const cases: Array<[string, string, string]> = [
      ['empty input', '', 'pullfix: no input: expected a ResourceList (config.kubernetes.io/v1) on standard input\n'],
      [
        'invalid YAML',
        'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [\n',
        'pullfix: <stdin>:4:1: invalid YAML in the ResourceList: Flow sequence in block collection must be sufficiently indented and end with a ]\n',
      ],
      ['a manifest instead of a ResourceList', 'apiVersion: v1\nkind: Pod\n', 'pullfix: expected kind ResourceList, got "Pod" (is this a manifest? use pullfix fix for manifests)\n'],
      ['a list, not a mapping', '- a\n- b\n', 'pullfix: expected a ResourceList: the input is not a mapping\n'],
      [
        'an unknown apiVersion',
        'apiVersion: config.kubernetes.io/v2\nkind: ResourceList\nitems: []\n',
        'pullfix: ResourceList apiVersion must be one of config.kubernetes.io/v1, config.kubernetes.io/v1alpha1, got "config.kubernetes.io/v2"\n',
      ],
      ['items not a list', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: 1}\n', 'pullfix: ResourceList items must be a list of objects\n'],
      ['an item not an object', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- just a string\n', 'pullfix: ResourceList items[0] (line 4) is not an object\n'],
      [
        'two documents',
        'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\n',
        'pullfix: expected one ResourceList document on standard input, got 2 documents\n',
      ],
      [
        'a policy in the wrong case',
        resourceList('', '  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: pf}\n  data: {mutable: always}\n'),
        'pullfix: functionConfig (ConfigMap pf): data.mutable: must be one of Always, IfNotPresent, Never (case-sensitive), got "always"\n',
      ],
      [
        'an unknown ConfigMap key',
        resourceList('', '  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: pf}\n  data: {mutabel: Always}\n'),
        'pullfix: functionConfig (ConfigMap pf): data.mutabel: unknown key; expected one of mode, mutable, tagged, digest, mutableTags\n',
      ],
      [
        'an unknown PullfixConfig field',
        resourceList('', '  apiVersion: pullfix.dev/v1alpha1\n  kind: PullfixConfig\n  metadata: {name: pf}\n  polices: {mutable: Always}\n'),
        'pullfix: functionConfig (PullfixConfig pf): polices: unknown field; expected one of mode, policies, mutableTags, exemptImages, workloads, podTemplates\n',
      ],
      [
        'a functionConfig of another kind',
        resourceList('', '  apiVersion: v1\n  kind: Secret\n  metadata: {name: pf}\n'),
        'pullfix: functionConfig: expected a v1 ConfigMap or a pullfix.dev/v1alpha1 PullfixConfig, got apiVersion "v1" and kind "Secret"\n',
      ],
      // Something missing is said to be missing, never `got undefined`.
      ['an empty mapping', '{}\n', 'pullfix: expected kind ResourceList, got an object with no kind (a KRM function reads a ResourceList on stdin; for manifests use pullfix fix)\n'],
      [
        'a ResourceList with no apiVersion',
        'kind: ResourceList\nitems: []\n',
        'pullfix: ResourceList apiVersion must be one of config.kubernetes.io/v1, config.kubernetes.io/v1alpha1, it has none: add apiVersion: config.kubernetes.io/v1\n',
      ],
      [
        'a functionConfig with no apiVersion',
        resourceList('', '  kind: Secret\n'),
        'pullfix: functionConfig: expected a v1 ConfigMap or a pullfix.dev/v1alpha1 PullfixConfig, got no apiVersion and kind "Secret"\n',
      ],
      [
        'a PullfixConfig with no apiVersion',
        resourceList('', '  kind: PullfixConfig\n'),
        'pullfix: functionConfig (PullfixConfig): apiVersion must be pullfix.dev/v1alpha1, it has none: add apiVersion: pullfix.dev/v1alpha1\n',
      ],
    ];
    for (const [what, input, stderr] of cases) {
      it(what, () => {
        expect(krm(input)).to.deep.equal({ status: 2, stdout: '', stderr });
      });
    }
  });

  describe('exec-plugin form (a config file argument, resources as a YAML stream)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-krm-'));
      writeFileSync(path.join(dir, 'config.yaml'), 'apiVersion: pullfix.dev/v1alpha1\nkind: PullfixConfig\nmetadata:\n  name: pullfix\npolicies:\n  mutable: Always\n');
      writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {tagged: sometimes}\n');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('fixes the stream as pullfix fix would, keeping the rest', () => {
      const stream = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: a:latest\n';
      const run = krm(stream, [path.join(dir, 'config.yaml')]);
      expect(run).to.deep.equal({ status: 0, stdout: stream.replace('    image: a:latest\n', '$&    imagePullPolicy: Always\n'), stderr: '' });
      expect(Array.from(parseAllDocuments(run.stdout))).to.have.length(2);
    });

    it('names a missing config file in words, exit 2', () => {
      const run = krm('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n', [path.join(dir, 'missing.yaml')]);
      expect(run).to.deep.equal({
        status: 2,
        stdout: '',
        stderr: `pullfix: ${path.join(dir, 'missing.yaml')}: cannot read: no such file; pullfix krm CONFIG_FILE reads the plugin config kustomize passes, check the path\n`,
      });
    });

    it('places YAML errors as FILE:LINE:COL, in the config file and in the stream', () => {
      writeFileSync(path.join(dir, 'broken.yaml'), 'kind: PullfixConfig\nx: [\n');
      const config = krm('kind: Pod\n', [path.join(dir, 'broken.yaml')]);
      expect(config.status).to.equal(2);
      expect(config.stderr).to.match(new RegExp(`^pullfix: ${path.join(dir, 'broken.yaml')}:3:1: invalid YAML: `));
      const stream = krm('kind: Pod\nx: [\n', [path.join(dir, 'config.yaml')]);
      expect(stream.status).to.equal(2);
      expect(stream.stderr).to.match(/^pullfix: <stdin>:3:1: invalid YAML: /);
    });

    it('refuses a bad config file with exit 2', () => {
      const run = krm('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n', [path.join(dir, 'bad.yaml')]);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal('pullfix: functionConfig (ConfigMap x): data.tagged: must be one of Always, IfNotPresent, Never (case-sensitive), got "sometimes"\n');
      expect(run.stdout).to.equal('');
    });
  });
});
