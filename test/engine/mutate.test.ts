import { expect } from 'chai';
import fjp from 'fast-json-patch';
import { decide } from '../../src/engine/mutate.js';
import { loadReview } from '../helpers/fixtures.js';
import { runEngine } from '../helpers/engine.js';
import { podReview, workloadReview, type ContainerSpec } from '../helpers/objects.js';

const { applyPatch } = fjp;

function policyOf(result: ReturnType<typeof runEngine>, path: string[]): unknown {
  let node: any = result.mutated;
  for (const key of path) node = node?.[key];
  return node;
}

describe('engine: precedence (SPEC §4)', () => {
  describe('decide(), every row of both tables', () => {
    const rows: Array<[string, 'default' | 'enforce', boolean, string | undefined, string | undefined, string | undefined]> = [
      // name, mode, explicit, stray, class policy, expected target
      ['default #2 explicit kept over stray and class', 'default', true, 'Always', 'Never', undefined],
      ['default #3 stray over class', 'default', false, 'Always', 'Never', 'Always'],
      ['default #4 class when no stray', 'default', false, undefined, 'Never', 'Never'],
      ['default #5 nothing to apply', 'default', false, undefined, undefined, undefined],
      ['enforce #2 class over explicit and stray', 'enforce', true, 'Always', 'Never', 'Never'],
      ['enforce #3 explicit kept over stray', 'enforce', true, 'Always', undefined, undefined],
      ['enforce #4 stray when not explicit', 'enforce', false, 'IfNotPresent', undefined, 'IfNotPresent'],
      ['enforce #5 nothing to apply', 'enforce', false, undefined, undefined, undefined],
    ];
    for (const [name, mode, explicit, stray, cls, expected] of rows) {
      it(name, () => {
        expect(decide(mode, explicit, stray as any, cls as any).target).to.equal(expected);
      });
    }
  });

  describe('through whole Pod reviews', () => {
    // One container whose defaulted value is IfNotPresent (tag 1.2.3 → tagged class).
    const image = 'registry.example.com/team/app:1.2.3';
    type Row = {
      name: string;
      mode: 'default' | 'enforce';
      exempt?: boolean;
      explicit?: string; // written in last-applied
      stray?: string; // written at pod level in last-applied
      tagged?: string; // namespace label pullfix.dev/tagged
      expected: string;
    };
    const rows: Row[] = [
      { name: 'default #1 exempt image untouched', mode: 'default', exempt: true, stray: 'Always', tagged: 'Never', expected: 'IfNotPresent' },
      { name: 'default #2 explicit value kept', mode: 'default', explicit: 'IfNotPresent', stray: 'Always', tagged: 'Never', expected: 'IfNotPresent' },
      { name: 'default #3 stray value moved', mode: 'default', stray: 'Always', tagged: 'Never', expected: 'Always' },
      { name: 'default #4 class policy', mode: 'default', tagged: 'Never', expected: 'Never' },
      { name: 'default #5 untouched', mode: 'default', expected: 'IfNotPresent' },
      { name: 'enforce #1 exempt image untouched', mode: 'enforce', exempt: true, tagged: 'Always', expected: 'IfNotPresent' },
      { name: 'enforce #2 class policy overrides explicit', mode: 'enforce', explicit: 'IfNotPresent', stray: 'Never', tagged: 'Always', expected: 'Always' },
      { name: 'enforce #3 explicit kept', mode: 'enforce', explicit: 'IfNotPresent', stray: 'Always', expected: 'IfNotPresent' },
      { name: 'enforce #4 stray value moved', mode: 'enforce', stray: 'Never', expected: 'Never' },
      { name: 'enforce #5 untouched', mode: 'enforce', expected: 'IfNotPresent' },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const lastApplied: Record<string, unknown> = { containers: { app: row.explicit } };
        if (row.stray !== undefined) lastApplied.stray = row.stray;
        const review = podReview([{ name: 'app', image, imagePullPolicy: 'IfNotPresent' }], { lastApplied });
        const labels: Record<string, string> = { 'pullfix.dev/mode': row.mode };
        if (row.tagged) labels['pullfix.dev/tagged'] = row.tagged;
        const result = runEngine(review, { labels, config: row.exempt ? { exemptImages: ['registry.example.com/team/*'] } : {} });
        expect(policyOf(result, ['spec', 'containers', '0', 'imagePullPolicy'])).to.equal(row.expected);
        const changed = row.expected !== 'IfNotPresent';
        expect(result.patch.length > 0).to.equal(changed);
      });
    }
  });
});

describe('engine: the classic misplaced example (kubectl apply --validate=false)', () => {
  it('moves the stray Always from last-applied into the container, warns and annotates', () => {
    const review = loadReview('pod-misplaced-kubectl-apply.json');
    const result = runEngine(review);
    expect(result.changes).to.deep.equal([
      { list: 'containers', index: 0, name: 'myapp', from: 'IfNotPresent', to: 'Always', reason: 'stray', imageClass: 'tagged' },
    ]);
    // The API server dropped the field while decoding: nothing to remove from the object.
    expect(result.strayRemoved).to.equal(false);
    expect(result.patch).to.deep.equal([
      { op: 'replace', path: '/spec/containers/0/imagePullPolicy', value: 'Always' },
      { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'containers[myapp]: IfNotPresent->Always (pod-level value)' },
    ]);
    expect(result.warnings).to.deep.equal([
      'pullfix: container "myapp": imagePullPolicy IfNotPresent -> Always (moved from pod level)',
    ]);
    // imagePullSecrets and everything else untouched.
    const patched = applyPatch(structuredClone(review.request.object), result.patch).newDocument as any;
    expect(patched.spec.imagePullSecrets).to.deep.equal([{ name: 'myregistry.com-registry-key' }]);
  });

  it('Pod UPDATE only warns: a Pod imagePullPolicy is immutable', () => {
    const review = loadReview('pod-misplaced-kubectl-apply.json');
    review.request.operation = 'UPDATE';
    review.request.oldObject = structuredClone(review.request.object);
    const result = runEngine(review);
    expect(result.patch).to.deep.equal([]);
    expect(result.warnings).to.have.length(1);
    expect(result.warnings[0]).to.match(/^pullfix: not applied on UPDATE .*container "myapp"/);
  });
});

describe('engine: explicitness (SPEC §4)', () => {
  const dev: ContainerSpec = { name: 'app', image: 'registry.example.com/team/app:dev', imagePullPolicy: 'IfNotPresent' };
  const labels = { 'pullfix.dev/mutable': 'Always' };

  it('last-applied with imagePullPolicy: explicit, kept', () => {
    const result = runEngine(podReview([dev], { lastApplied: { containers: { app: 'IfNotPresent' } } }), { labels });
    expect(result.changes).to.deep.equal([]);
  });

  it('last-applied without imagePullPolicy: not explicit even though it differs from default', () => {
    const review = podReview([{ ...dev, image: 'registry.example.com/team/app:1.0', imagePullPolicy: 'Never' }], {
      lastApplied: { containers: { app: undefined } },
    });
    const result = runEngine(review, { labels: { 'pullfix.dev/tagged': 'IfNotPresent' } });
    expect(result.changes.map((c) => [c.from, c.to])).to.deep.equal([['Never', 'IfNotPresent']]);
  });

  it('managedFields Apply owning imagePullPolicy: explicit; owning the container only: not explicit', () => {
    const review = loadReview('deployment-server-side-apply.json');
    const result = runEngine(review, { labels });
    // api: Never, owned by the Apply manager → kept. worker: :main → mutable, not owned → Always.
    expect(result.changes.map((c) => `${c.name}:${c.from}->${c.to}`)).to.deep.equal(['worker:IfNotPresent->Always']);
  });

  it('managedFields Update entries say nothing', () => {
    const review = podReview([{ ...dev, imagePullPolicy: 'Never' }]);
    review.request.object.metadata.managedFields = [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } },
      },
    ];
    // Never differs from the default IfNotPresent for :dev → explicit by rule 3.
    expect(runEngine(review, { labels }).changes).to.deep.equal([]);
  });

  it('no source: a value equal to the default is not explicit, a different one is', () => {
    const same = runEngine(podReview([dev]), { labels });
    expect(same.changes.map((c) => c.to)).to.deep.equal(['Always']);
    const other = runEngine(podReview([{ ...dev, imagePullPolicy: 'Never' }]), { labels });
    expect(other.changes).to.deep.equal([]);
  });

  it(':latest defaulted to Always is not explicit; IfNotPresent on :latest is', () => {
    const latest = { name: 'app', image: 'nginx:latest', imagePullPolicy: 'Always' };
    const mutableIfNotPresent = { 'pullfix.dev/mutable': 'IfNotPresent' };
    expect(runEngine(podReview([latest]), { labels: mutableIfNotPresent }).changes.map((c) => c.to)).to.deep.equal(['IfNotPresent']);
    const kept = runEngine(podReview([{ ...latest, imagePullPolicy: 'IfNotPresent' }]), { labels });
    expect(kept.changes).to.deep.equal([]);
  });
});

describe('engine: stray values', () => {
  const tagged: ContainerSpec = { name: 'app', image: 'example.com/app:1.0', imagePullPolicy: 'IfNotPresent' };
  const cases: Array<[string, unknown, string | undefined, RegExp | undefined]> = [
    ['exact value', 'Always', 'Always', undefined],
    ['lower case, normalised with a warning', 'always', 'Always', /"always" read as Always/],
    ['upper case, normalised with a warning', 'NEVER', 'Never', /"NEVER" read as Never/],
    ['unknown word, ignored with a warning', 'sometimes', undefined, /"sometimes" is not Always, IfNotPresent or Never; ignored/],
    ['not a string, ignored with a warning', 42, undefined, /42 is not Always/],
  ];
  for (const [name, stray, expected, warning] of cases) {
    it(name, () => {
      const result = runEngine(podReview([tagged], { lastApplied: { stray } }));
      expect(result.changes.map((c) => c.to)).to.deep.equal(expected ? [expected] : []);
      if (warning) expect(result.warnings.some((w) => warning.test(w))).to.equal(true, result.warnings.join('\n'));
      else expect(result.warnings.every((w) => !/read as|ignored/.test(w))).to.equal(true);
    });
  }

  it('goes to containers and init containers, not to containers with their own value', () => {
    const review = podReview(
      [tagged, { name: 'pinned', image: 'example.com/pinned:2.0', imagePullPolicy: 'Never' }],
      { init: [{ name: 'init', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent' }], lastApplied: { stray: 'Always', containers: { pinned: 'Never' } } },
    );
    const result = runEngine(review);
    expect(result.changes.map((c) => `${c.list}/${c.name}`)).to.deep.equal(['containers/app', 'initContainers/init']);
  });

  it('in a schemaless custom resource: normalised, copied into containers without a policy and removed', () => {
    const review = loadReview('cloneset-stray.json');
    const result = runEngine(review, {
      config: { podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }] },
    });
    expect(result.strayRemoved).to.equal(true);
    // init has IfNotPresent written (nothing is defaulted in a schemaless template) and busybox:1.36's
    // default is IfNotPresent too, so rule 3 cannot call it explicit: the stray value applies.
    expect(result.changes.map((c) => `${c.name}:${c.from ?? 'unset'}->${c.to}`)).to.deep.equal(['nginx:unset->Always', 'init:IfNotPresent->Always']);
    const patched = applyPatch(structuredClone(review.request.object), result.patch).newDocument as any;
    expect(patched.spec.template.spec).to.not.have.property('imagePullPolicy');
    expect(patched.metadata.annotations['pullfix.dev/changes']).to.equal(result.summary);
    expect(result.warnings).to.include('pullfix: pod-level imagePullPolicy "always" read as Always');
    expect(result.warnings).to.include('pullfix: removed pod-level imagePullPolicy Always: Kubernetes ignores it there');
  });

  it('an unconfigured custom kind is left alone', () => {
    expect(runEngine(loadReview('cloneset-stray.json')).skipped).to.equal('kind not handled');
  });
});

describe('engine: namespace labels and annotation', () => {
  const dev: ContainerSpec = { name: 'app', image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' };

  it('invalid label values are ignored with a warning; valid ones still apply', () => {
    const result = runEngine(podReview([dev]), {
      labels: { 'pullfix.dev/mode': 'Enforce', 'pullfix.dev/mutable': 'Always', 'pullfix.dev/tagged': 'always' },
    });
    expect(result.changes.map((c) => c.to)).to.deep.equal(['Always']);
    expect(result.warnings.slice(0, 2)).to.deep.equal([
      'pullfix: namespace team-a label pullfix.dev/mode="Enforce" is not one of off, default, enforce; ignored',
      'pullfix: namespace team-a label pullfix.dev/tagged="always" is not one of Always, IfNotPresent, Never; ignored',
    ]);
  });

  it('mode off touches nothing, even a stray field', () => {
    const result = runEngine(podReview([dev], { lastApplied: { stray: 'Always' } }), { labels: { 'pullfix.dev/mode': 'off' } });
    expect(result.patch).to.deep.equal([]);
    expect(result.skipped).to.equal('mode off');
  });

  it('the mutable-tags annotation replaces the pattern (anchored)', () => {
    const review = podReview([{ name: 'app', image: 'example.com/app:pr-42', imagePullPolicy: 'IfNotPresent' }]);
    const labels = { 'pullfix.dev/mutable': 'Always' };
    expect(runEngine(review, { labels }).changes).to.deep.equal([]);
    expect(runEngine(review, { labels, annotations: { 'pullfix.dev/mutable-tags': 'pr-[0-9]+' } }).changes.map((c) => c.imageClass)).to.deep.equal(['mutable']);
    expect(runEngine(review, { labels, annotations: { 'pullfix.dev/mutable-tags': 'pr-' } }).changes).to.deep.equal([]);
  });

  it('an invalid mutable-tags annotation is ignored with a warning', () => {
    const result = runEngine(podReview([dev]), { labels: { 'pullfix.dev/mutable': 'Always' }, annotations: { 'pullfix.dev/mutable-tags': '(' } });
    expect(result.changes.map((c) => c.to)).to.deep.equal(['Always']);
    expect(result.warnings[0]).to.match(/^pullfix: namespace team-a annotation pullfix.dev\/mutable-tags is not an RE2 \(linear-time\) regular expression/);
  });

  it('config defaults apply where a namespace has no label', () => {
    const result = runEngine(podReview([dev]), { config: { policies: { mutable: 'Never' } } });
    expect(result.changes.map((c) => c.to)).to.deep.equal(['Never']);
  });
});

describe('engine: images', () => {
  it('exempt globs leave matching containers alone', () => {
    const review = podReview([
      { name: 'local', image: 'localhost:5000/tools/dev:dev', imagePullPolicy: 'IfNotPresent' },
      { name: 'remote', image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' },
    ]);
    const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' }, config: { exemptImages: ['localhost:5000/*'] } });
    expect(result.changes.map((c) => c.name)).to.deep.equal(['remote']);
  });

  it('a reference that does not parse is left alone with a warning', () => {
    const review = podReview([{ name: 'bad', image: 'Example.com/UPPER:tag', imagePullPolicy: 'IfNotPresent' }], { lastApplied: { stray: 'Always' } });
    const result = runEngine(review);
    expect(result.changes).to.deep.equal([]);
    expect(result.warnings.some((w) => w.startsWith('pullfix: container "bad": image "Example.com/UPPER:tag" does not parse'))).to.equal(true);
  });

  it('digests are their own class, with or without a tag', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    const review = podReview([
      { name: 'pinned', image: `nginx@${digest}`, imagePullPolicy: 'IfNotPresent' },
      { name: 'both', image: `nginx:latest@${digest}`, imagePullPolicy: 'Always' },
    ]);
    const result = runEngine(review, { labels: { 'pullfix.dev/digest': 'Never' } });
    expect(result.changes.map((c) => `${c.name}:${c.imageClass}:${c.to}`)).to.deep.equal(['pinned:digest:Never', 'both:digest:Never']);
  });

  it('every warning is prefixed and at most 120 characters', () => {
    const long = 'x'.repeat(200);
    const review = podReview([{ name: long, image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' }], { lastApplied: { stray: 'Never' } });
    const result = runEngine(review);
    expect(result.warnings).to.have.length(1);
    for (const w of result.warnings) {
      expect(w.startsWith('pullfix: ')).to.equal(true);
      expect(w.length).to.be.at.most(120);
    }
  });
});

describe('engine: kinds and operations (SPEC §5)', () => {
  const c: ContainerSpec[] = [{ name: 'app', image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' }];
  const labels = { 'pullfix.dev/mutable': 'Always' };
  const table: Array<[string, 'CREATE' | 'UPDATE', boolean]> = [
    ['Pod', 'CREATE', true],
    ['Pod', 'UPDATE', false],
    ['PodTemplate', 'CREATE', true],
    ['PodTemplate', 'UPDATE', true],
    ['Deployment', 'CREATE', true],
    ['Deployment', 'UPDATE', true],
    ['ReplicaSet', 'CREATE', true],
    ['ReplicaSet', 'UPDATE', true],
    ['StatefulSet', 'CREATE', true],
    ['StatefulSet', 'UPDATE', true],
    ['DaemonSet', 'CREATE', true],
    ['DaemonSet', 'UPDATE', true],
    ['ReplicationController', 'CREATE', true],
    ['ReplicationController', 'UPDATE', true],
    ['Job', 'CREATE', true],
    ['Job', 'UPDATE', false],
    ['CronJob', 'CREATE', true],
    ['CronJob', 'UPDATE', true],
  ];
  for (const [kind, operation, patched] of table) {
    it(`${kind} ${operation}: ${patched ? 'patched' : 'not patched'}`, () => {
      const result = runEngine(workloadReview(kind, c, { operation }), { labels });
      expect(result.patch.length > 0).to.equal(patched);
      if (patched) {
        const doc = applyPatch(structuredClone(workloadReview(kind, c, { operation }).request.object), result.patch).newDocument;
        expect(JSON.stringify(doc)).to.contain('"imagePullPolicy":"Always"');
      }
    });
  }

  for (const operation of ['DELETE', 'CONNECT'] as const) {
    it(`${operation} is allowed with no patch`, () => {
      expect(runEngine(workloadReview('Deployment', c, { operation }), { labels }).patch).to.deep.equal([]);
    });
  }

  it('any other kind is allowed with no patch', () => {
    expect(runEngine(loadReview('configmap.json'), { labels }).patch).to.deep.equal([]);
  });

  it('a workload owned by a controller is not patched; a Pod owned by a ReplicaSet is', () => {
    const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true }];
    expect(runEngine(workloadReview('ReplicaSet', c, { ownerReferences: owner }), { labels }).skipped).to.equal('owned by a controller');
    const nonController = [{ ...owner[0], controller: false }];
    expect(runEngine(workloadReview('ReplicaSet', c, { ownerReferences: nonController }), { labels }).patch).to.not.deep.equal([]);
    expect(runEngine(loadReview('pod-one-container.json'), { labels }).changes.map((x) => x.to)).to.deep.equal(['Always']);
  });

  it('workloads: false leaves workload kinds alone but still patches Pods', () => {
    const config = { workloads: false };
    expect(runEngine(workloadReview('Deployment', c), { labels, config }).patch).to.deep.equal([]);
    expect(runEngine(podReview(c), { labels, config }).patch).to.not.deep.equal([]);
  });

  it('objects labelled pullfix.dev/ignore=true are left alone', () => {
    const result = runEngine(podReview(c, { labels: { 'pullfix.dev/ignore': 'true' }, lastApplied: { stray: 'Never' } }), { labels });
    expect(result.patch).to.deep.equal([]);
    expect(result.skipped).to.equal('labelled pullfix.dev/ignore=true');
  });

  it('the ephemeralcontainers subresource: only the containers the request adds, class policy only', () => {
    const review = loadReview('pod-ephemeral-debug.json');
    review.request.object.spec.ephemeralContainers[0].image = 'busybox:dev';
    review.request.object.spec.ephemeralContainers[0].imagePullPolicy = 'IfNotPresent';
    const result = runEngine(review, { labels });
    expect(result.patch).to.deep.equal([
      { op: 'replace', path: '/spec/ephemeralContainers/0/imagePullPolicy', value: 'Always' },
      { op: 'add', path: '/metadata/annotations/pullfix.dev~1changes', value: 'ephemeralContainers[debugger-7xk2p]: IfNotPresent->Always (policy mutable)' },
    ]);
    // The stray Always in last-applied does not reach ephemeral containers, nor the existing container.
    const again = loadReview('pod-ephemeral-debug.json');
    again.request.oldObject!.spec.ephemeralContainers = structuredClone(again.request.object.spec.ephemeralContainers);
    expect(runEngine(again, { labels }).patch).to.deep.equal([]);
  });

  it('other subresources are left alone', () => {
    const review = workloadReview('Deployment', c);
    review.request.subResource = 'scale';
    expect(runEngine(review, { labels }).skipped).to.equal('kind not handled');
  });
});

describe('engine: manifest source (pullfix fix)', () => {
  it('a written value is explicit, an absent one is not', () => {
    const review = podReview([
      { name: 'written', image: 'example.com/a:dev', imagePullPolicy: 'IfNotPresent' },
      { name: 'absent', image: 'example.com/b:dev' },
    ]);
    const result = runEngine(review, { source: 'manifest', config: { policies: { mutable: 'Always' } } });
    expect(result.changes.map((c) => `${c.name}:${c.from ?? 'unset'}->${c.to}`)).to.deep.equal(['absent:unset->Always']);
    expect(result.patch.some((op) => op.path.startsWith('/metadata/annotations'))).to.equal(false);
  });

  it('removes a stray field present in the object', () => {
    const review = podReview([{ name: 'a', image: 'example.com/a:1' }]);
    review.request.object.spec.imagePullPolicy = 'Always';
    const result = runEngine(review, { source: 'manifest' });
    expect(result.patch).to.deep.equal([
      { op: 'remove', path: '/spec/imagePullPolicy' },
      { op: 'add', path: '/spec/containers/0/imagePullPolicy', value: 'Always' },
    ]);
  });
});

describe('engine: reinvocation', () => {
  const fixtures = ['pod-misplaced-kubectl-apply.json', 'deployment-kubectl-apply-stray.json', 'deployment-server-side-apply.json', 'pod-50-containers.json'];
  for (const name of fixtures) {
    it(`a second call on ${name}'s own output gives no patch`, () => {
      const review = loadReview(name);
      const labels = { 'pullfix.dev/mutable': 'Always', 'pullfix.dev/tagged': 'IfNotPresent' };
      const first = runEngine(review, { labels });
      expect(first.patch).to.not.deep.equal([]);
      review.request.object = first.mutated as any;
      expect(runEngine(review, { labels }).patch).to.deep.equal([]);
    });
  }
});

describe('engine: found by fuzzing', () => {
  it('a usable in-object stray with an unusable last-applied one is left in place, with the warning', () => {
    const review = loadReview('cloneset-stray.json');
    review.request.object.metadata.annotations = {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { template: { spec: { imagePullPolicy: 'sometimes' } } } }),
    };
    const result = runEngine(review, { config: { podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }] } });
    expect(result.patch).to.deep.equal([]);
    expect(result.warnings).to.deep.equal(['pullfix: pod-level imagePullPolicy "sometimes" is not Always, IfNotPresent or Never; ignored']);
  });

  it('annotations: null is treated as absent, so the note is written and reinvocation is stable', () => {
    const review = podReview([{ name: 'app', image: 'example.com/app:dev', imagePullPolicy: 'IfNotPresent' }]);
    review.request.object.metadata.annotations = null;
    review.request.object.spec.imagePullPolicy = 'Never';
    const labels = { 'pullfix.dev/mutable': 'Always' };
    const first = runEngine(review, { labels });
    expect((first.mutated as any).metadata.annotations['pullfix.dev/changes']).to.equal(first.summary);
    review.request.object = first.mutated as any;
    expect(runEngine(review, { labels }).patch).to.deep.equal([]);
  });

  it('a namespace pattern that backtracking engines take exponential time on is matched in linear time', () => {
    // `(a+)+b` against 40 a's: hours for a backtracking engine, nothing for RE2.
    const review = podReview([{ name: 'app', image: `example.com/app:${'a'.repeat(40)}`, imagePullPolicy: 'IfNotPresent' }]);
    const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' }, annotations: { 'pullfix.dev/mutable-tags': '(a+)+b' } });
    expect(result.changes).to.deep.equal([]);
    expect(result.warnings).to.deep.equal([]);
    const matching = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' }, annotations: { 'pullfix.dev/mutable-tags': '((a)+)+' } });
    expect(matching.changes.map((c) => [c.imageClass, c.to])).to.deep.equal([['mutable', 'Always']]);
  });

  it('a namespace pattern the linear-time engine refuses (a back-reference) is ignored with a warning', () => {
    const review = podReview([{ name: 'app', image: 'example.com/app:aa', imagePullPolicy: 'IfNotPresent' }]);
    const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' }, annotations: { 'pullfix.dev/mutable-tags': '(a)\\1' } });
    expect(result.changes).to.deep.equal([]);
    expect(result.warnings[0]).to.match(/^pullfix: namespace team-a annotation pullfix.dev\/mutable-tags is not an RE2 \(linear-time\) regular expression/);
  });
});
