// `pullfix fix` and `pullfix krm` on what pipelines feed them: the built CLI as a child
// process, standard input through a real pipe, real files in a temporary directory.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/fixtures.js';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pullfix(args: string[], cwd: string, input = ''): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI with `input` written to its stdin in `chunk`-byte pieces, `delayMs` apart, as a
 * slow producer (kustomize, helm) does; the child is killed by its pid if it outlives `limitMs`.
 */
function pullfixThroughPipe(args: string[], input: Buffer, chunk: number, delayMs: number, limitMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, limitMs);
    let offset = 0;
    const feed = (): void => {
      if (offset >= input.length) {
        child.stdin.end();
        return;
      }
      child.stdin.write(input.subarray(offset, offset + chunk));
      offset += chunk;
      setTimeout(feed, delayMs);
    };
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    feed();
  });
}

function lines(...l: string[]): string {
  return l.map((x) => `${x}\n`).join('');
}

function deployment(name: string, extra = ''): string {
  return lines(
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}  # comment kept`,
    'spec:',
    '  template:',
    '    spec:',
    '      imagePullPolicy: Always',
    '      containers:',
    `      - name: ${name}`,
    `        image: registry.example.com/${name}:1.0`,
  ) + extra;
}

function fixedDeployment(name: string, extra = ''): string {
  return deployment(name, extra)
    .replace('      imagePullPolicy: Always\n', '')
    .replace(`image: registry.example.com/${name}:1.0\n`, `$&        imagePullPolicy: Always\n`);
}

describe('pullfix fix and krm in pipelines', function () {
  this.timeout(180_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-pipe-'));
  });
  afterEach(() => {
    try {
      chmodSync(path.join(dir, 'b.yaml'), 0o644);
    } catch {
      // Only the read-only test leaves one.
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads several MiB of stdin from a slow pipe (fix -, fix --check -)', async () => {
    const count = 14_000;
    const input = Array.from({ length: count }, (_, i) => deployment(`app${i}`)).join('---\n');
    const expected = Array.from({ length: count }, (_, i) => fixedDeployment(`app${i}`)).join('---\n');
    expect(input.length).to.be.greaterThan(2 * 1024 * 1024);
    const fixed = await pullfixThroughPipe(['fix', '-'], Buffer.from(input), 64 * 1024, 3);
    expect(fixed.stderr).to.equal('');
    expect(fixed.status).to.equal(0);
    expect(fixed.stdout).to.equal(expected);
    const check = await pullfixThroughPipe(['fix', '--check', '-'], Buffer.from(input), 100_000, 5);
    expect(check.stderr).to.equal('');
    expect(check.status).to.equal(1);
    expect(check.stdout.split('\n').filter(Boolean)).to.have.length(2 * count);
  });

  it('reads a ResourceList of several MiB from a slow pipe (krm)', async () => {
    const items = Array.from({ length: 9000 }, (_, i) => deployment(`app${i}`).replace(/^(?=.)/gm, '  ').replace(/^  apiVersion/, '- apiVersion'));
    const input = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items.join('')}`;
    expect(input.length).to.be.greaterThan(2 * 1024 * 1024);
    const run = await pullfixThroughPipe(['krm'], Buffer.from(input), 32 * 1024, 2);
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    const list = parse(run.stdout, { maxAliasCount: -1 }) as { items: { spec: { template: { spec: Record<string, unknown> } } }[]; results: unknown[] };
    expect(list.items).to.have.length(9000);
    expect(list.items.every((i) => i.spec.template.spec.imagePullPolicy === undefined)).to.equal(true);
    expect(list.results).to.have.length(18_000);
  });

  it('--write checks every target before writing any, and names the read-only one', () => {
    for (const f of ['a', 'b', 'c']) writeFileSync(path.join(dir, `${f}.yaml`), deployment(f));
    chmodSync(path.join(dir, 'b.yaml'), 0o444);
    const run = pullfix(['fix', '--write', 'a.yaml', 'b.yaml', 'c.yaml'], dir);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal('pullfix: b.yaml: cannot write: the file is read-only\npullfix: nothing written\n');
    for (const f of ['a', 'b', 'c']) expect(readFileSync(path.join(dir, `${f}.yaml`), 'utf8')).to.equal(deployment(f));
  });

  it('never re-serialises: a block scalar image, an octal mode, a tagged document and flow maps keep their text', () => {
    const input = lines(
      '--- !!map',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: web,   labels: {app: web}}',
      'spec:',
      '  imagePullPolicy: IfNotPresent',
      '  containers:',
      '  - name: web',
      '    image: >-',
      '      registry.example.com/web:1.0',
      '    ports: [ {containerPort: 80} ]',
      '  volumes:',
      '  - name: config',
      '    secret: {secretName: web, defaultMode: 0644}',
      '  - name: big',
      '    configMap: {name: x, items: [{key: k, path: p, mode: 0600}]}',
    );
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.equal(
      input.replace('  imagePullPolicy: IfNotPresent\n', '').replace('      registry.example.com/web:1.0\n', '$&    imagePullPolicy: IfNotPresent\n'),
    );
  });

  it('an anchored stray value keeps every alias that reads it', () => {
    const input = lines(
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: web}',
      'spec:',
      '  imagePullPolicy: &pp Always',
      '  containers:',
      '  - name: web',
      '    image: web:1.0',
      '  - name: sidecar',
      '    image: sidecar:1.0',
      '    imagePullPolicy: *pp',
    );
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    expect(run.stdout).to.equal(
      input.replace('  imagePullPolicy: &pp Always\n', '').replace('    image: web:1.0\n', '$&    imagePullPolicy: Always\n').replace('*pp', '&pp Always'),
    );
  });

  it('names the line of an alias with no anchor before it', () => {
    const run = pullfix(['fix', '-'], dir, lines('kind: Pod', 'apiVersion: v1', 'spec:', '  imagePullPolicy: Always', '  containers: *missing'));
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal('<stdin>:5:15: invalid YAML: Unresolved alias (the anchor must be set before the alias): missing\n');
  });

  it('resolves merge keys in a container list and adds the policy to the entry itself', () => {
    const input = lines(
      'base: &c',
      '  image: web:1.0',
      '  ports: [{containerPort: 80}]',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: web}',
      'spec:',
      '  imagePullPolicy: Never',
      '  containers:',
      '  - &web',
      '    name: web',
      '    image: web:1.0',
      '  - <<: *web',
      '    name: copy',
      '  - *web',
    );
    const run = pullfix(['fix', '-'], dir, input.replace(/^base: &c\n.*\n.*\n---\n/, ''));
    expect(run.stderr).to.equal('');
    // The anchored entry, the entry merging it and the entry aliasing it each get the value, and only it.
    expect(run.stdout).to.equal(
      input
        .replace(/^base: &c\n.*\n.*\n---\n/, '')
        .replace('  imagePullPolicy: Never\n', '')
        .replace('    image: web:1.0\n', '$&    imagePullPolicy: Never\n')
        .replace('    name: copy\n', '$&    imagePullPolicy: Never\n')
        .replace('  - *web', '  - {<<: *web, imagePullPolicy: Never}'),
    );
    const pod = parse(run.stdout, { merge: true }) as { spec: { containers: { name: string; imagePullPolicy?: string }[] } };
    expect(pod.spec.containers.map((c) => [c.name, c.imagePullPolicy])).to.deep.equal([
      ['web', 'Never'],
      ['copy', 'Never'],
      ['web', 'Never'],
    ]);
    const merged = lines(
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: web}',
      'x-base: &c {image: "web:1.0"}',
      'spec:',
      '  imagePullPolicy: Never',
      '  containers:',
      '  - <<: *c',
      '    name: web',
    );
    const ok = pullfix(['fix', '-'], dir, merged);
    expect(ok.stderr).to.equal('');
    expect(ok.stdout).to.equal(merged.replace('  imagePullPolicy: Never\n', '').replace('    name: web\n', '$&    imagePullPolicy: Never\n'));
  });

  it('keeps integers above 2^53 and 1e21 as written, in JSON too', () => {
    const input = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "annotations": {"n": 9007199254740993}},\n' +
      ' "spec": {"imagePullPolicy": "Always", "activeDeadlineSeconds": 9007199254740993, "x": 1e21, "containers": [{"name": "a", "image": "a:1"}]}}\n';
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.equal(input.replace('"imagePullPolicy": "Always", ', '').replace('"image": "a:1"', '$&, "imagePullPolicy": "Always"'));
  });

  it('joins a file that starts with %YAML 1.2 into a valid stream', () => {
    writeFileSync(path.join(dir, 'a.yaml'), deployment('a'));
    writeFileSync(path.join(dir, 'b.yaml'), `%YAML 1.2\n---\n${deployment('b')}`);
    const run = pullfix(['fix', 'a.yaml', 'b.yaml'], dir);
    expect(run.status).to.equal(0);
    const docs = Array.from(parseAllDocuments(run.stdout));
    expect(docs.flatMap((d) => d.errors)).to.deep.equal([]);
    expect(docs).to.have.length(2);
    const again = pullfix(['fix', '--check', '-'], dir, run.stdout);
    expect(again.stderr).to.equal('');
    expect(again.status).to.equal(0);
  });

  it('refuses Latin-1 bytes with the line, and decodes UTF-16 with a byte-order mark', () => {
    const latin1 = Buffer.concat([Buffer.from(deployment('a')), Buffer.from('# caf\xe9\n', 'latin1')]);
    writeFileSync(path.join(dir, 'l.yaml'), latin1);
    const run = pullfix(['fix', '--write', 'l.yaml'], dir);
    expect(run.status).to.equal(2);
    // FILE:LINE:COL, as every other input error: `# caf` comes before the byte.
    expect(run.stderr).to.equal('l.yaml:12:6: not UTF-8 (byte 0xE9); convert it first, e.g. iconv -f latin1 -t utf-8 (manifests are UTF-8)\npullfix: nothing written\n');
    expect(readFileSync(path.join(dir, 'l.yaml')).equals(latin1)).to.equal(true);

    writeFileSync(path.join(dir, 'u.yaml'), Buffer.from(`\uFEFF${deployment('u')}`, 'utf16le'));
    const check = pullfix(['fix', '--check', 'u.yaml'], dir);
    expect(check.status).to.equal(1);
    expect(check.stdout).to.include('u.yaml:8: removed pod-level imagePullPolicy Always');
    expect(pullfix(['fix', '--write', 'u.yaml'], dir).status).to.equal(0);
    expect(readFileSync(path.join(dir, 'u.yaml')).equals(Buffer.from(`\uFEFF${fixedDeployment('u')}`, 'utf16le'))).to.equal(true);

    writeFileSync(path.join(dir, 'n.yaml'), Buffer.from(deployment('n'), 'utf16le'));
    const nul = pullfix(['fix', '--check', 'n.yaml'], dir);
    expect(nul.status).to.equal(2);
    expect(nul.stderr).to.equal('n.yaml:1:2: contains NUL bytes: UTF-16 without a byte-order mark, or not text; save it as UTF-8\n');
  });

  it('names bytes that are not text as FILE:LINE:COL, with the other inputs\' errors', () => {
    // The column counts characters before the byte: `  - caf` then `é` (two bytes) then 0xFF.
    writeFileSync(path.join(dir, 'a.yaml'), Buffer.concat([Buffer.from('kind: Pod\n  - caf\u00e9'), Buffer.from([0xff]), Buffer.from('\n')]));
    writeFileSync(path.join(dir, 'b.yaml'), 'kind: Pod\nmetadata: {name: [}\n');
    const run = pullfix(['fix', '--check', 'a.yaml', 'b.yaml'], dir);
    expect(run.status).to.equal(2);
    const [first, second] = run.stderr.split('\n');
    expect(first).to.equal('a.yaml:2:9: not UTF-8 (byte 0xFF); convert it first, e.g. iconv -f latin1 -t utf-8 (manifests are UTF-8)');
    expect(second).to.match(/^b\.yaml:2:\d+: invalid YAML: /);
  });

  it('inserts lines with the file\'s dominant line ending', () => {
    const input = deployment('a', lines('      - name: b', '        image: b:1', '        args: ["x\r', '          y"]'));
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.include('        image: registry.example.com/a:1.0\n        imagePullPolicy: Always\n');
    expect(run.stdout).to.include('        image: b:1\n        imagePullPolicy: Always\n');
  });

  it('moves a pod-level value to every container named, with no image or an image that does not parse', () => {
    const input = lines(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web}',
      'spec:',
      '  template:',
      '    spec:',
      '      imagePullPolicy: Always',
      '      containers:',
      '      - name: web',
      '      - name: tmpl',
      '        image: ${REGISTRY}/app:${TAG}',
    );
    const check = pullfix(['fix', '--check', '-'], dir, input);
    expect(check.status).to.equal(1);
    expect(check.stdout).to.include('<stdin>:9: container "web": imagePullPolicy set to Always (moved from pod level)');
    expect(check.stdout).to.include('<stdin>:10: container "tmpl": image "${REGISTRY}/app:${TAG}" does not parse');
    expect(check.stdout).to.include('<stdin>:10: container "tmpl": imagePullPolicy set to Always (moved from pod level)');
    const fixed = pullfix(['fix', '-'], dir, input);
    expect(fixed.status).to.equal(0);
    const containers = (parse(fixed.stdout) as any).spec.template.spec.containers;
    expect(containers).to.deep.equal([
      { name: 'web', imagePullPolicy: 'Always' },
      { name: 'tmpl', image: '${REGISTRY}/app:${TAG}', imagePullPolicy: 'Always' },
    ]);
    expect((parse(fixed.stdout) as any).spec.template.spec.imagePullPolicy).to.equal(undefined);
  });

  it('krm moves a pod-level value to a container named without its image (a kustomize patch)', () => {
    const input = lines(
      'apiVersion: config.kubernetes.io/v1',
      'kind: ResourceList',
      'items:',
      '- apiVersion: apps/v1',
      '  kind: Deployment',
      '  metadata: {name: web}',
      '  spec:',
      '    template:',
      '      spec:',
      '        imagePullPolicy: Always',
      '        containers:',
      '        - name: web',
    );
    const run = pullfix(['krm'], dir, input);
    expect(run.status).to.equal(0);
    const out = parse(run.stdout) as any;
    expect(out.items[0].spec.template.spec.containers).to.deep.equal([{ name: 'web', imagePullPolicy: 'Always' }]);
    expect(out.results.filter((r: { severity: string }) => r.severity === 'warning')).to.deep.equal([]);
  });

  it('fixes extensions/v1beta1 workloads like apps/v1', () => {
    const input = deployment('a').replace('apps/v1', 'extensions/v1beta1');
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stdout).to.equal(fixedDeployment('a').replace('apps/v1', 'extensions/v1beta1'));
  });

  it('says once that a Helm template must be rendered first', () => {
    const input = lines(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ include "app.fullname" . }}',
      '  labels:',
      '    {{- include "app.labels" . | nindent 4 }}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: {{ .Chart.Name }}',
      '        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      '        {{- with .Values.resources }}',
      '        resources: {{- toYaml . | nindent 10 }}',
      '        {{- end }}',
    );
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal('<stdin>:4:9: looks like a Helm template: render it first (helm template … | pullfix fix -)\n');
  });

  it('reports a real YAML error as one, even with template syntax in a string elsewhere', () => {
    const run = pullfix(['fix', '-'], dir, lines('kind: ConfigMap', 'apiVersion: v1', 'data:', '  t: "{{ .Labels.x }}"', '  bad: [1, 2'));
    expect(run.status).to.equal(2);
    expect(run.stderr).to.match(/^<stdin>:6:1: invalid YAML: /);
  });

  it('edits hand-formatted JSON in place: untouched lines byte for byte', () => {
    const input = [
      '{',
      '  "apiVersion": "v1",  "kind": "Pod",',
      '  "metadata": { "name": "caf\\u00e9" },',
      '  "spec": {',
      '    "imagePullPolicy": "Always",',
      '    "terminationGracePeriodSeconds": 30.0,',
      '    "containers": [',
      '      {',
      '        "name": "a",',
      '        "image": "a:1",',
      '        "args": ["--ratio",   "1.50"]',
      '      }',
      '    ]',
      '  }',
      '}',
      '',
    ].join('\n');
    const run = pullfix(['fix', '-'], dir, input);
    expect(run.stderr).to.equal('');
    expect(run.stdout).to.equal(input.replace('    "imagePullPolicy": "Always",\n', '').replace('"image": "a:1",\n', '"image": "a:1",\n        "imagePullPolicy": "Always",\n'));
  });
});
