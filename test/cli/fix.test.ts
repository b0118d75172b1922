// `pullfix fix` end to end: the built CLI on real files in a temporary directory (SPEC §7).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/cli/fix.test.js: three levels up is the repository root.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pullfix(args: string[], options: { cwd: string; input?: string }): Run {
  const result = spawnSync(process.execPath, [CLI, 'fix', ...args], { cwd: options.cwd, input: options.input ?? '', encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Lines joined with newlines, ending with one: expected texts read like the files they stand for. */
function text(...lines: string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

const EXAMPLE = 'examples/manifests/misplaced-pull-policy.yaml';

const EXAMPLE_FIXED = text(
  '# myapp: the web front end, with a log-shipping sidecar.',
  '# Builds are tagged with the short git commit and pushed to our private registry.',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: myapp',
  '  labels:',
  '    app: myapp',
  'spec:',
  '  replicas: 3',
  '  selector:',
  '    matchLabels:',
  '      app: myapp',
  '  template:',
  '    metadata:',
  '      labels:',
  '        app: myapp',
  '    spec:',
  '      imagePullSecrets:',
  '        - name: myregistry',
  '      containers:',
  '        - name: myapp',
  '          image: myregistry.com/myapp:5c3dda6b',
  '          imagePullPolicy: Always',
  '          ports:',
  '            - containerPort: 8080',
  '          # Served by the app itself.',
  '          readinessProbe:',
  '            httpGet:',
  '              path: /healthz',
  '              port: 8080',
  '        - name: log-shipper',
  '          image: "fluent/fluent-bit:3.1"',
  '          imagePullPolicy: "IfNotPresent"   # a pinned release, cached on every node',
);

const CONFIGMAP = text(
  '# Settings, formatted by hand: nothing here may move.',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: {name: settings}',
  'data:',
  '  greeting:   "hello"     # aligned on purpose',
  "  motd: 'it''s fine'",
  '  script: |',
  '    echo one',
  '',
  '',
  '    echo two',
);

const POD_STRAY = text(
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: worker',
  'spec:',
  '  # The policy below was meant for the container.',
  '  imagePullPolicy: IfNotPresent',
  '  containers:',
  '  - name: worker',
  '    image: example.com/worker:2.4.1',
);

const POD_FIXED = text(
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: worker',
  'spec:',
  '  # The policy below was meant for the container.',
  '  containers:',
  '  - name: worker',
  '    image: example.com/worker:2.4.1',
  '    imagePullPolicy: IfNotPresent',
);

const SERVICE = text(
  'apiVersion: v1',
  'kind: Service',
  'metadata:',
  '    name: worker',
  'spec:',
  '    ports: [ {port: 80} ]',
);

describe('pullfix fix', function () {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-fix-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, content: string): string {
    writeFileSync(path.join(dir, name), content);
    return name;
  }

  function read(name: string): string {
    return readFileSync(path.join(dir, name), 'utf8');
  }

  describe('printing fixed manifests', () => {
    it('moves the example\'s stray field into the container, keeping comments and quoting', () => {
      const run = pullfix([EXAMPLE], { cwd: ROOT });
      expect(run.stderr).to.equal('');
      expect(run.stdout).to.equal(EXAMPLE_FIXED);
      expect(run.status).to.equal(0);
    });

    it('leaves the clean example exactly as it is', () => {
      const run = pullfix(['examples/manifests/clean.yaml'], { cwd: ROOT });
      expect(run.stdout).to.equal(readFileSync(path.join(ROOT, 'examples/manifests/clean.yaml'), 'utf8'));
      expect(run.status).to.equal(0);
    });

    it('keeps untouched documents of a stream byte for byte', () => {
      const file = write('stream.yaml', `${CONFIGMAP}---\n${POD_STRAY}---\n${SERVICE}`);
      const run = pullfix([file], { cwd: dir });
      expect(run.stdout).to.equal(`${CONFIGMAP}---\n${POD_FIXED}---\n${SERVICE}`);
      expect(run.status).to.equal(0);
    });

    it('fixes the items of a List and nothing else', () => {
      const file = write(
        'list.yaml',
        text(
          'apiVersion: v1',
          'kind: List',
          'items:',
          '- apiVersion: apps/v1',
          '  kind: Deployment',
          '  metadata: {name: api}',
          '  spec:',
          '    template:',
          '      spec:',
          '        imagePullPolicy: Never',
          '        containers:',
          '        - name: api',
          '          image: api:dev',
          '- apiVersion: v1',
          '  kind: ConfigMap',
          '  metadata: {name: c}',
          '  data: {imagePullPolicy: Never}',
        ),
      );
      const run = pullfix([file], { cwd: dir });
      expect(run.stdout).to.equal(
        text(
          'apiVersion: v1',
          'kind: List',
          'items:',
          '- apiVersion: apps/v1',
          '  kind: Deployment',
          '  metadata: {name: api}',
          '  spec:',
          '    template:',
          '      spec:',
          '        containers:',
          '        - name: api',
          '          image: api:dev',
          '          imagePullPolicy: Never',
          '- apiVersion: v1',
          '  kind: ConfigMap',
          '  metadata: {name: c}',
          '  data: {imagePullPolicy: Never}',
        ),
      );
    });

    it('reads standard input with - and when no file is given', () => {
      for (const args of [['-'], []]) {
        const run = pullfix(args, { cwd: dir, input: POD_STRAY });
        expect(run.stdout, args.join(' ')).to.equal(POD_FIXED);
        expect(run.status).to.equal(0);
      }
    });

    it('prints several files as one stream', () => {
      const a = write('a.yaml', POD_STRAY);
      const b = write('b.yaml', SERVICE);
      const run = pullfix([a, b], { cwd: dir });
      expect(run.stdout).to.equal(`${POD_FIXED}---\n${SERVICE}`);
    });

    it('writes JSON back as JSON with the same indentation and final newline', () => {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { imagePullPolicy: 'Always', containers: [{ name: 'c', image: 'nginx:1.27' }] },
      };
      const fixed = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', imagePullPolicy: 'Always' }] } };
      const cases: Array<[string, string, string]> = [
        ['two.json', `${JSON.stringify(pod, null, 2)}\n`, `${JSON.stringify(fixed, null, 2)}\n`],
        ['tab.json', JSON.stringify(pod, null, '\t'), JSON.stringify(fixed, null, '\t')],
        ['compact.json', `${JSON.stringify(pod)}\n`, `${JSON.stringify(fixed)}\n`],
      ];
      for (const [name, input, output] of cases) {
        const run = pullfix([write(name, input)], { cwd: dir });
        expect(run.stdout, name).to.equal(output);
      }
    });

    it('keeps the quoting of a replaced value', () => {
      const file = write(
        'quoted.yaml',
        text(
          'apiVersion: v1',
          'kind: Pod',
          'spec:',
          '  containers:',
          '  - name: a',
          '    image: nginx:1.27',
          '    imagePullPolicy: "Never"',
          '  - name: b',
          '    image: redis:7',
          "    imagePullPolicy: 'IfNotPresent'",
          '  - name: c',
          '    image: busybox:1.36',
          '    imagePullPolicy: Never  # plain',
        ),
      );
      const run = pullfix(['--mode', 'enforce', '--policy', 'tagged=Always', file], { cwd: dir });
      expect(run.stdout).to.equal(
        text(
          'apiVersion: v1',
          'kind: Pod',
          'spec:',
          '  containers:',
          '  - name: a',
          '    image: nginx:1.27',
          '    imagePullPolicy: "Always"',
          '  - name: b',
          '    image: redis:7',
          "    imagePullPolicy: 'Always'",
          '  - name: c',
          '    image: busybox:1.36',
          '    imagePullPolicy: Always  # plain',
        ),
      );
    });

    it('edits flow-style containers in place of the collection only', () => {
      const file = write(
        'flow.yaml',
        text('kind: Pod   # one line each', 'apiVersion: v1', 'spec:', '  imagePullPolicy: Always', '  containers: [{name: a, image: nginx}]  # flow'),
      );
      const run = pullfix([file], { cwd: dir });
      expect(run.stdout).to.equal(
        text('kind: Pod   # one line each', 'apiVersion: v1', 'spec:', '  containers: [{name: a, image: nginx, imagePullPolicy: Always}]  # flow'),
      );
    });

    it('keeps Windows line endings', () => {
      const file = write('crlf.yaml', POD_STRAY.replace(/\n/g, '\r\n'));
      const run = pullfix([file], { cwd: dir });
      expect(run.stdout).to.equal(POD_FIXED.replace(/\n/g, '\r\n'));
    });
  });

  describe('policies', () => {
    const MIXED = text(
      'apiVersion: apps/v1',
      'kind: Deployment',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: latest',
      '        image: nginx',
      '      - name: pinned',
      '        image: nginx:1.27',
      '      - name: chosen',
      '        image: nginx:latest',
      '        imagePullPolicy: IfNotPresent',
    );

    it('--policy fills absent policies of that class and keeps written ones', () => {
      const run = pullfix(['--policy', 'mutable=Always', write('d.yaml', MIXED)], { cwd: dir });
      expect(run.stdout).to.equal(MIXED.replace('        image: nginx\n', '        image: nginx\n        imagePullPolicy: Always\n'));
    });

    it('--mode enforce overrides written policies too', () => {
      const run = pullfix(['--mode', 'enforce', '--policy', 'mutable=Always', write('d.yaml', MIXED)], { cwd: dir });
      expect(run.stdout).to.equal(
        MIXED.replace('        image: nginx\n', '        image: nginx\n        imagePullPolicy: Always\n').replace(
          'imagePullPolicy: IfNotPresent',
          'imagePullPolicy: Always',
        ),
      );
    });

    it('--mode off touches nothing, not even a stray field', () => {
      const run = pullfix(['--mode', 'off', write('p.yaml', POD_STRAY)], { cwd: dir });
      expect(run.stdout).to.equal(POD_STRAY);
    });

    it('reads policies, exempt images and pod templates from --config', () => {
      const config = write(
        'pullfix.yaml',
        text(
          'mode: default',
          'policies: {tagged: IfNotPresent}',
          "exemptImages: ['localhost:5000/*']",
          'podTemplates:',
          '  - {group: apps.kruise.io, kind: CloneSet, path: /spec/template/spec}',
        ),
      );
      const manifest = write(
        'workloads.yaml',
        text(
          'apiVersion: batch/v1',
          'kind: CronJob',
          'metadata: {name: nightly}',
          'spec:',
          '  schedule: "0 3 * * *"',
          '  jobTemplate:',
          '    spec:',
          '      template:',
          '        spec:',
          '          restartPolicy: OnFailure',
          '          containers:',
          '          - name: report',
          '            image: example.com/report:3.2',
          '          - name: local',
          '            image: localhost:5000/tool:1.0',
          '---',
          'apiVersion: apps.kruise.io/v1alpha1',
          'kind: CloneSet',
          'metadata: {name: web}',
          'spec:',
          '  template:',
          '    spec:',
          '      imagePullPolicy: Always',
          '      containers:',
          '      - name: web',
          '        image: example.com/web:main',
        ),
      );
      const run = pullfix(['--config', config, manifest], { cwd: dir });
      expect(run.stderr).to.equal('');
      expect(run.stdout).to.equal(
        read(manifest)
          .replace('            image: example.com/report:3.2\n', '            image: example.com/report:3.2\n            imagePullPolicy: IfNotPresent\n')
          .replace('      imagePullPolicy: Always\n', '')
          .replace('        image: example.com/web:main\n', '        image: example.com/web:main\n        imagePullPolicy: Always\n'),
      );
    });

    it('a CloneSet is left alone without its podTemplates entry', () => {
      const file = write('cs.yaml', POD_STRAY.replace('apiVersion: v1\nkind: Pod', 'apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet'));
      expect(pullfix([file], { cwd: dir }).stdout).to.equal(read(file));
    });
  });

  describe('--write', () => {
    it('rewrites changed files and leaves untouched ones alone, mtime included', () => {
      const changed = write('changed.yaml', `${CONFIGMAP}---\n${POD_STRAY}`);
      const untouched = write('untouched.yaml', SERVICE);
      const past = new Date('2020-01-01T00:00:00Z');
      utimesSync(path.join(dir, untouched), past, past);
      const run = pullfix(['--write', changed, untouched], { cwd: dir });
      expect(run.status).to.equal(0);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('fixed changed.yaml: 1 container policy set, 1 pod-level imagePullPolicy removed\n');
      expect(read(changed)).to.equal(`${CONFIGMAP}---\n${POD_FIXED}`);
      expect(read(untouched)).to.equal(SERVICE);
      expect(statSync(path.join(dir, untouched)).mtimeMs).to.equal(past.getTime());
    });

    it('refuses standard input and --check together with it', () => {
      const withStdin = pullfix(['--write', '-'], { cwd: dir, input: POD_STRAY });
      expect(withStdin.status).to.equal(2);
      expect(withStdin.stderr).to.match(/^pullfix: --write .*standard input/);
      const file = write('p.yaml', POD_STRAY);
      const both = pullfix(['--write', '--check', file], { cwd: dir });
      expect(both.status).to.equal(2);
      expect(both.stderr).to.match(/--write and --check/);
      expect(read(file)).to.equal(POD_STRAY);
    });
  });

  describe('--check', () => {
    it('prints one FILE:LINE: message per finding and exits 1', () => {
      const run = pullfix(['--check', EXAMPLE], { cwd: ROOT });
      expect(run.stdout).to.equal(
        text(
          `${EXAMPLE}:19: removed pod-level imagePullPolicy Always: Kubernetes ignores it there`,
          `${EXAMPLE}:23: container "myapp": imagePullPolicy set to Always (moved from pod level)`,
        ),
      );
      expect(run.status).to.equal(1);
    });

    it('points at a written imagePullPolicy and names <stdin>', () => {
      const input = text('apiVersion: v1', 'kind: Pod', 'spec:', '  containers:', '  - name: a', '    image: nginx', '    imagePullPolicy: Never');
      const run = pullfix(['--check', '--mode', 'enforce', '--policy', 'mutable=Always', '-'], { cwd: dir, input });
      expect(run.stdout).to.equal('<stdin>:7: container "a": imagePullPolicy Never -> Always (--policy mutable=Always)\n');
      expect(run.status).to.equal(1);
    });

    it('reports what it cannot fix as findings too', () => {
      const file = write(
        'odd.yaml',
        text('apiVersion: v1', 'kind: Pod', 'spec:', '  imagePullPolicy: Sometimes', '  containers:', '  - name: a', '    image: "Uppercase:tag"'),
      );
      const run = pullfix(['--check', file], { cwd: dir });
      expect(run.stdout).to.equal(
        text(
          'odd.yaml:4: pod-level imagePullPolicy "Sometimes" is not Always, IfNotPresent or Never; ignored',
          'odd.yaml:6: container "a": image "Uppercase:tag" does not parse (repository name must be lowercase); left alone',
        ),
      );
      expect(run.status).to.equal(1);
      // Printing the manifest leaves it as it is and says why on stderr.
      const fix = pullfix([file], { cwd: dir });
      expect(fix.stdout).to.equal(read(file));
      expect(fix.stderr).to.equal(run.stdout);
    });

    it('exits 0 with no output on a clean manifest, and changes nothing', () => {
      const file = write('clean.yaml', POD_FIXED);
      const run = pullfix(['--check', file], { cwd: dir });
      expect(run.stdout).to.equal('');
      expect(run.status).to.equal(0);
    });

    it('is idempotent: fixing its own output changes nothing and --check passes', () => {
      const once = pullfix(['--policy', 'mutable=Always'], { cwd: dir, input: `${CONFIGMAP}---\n${POD_STRAY}---\n${SERVICE}` });
      const twice = pullfix(['--policy', 'mutable=Always'], { cwd: dir, input: once.stdout });
      expect(twice.stdout).to.equal(once.stdout);
      const check = pullfix(['--check', '--policy', 'mutable=Always'], { cwd: dir, input: once.stdout });
      expect(check.stdout).to.equal('');
      expect(check.status).to.equal(0);
    });
  });

  describe('errors', () => {
    it('invalid YAML: FILE:LINE:COL, exit 2, nothing written, not even the valid file before it', () => {
      const good = write('good.yaml', POD_STRAY);
      const bad = write('bad.yaml', text('apiVersion: v1', 'kind: Pod', 'spec: [', 'x: 1'));
      const run = pullfix(['--write', good, bad], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.match(/^bad\.yaml:4:1: invalid YAML: /);
      expect(run.stderr).to.match(/\npullfix: nothing written\n$/);
      expect(read(good)).to.equal(POD_STRAY);
      expect(read(bad)).to.equal(text('apiVersion: v1', 'kind: Pod', 'spec: [', 'x: 1'));
    });

    it('invalid YAML in print mode prints no manifest', () => {
      const bad = write('dup.yaml', text('kind: Pod', 'kind: Pod'));
      const run = pullfix([bad], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal('dup.yaml:2:1: invalid YAML: Map keys must be unique\n');
    });

    it('an explicit key (? imagePullPolicy) is named as such, with how to write it instead', () => {
      write('ek.yaml', text('apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  ? imagePullPolicy', '  : Always', '  containers:', '  - name: a', '    image: a:1'));
      const run = pullfix(['ek.yaml'], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal(
        'ek.yaml:5:5: cannot fix faithfully: cannot remove imagePullPolicy: "? imagePullPolicy" is written as an explicit key ' +
          '(YAML\'s "? key" then ": value" form), which pullfix does not edit; write it as "imagePullPolicy: Always" on one line and run pullfix again\n',
      );
      write('ek2.yaml', text('apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  imagePullPolicy: Always', '  containers:', '  - name: a', '    ? image', '    : a:1'));
      const insert = pullfix(['ek2.yaml'], { cwd: dir });
      expect(insert.status).to.equal(2);
      expect(insert.stderr).to.include('ek2.yaml:8:7: cannot fix faithfully: cannot add imagePullPolicy: "? image" is written as an explicit key');
      expect(insert.stderr).to.include('write it as "image: a:1" on one line');
    });

    it('a missing file is named, exit 2', () => {
      const run = pullfix(['missing.yaml'], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal('pullfix: missing.yaml: cannot read: no such file\n');
    });

    it('a bad --policy is named, exit 2', () => {
      for (const bad of ['mutable=always', 'latest=Always', 'mutable']) {
        const run = pullfix(['--policy', bad, write('p.yaml', POD_STRAY)], { cwd: dir });
        expect(run.status, bad).to.equal(2);
        expect(run.stderr, bad).to.contain(`--policy ${JSON.stringify(bad)}`);
      }
    });

    it('a bad --mode is named, exit 2', () => {
      const run = pullfix(['--mode', 'Enforce', write('p.yaml', POD_STRAY)], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal('pullfix: --mode "Enforce": must be one of off, default, enforce\n');
    });

    it('a config file with a bad field names the file and the field, exit 2', () => {
      const config = write('bad-config.yaml', text('policies:', '  mutable: always'));
      const run = pullfix(['--config', config, write('p.yaml', POD_STRAY)], { cwd: dir });
      expect(run.status).to.equal(2);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.contain('bad-config.yaml').and.to.contain('policies.mutable');
    });
  });
});
