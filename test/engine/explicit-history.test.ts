// SPEC §4 rules 1–7 and row 5, one table row per rule and case, in both modes, on reviews a
// real kube-apiserver sent (test/fixtures/apiserver). Each row states the value the stored
// object must end with, and every patched result is run again (reinvocation) to no patch.
import { expect } from 'chai';
import { loadRecorded, type Review } from '../helpers/fixtures.js';
import { runEngine } from '../helpers/engine.js';

const NOTE = 'pullfix.dev/changes';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The Deployment's only container. */
function app(review: Review, which: 'object' | 'oldObject' = 'object'): Record<string, any> {
  return (review.request[which] as Record<string, any>).spec.template.spec.containers[0];
}

/** A recorded CREATE made into the UPDATE that follows it: the old object is the stored one. */
function updateOf(file: string): Review {
  const review = loadRecorded(file);
  const stored = structuredClone(review.request.object);
  Object.assign(stored.metadata, { uid: 'a6d6fb33-6a0f-4d2c-9d42-1d5e3f1f0a01', resourceVersion: '4242', generation: 1 });
  review.request.operation = 'UPDATE';
  review.request.oldObject = stored;
  review.request.object = structuredClone(stored);
  return review;
}

function setNote(object: Record<string, any>, note: string): void {
  object.metadata.annotations = { ...object.metadata.annotations, [NOTE]: note };
}

function editLastApplied(review: Review, edit: (manifest: any) => void): void {
  const annotations = review.request.object.metadata.annotations;
  const manifest = JSON.parse(annotations[LAST_APPLIED]);
  edit(manifest);
  annotations[LAST_APPLIED] = `${JSON.stringify(manifest)}\n`;
}

interface Row {
  name: string;
  review: () => Review;
  labels?: Record<string, string>;
  /** The container's value after pullfix, mode default and mode enforce. */
  expected: { default: string; enforce: string };
  /** The reason recorded for a change in mode default, when there is one. */
  reason?: 'stray' | 'policy' | 'default';
}

const rows: Row[] = [
  // Rule 1: kubectl apply recorded the value in the manifest.
  {
    name: 'rule 1: a value written in last-applied is explicit (kept over tagged=Always)',
    review: () => {
      const r = loadRecorded('deployment-create-apply.json');
      editLastApplied(r, (m) => (m.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent'));
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Always' },
    expected: { default: 'IfNotPresent', enforce: 'Always' },
  },
  {
    name: 'rule 1 absent: last-applied leaves the field out, so the defaulted value yields to tagged=Always',
    review: () => loadRecorded('deployment-create-apply.json'),
    labels: { 'pullfix.dev/tagged': 'Always' },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'policy',
  },
  // Rule 2: a server-side apply configuration owns the field.
  {
    name: 'rule 2: an Apply entry owning imagePullPolicy makes it explicit, even when it equals the default',
    review: () => {
      const r = loadRecorded('deployment-create-server-side-apply-explicit.json');
      app(r).imagePullPolicy = 'IfNotPresent';
      return r;
    },
    labels: { 'pullfix.dev/mutable': 'Always' },
    expected: { default: 'IfNotPresent', enforce: 'Always' },
  },
  {
    name: 'rule 2 absent: the Apply entry does not own imagePullPolicy, so the default yields to mutable=Always',
    review: () => {
      const r = loadRecorded('deployment-create-server-side-apply-explicit.json');
      app(r).imagePullPolicy = 'IfNotPresent';
      const owned = r.request.object.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'];
      delete owned['f:imagePullPolicy'];
      return r;
    },
    labels: { 'pullfix.dev/mutable': 'Always' },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'policy',
  },
  // Rule 3: kubectl patch chose the value in this request.
  {
    name: 'rule 3: kubectl patch to Never is kept in mode default (mutable=Always)',
    review: () => loadRecorded('deployment-update-patch-policy.json'),
    labels: { 'pullfix.dev/mutable': 'Always' },
    expected: { default: 'Never', enforce: 'Always' },
  },
  {
    name: 'rule 3: kubectl patch to Never is kept where no class policy is set (row 5 does not apply)',
    review: () => loadRecorded('deployment-update-patch-policy.json'),
    expected: { default: 'Never', enforce: 'Never' },
  },
  // Rule 4: pullfix's own earlier choice, recorded in the old object's note.
  {
    name: 'rule 4: a value pullfix set is not explicit: a label changed after creation takes effect (created object)',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      for (const o of [r.request.object, r.request.oldObject!]) {
        o.spec.template.spec.containers[0].imagePullPolicy = 'Always';
        setNote(o, 'containers[app]: IfNotPresent->Always (policy tagged)');
      }
      r.request.object.metadata.labels = { ...r.request.object.metadata.labels, release: 'b' };
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Never' },
    expected: { default: 'Never', enforce: 'Never' },
    reason: 'policy',
  },
  {
    name: 'rule 4: the label removed, pullfix puts back the API server default (row 5)',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      for (const o of [r.request.object, r.request.oldObject!]) {
        o.spec.template.spec.containers[0].imagePullPolicy = 'Always';
        setNote(o, 'containers[app]: IfNotPresent->Always (policy tagged)');
      }
      return r;
    },
    expected: { default: 'IfNotPresent', enforce: 'IfNotPresent' },
    reason: 'default',
  },
  {
    name: 'rule 4 absent: without the note, Always on a tagged image reads as chosen (rule 7) and is kept',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      for (const o of [r.request.object, r.request.oldObject!]) o.spec.template.spec.containers[0].imagePullPolicy = 'Always';
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Never' },
    expected: { default: 'Always', enforce: 'Never' },
  },
  {
    name: 'rule 4: a note recording another value says nothing about this one',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      for (const o of [r.request.object, r.request.oldObject!]) {
        o.spec.template.spec.containers[0].imagePullPolicy = 'Always';
        setNote(o, 'containers[app]: Always->Never (policy tagged)');
      }
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Never' },
    expected: { default: 'Always', enforce: 'Never' },
  },
  // Rule 5: client-side apply manages the object and its manifest leaves the field out.
  {
    name: 'rule 5: kubectl set image to :latest on an applied Deployment: the stray Always in its manifest applies',
    review: () => loadRecorded('deployment-update-set-image.json'),
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'stray',
  },
  {
    name: 'rule 5: kubectl set image to :latest on an applied Deployment with no stray field gets Always (row 5)',
    review: () => {
      const r = loadRecorded('deployment-update-set-image.json');
      editLastApplied(r, (m) => delete m.spec.template.spec.imagePullPolicy);
      return r;
    },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'default',
  },
  {
    name: 'rule 5: a value neither written nor recorded, on an applied object, yields to the API server default',
    review: () => {
      const r = loadRecorded('deployment-update-apply-new-image.json');
      app(r).imagePullPolicy = 'Always';
      app(r, 'oldObject').imagePullPolicy = 'Always';
      return r;
    },
    expected: { default: 'IfNotPresent', enforce: 'IfNotPresent' },
    reason: 'default',
  },
  // Rule 6: carried over under a new image.
  {
    name: 'rule 6: kubectl set image to :latest on a created Deployment: the old default is not kept',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      app(r).image = 'app:latest';
      return r;
    },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'default',
  },
  {
    name: 'rule 6: a value that differed from the old image default is carried as chosen',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      app(r, 'oldObject').imagePullPolicy = 'Never';
      app(r).imagePullPolicy = 'Never';
      app(r).image = 'app:latest';
      return r;
    },
    labels: { 'pullfix.dev/mutable': 'Always' },
    expected: { default: 'Never', enforce: 'Always' },
  },
  {
    name: 'rule 6: a new tag under mutable=IfNotPresent gets the class policy, not the old default',
    review: () => {
      const r = updateOf('deployment-create-kubectl-create.json');
      app(r).image = 'app:2.0';
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Always' },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'policy',
  },
  // Rule 7: what defaulting would not have given.
  {
    name: 'rule 7: the defaulted value on kubectl create yields to tagged=Always',
    review: () => loadRecorded('deployment-create-kubectl-create.json'),
    labels: { 'pullfix.dev/tagged': 'Always' },
    expected: { default: 'Always', enforce: 'Always' },
    reason: 'policy',
  },
  {
    name: 'rule 7: a value defaulting would not give is explicit',
    review: () => {
      const r = loadRecorded('deployment-create-kubectl-create.json');
      app(r).imagePullPolicy = 'Never';
      return r;
    },
    labels: { 'pullfix.dev/tagged': 'Always' },
    expected: { default: 'Never', enforce: 'Always' },
  },
  // Row 5 on CREATE changes nothing: the value already is the default.
  {
    name: 'row 5 on CREATE: nothing to correct',
    review: () => loadRecorded('deployment-create-kubectl-create.json'),
    expected: { default: 'IfNotPresent', enforce: 'IfNotPresent' },
  },
];

describe('engine: explicitness from history (SPEC §4), recorded reviews', () => {
  for (const row of rows) {
    for (const mode of ['default', 'enforce'] as const) {
      it(`${row.name} [${mode}]`, () => {
        const review = row.review();
        const labels = { ...row.labels, 'pullfix.dev/mode': mode };
        const before = app(review).imagePullPolicy;
        const result = runEngine(review, { labels });
        const after = (result.mutated as any).spec.template.spec.containers[0].imagePullPolicy;
        expect(after).to.equal(row.expected[mode]);
        if (after === before) {
          expect(result.patch).to.deep.equal([]);
          return;
        }
        expect(result.changes).to.have.length(1);
        if (mode === 'default' && row.reason) expect(result.changes[0]!.reason).to.equal(row.reason);
        const note = (result.mutated as any).metadata.annotations[NOTE];
        expect(note).to.include(`containers[${app(review).name}]: ${before}->${after}`);
        // Reinvocation: the same request on pullfix's own output changes nothing more.
        review.request.object = result.mutated as Record<string, any>;
        expect(runEngine(review, { labels }).patch).to.deep.equal([]);
      });
    }
  }
});

describe('engine: the note carries what pullfix set into later updates', () => {
  it('an entry still in force is carried into the next note; one the user changed is dropped', () => {
    const review = updateOf('deployment-create-kubectl-create.json');
    const old = review.request.oldObject!;
    const spec = old.spec.template.spec;
    spec.initContainers = [{ name: 'init', image: 'app:1.0', imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }];
    spec.containers.push({ ...spec.containers[0], name: 'side', imagePullPolicy: 'Always' });
    setNote(old, 'initContainers[init]: IfNotPresent->Always (policy tagged); containers[side]: IfNotPresent->Always (policy tagged)');
    review.request.object = structuredClone(old);
    // The user patches side to Never in this request; tagged now Never for the rest.
    review.request.object.spec.template.spec.containers[1].imagePullPolicy = 'Never';
    const result = runEngine(review, { labels: { 'pullfix.dev/tagged': 'Never' } });
    expect(result.changes.map((c) => `${c.list}[${c.name}] ${c.to}`)).to.deep.equal(['containers[app] Never', 'initContainers[init] Never']);
    expect((result.mutated as any).metadata.annotations[NOTE]).to.equal(
      'containers[app]: IfNotPresent->Never (policy tagged); initContainers[init]: Always->Never (policy tagged)',
    );
    expect(result.summary).to.equal((result.mutated as any).metadata.annotations[NOTE]);
  });

  it('a change to one container keeps the record of another that still holds pullfix value', () => {
    const review = updateOf('deployment-create-kubectl-create.json');
    const old = review.request.oldObject!;
    old.spec.template.spec.containers.push({ ...old.spec.template.spec.containers[0], name: 'side', image: 'app:dev', imagePullPolicy: 'Always' });
    setNote(old, 'containers[side]: IfNotPresent->Always (policy mutable)');
    review.request.object = structuredClone(old);
    const result = runEngine(review, { labels: { 'pullfix.dev/tagged': 'Never', 'pullfix.dev/mutable': 'Always' } });
    expect(result.summary).to.equal('containers[app]: IfNotPresent->Never (policy tagged)');
    expect((result.mutated as any).metadata.annotations[NOTE]).to.equal(
      'containers[app]: IfNotPresent->Never (policy tagged); containers[side]: IfNotPresent->Always (policy mutable)',
    );
  });
});

describe('engine: image volumes (spec.volumes[].image)', () => {
  it('class policy reaches an image volume, with its warning and note', () => {
    const review = loadRecorded('pod-create-image-volume.json');
    const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' } });
    expect(result.changes.map((c) => [c.list, c.name, c.from, c.to])).to.deep.equal([['volumes', 'data', 'IfNotPresent', 'Always']]);
    expect(result.patch).to.deep.include({ op: 'replace', path: '/spec/volumes/0/image/pullPolicy', value: 'Always' });
    expect(result.warnings).to.deep.equal(['pullfix: image volume "data": pullPolicy IfNotPresent -> Always (namespace policy for mutable images)']);
    expect((result.mutated as any).metadata.annotations[NOTE]).to.equal('volumes[data]: IfNotPresent->Always (policy mutable)');
    review.request.object = result.mutated as Record<string, any>;
    expect(runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' } }).patch).to.deep.equal([]);
  });

  it('a stray pod-level value reaches containers and image volumes alike', () => {
    const review = loadRecorded('pod-create-image-volume.json');
    const object = review.request.object;
    const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: object.metadata.name }, spec: { imagePullPolicy: 'Never', containers: [{ name: 'app', image: 'app:1.0' }], volumes: [{ name: 'data', image: { reference: 'registry.example.com/data:dev' } }] } };
    object.metadata.annotations = { [LAST_APPLIED]: `${JSON.stringify(manifest)}\n` };
    const result = runEngine(review);
    expect(result.changes.map((c) => [c.list, c.name, c.to, c.reason])).to.deep.equal([
      ['containers', 'app', 'Never', 'stray'],
      ['volumes', 'data', 'Never', 'stray'],
    ]);
  });

  it('an image volume written in last-applied is explicit', () => {
    const review = loadRecorded('pod-create-image-volume.json');
    const object = review.request.object;
    const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: object.metadata.name }, spec: { containers: [{ name: 'app', image: 'app:1.0' }], volumes: [{ name: 'data', image: { reference: 'registry.example.com/data:dev', pullPolicy: 'IfNotPresent' } }] } };
    object.metadata.annotations = { [LAST_APPLIED]: `${JSON.stringify(manifest)}\n` };
    expect(runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always' } }).changes).to.deep.equal([]);
  });

  it('other volumes are passed over', () => {
    const review = loadRecorded('pod-create-image-volume.json');
    const volumes = review.request.object.spec.volumes as unknown[];
    expect(volumes.length).to.be.greaterThan(1);
    const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always', 'pullfix.dev/tagged': 'Never' } });
    expect(result.changes.map((c) => `${c.list}[${c.name}]`)).to.deep.equal(['containers[app]', 'volumes[data]']);
  });
});

describe('engine: reinvocation on UPDATE reaches the answer of one call', () => {
  it('a schemaless CloneSet that re-sends a stray IfNotPresent under tagged=Always keeps IfNotPresent', () => {
    const review = loadRecorded('cloneset-create-stray-field.json');
    review.request.object.spec.template.spec.imagePullPolicy = 'IfNotPresent';
    const labels = { 'pullfix.dev/tagged': 'Always' };
    const config = { podTemplates: [{ group: 'apps.kruise.io', kind: 'CloneSet', path: '/spec/template/spec' }] };
    const create = runEngine(review, { labels, config });
    expect(create.changes.map((c) => c.to)).to.deep.equal(['IfNotPresent']);
    // Two UPDATEs, each the stored object (pullfix's output) with the stray field sent again
    // (kubectl replace of the same manifest): by the second, the note pullfix writes is the one
    // the old object already carries.
    let stored = create.mutated as Record<string, any>;
    for (let round = 1; round <= 2; round++) {
      const update = structuredClone(review);
      update.request.operation = 'UPDATE';
      update.request.oldObject = stored;
      update.request.object = structuredClone(stored);
      update.request.object.spec.template.spec.imagePullPolicy = 'IfNotPresent';
      const first = runEngine(update, { labels, config });
      expect(first.strayRemoved, `round ${round}`).to.equal(true);
      const out = first.mutated as Record<string, any>;
      expect(out.spec.template.spec.containers[0].imagePullPolicy, `round ${round}`).to.equal('IfNotPresent');
      update.request.object = out;
      expect(runEngine(update, { labels, config }).patch, `round ${round}: reinvocation`).to.deep.equal([]);
      stored = out;
    }
  });
});
