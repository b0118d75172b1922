// The note grows with the request unless bounded: a 25,000-container review made a 1.7 MB
// `pullfix.dev/changes` note, and Kubernetes refuses an object whose annotations pass 256 KiB
// together (TotalAnnotationSizeLimitB), so pullfix's own note could get the object it patched
// rejected. The note and the audit annotation (the request's summary) stay within 4 KiB.
import { expect } from 'chai';
import { CHANGES_ANNOTATION } from '../../src/engine/namespace-policy.js';
import { runEngine } from '../helpers/engine.js';
import { workloadReview, type ContainerSpec } from '../helpers/objects.js';

/** 4 KiB: a small share of the 256 KiB all annotations of an object may take together. */
const NOTE_BUDGET = 4096;
const MORE = /; … and (\d+) more(?:; removed pod-level imagePullPolicy \w+)?$/;

function containers(n: number, image = 'app:dev'): ContainerSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image, imagePullPolicy: 'IfNotPresent' }));
}

function noteOf(object: unknown): string {
  return String((object as any).metadata.annotations[CHANGES_ANNOTATION]);
}

describe('engine: the note and the summary are bounded', () => {
  const labels = { 'pullfix.dev/mutable': 'Always' };

  it('a 25,000-container Deployment: note and summary within 4 KiB, ending "… and N more"; the second call gives no patch', () => {
    const review = workloadReview('Deployment', containers(25_000));
    const first = runEngine(review, { labels });
    expect(first.changes).to.have.length(25_000);
    const note = noteOf(first.mutated);
    console.log(`      note ${Buffer.byteLength(note)} bytes, summary ${Buffer.byteLength(first.summary)} bytes for 25,000 changes`);
    expect(Buffer.byteLength(note), 'note bytes').to.be.at.most(NOTE_BUDGET);
    expect(Buffer.byteLength(first.summary), 'summary bytes').to.be.at.most(NOTE_BUDGET);
    const kept = note.split('; ').filter((part) => part.startsWith('containers[')).length;
    expect(Number(MORE.exec(note)?.[1]), 'N in "… and N more"').to.equal(25_000 - kept);
    expect(kept).to.be.greaterThan(50);
    review.request.object = first.mutated as any;
    expect(runEngine(review, { labels }).patch).to.deep.equal([]);
  });

  it('a cut note keeps the stray clause, which a reinvocation needs', () => {
    const review = workloadReview('CronJob', containers(2_000, 'nginx:1.0'));
    (review.request.object.spec.jobTemplate.spec.template.spec as any).imagePullPolicy = 'Always';
    const first = runEngine(review, { config: { podTemplates: [] } });
    // The field in the object itself (as a schemaless custom resource keeps it): pullfix removes
    // it, and the note, cut or not, is then all a reinvocation sees of it.
    expect(first.strayRemoved).to.equal(true);
    const note = noteOf(first.mutated);
    expect(Buffer.byteLength(note)).to.be.at.most(NOTE_BUDGET);
    expect(note).to.match(/; … and \d+ more; removed pod-level imagePullPolicy Always$/);
    review.request.object = first.mutated as any;
    expect(runEngine(review, { config: { podTemplates: [] } }).patch).to.deep.equal([]);
  });

  describe('what a cut note means for rule 4 on the next update', () => {
    it('entries it keeps follow a changed policy (rule 4); entries it left out read as the user\'s (rule 7) and are kept', () => {
      const review = workloadReview('Deployment', containers(400));
      const created = runEngine(review, { labels });
      const note = noteOf(created.mutated);
      const recorded = new Set(note.split('; ').map((part) => /^containers\[(c\d+)\]/.exec(part)?.[1]).filter(Boolean));
      expect(recorded.size).to.be.within(50, 399);
      // The namespace now wants IfNotPresent for mutable tags; the Deployment is updated (a label).
      review.request.operation = 'UPDATE';
      review.request.object = structuredClone(created.mutated) as any;
      review.request.oldObject = structuredClone(created.mutated) as any;
      const updated = runEngine(review, { labels: { 'pullfix.dev/mutable': 'IfNotPresent' } });
      const spec = (updated.mutated as any).spec.template.spec;
      for (const c of spec.containers) expect(c.imagePullPolicy, c.name).to.equal(recorded.has(c.name) ? 'IfNotPresent' : 'Always');
    });

    it('entries rule 4 is needed for (a value other than the image\'s default) are written first', () => {
      // kubectl apply (rule 5: nothing explicit): even containers app:dev get Always from the
      // mutable policy, not their default; odd ones nginx:1.0 carry Always and get IfNotPresent
      // from the tagged policy, their default, which rule 7 recognises without the note.
      const spec = Array.from({ length: 400 }, (_, i) =>
        i % 2 === 0 ? { name: `c${i}`, image: 'app:dev', imagePullPolicy: 'IfNotPresent' } : { name: `c${i}`, image: 'nginx:1.0', imagePullPolicy: 'Always' },
      );
      const review = workloadReview('Deployment', spec, { lastApplied: {} });
      const result = runEngine(review, { labels: { 'pullfix.dev/mutable': 'Always', 'pullfix.dev/tagged': 'IfNotPresent' } });
      expect(result.changes).to.have.length(400);
      const written = noteOf(result.mutated).split('; ').filter((part) => part.startsWith('containers['));
      expect(written.length).to.be.greaterThan(50);
      expect(written.every((part) => part.endsWith('IfNotPresent->Always (policy mutable)')), written.find((p) => !p.endsWith('(policy mutable)'))).to.equal(true);
      // The summary (audit annotation) is this request's record, cut in order.
      expect(result.summary.startsWith('containers[c0]: IfNotPresent->Always (policy mutable); containers[c1]: Always->IfNotPresent (policy tagged)')).to.equal(true);
    });
  });
});
