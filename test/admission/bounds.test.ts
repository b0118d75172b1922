// What goes back to the API server stays bounded however big the request: warnings (the API
// server keeps 4,096 characters of warnings per response, KEP-1693, truncating past that), the
// `changes` audit annotation and the note inside the patch.
import { expect } from 'chai';
import { createAdmissionHandler } from '../../src/admission/handler.js';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { workloadReview } from '../helpers/objects.js';

const engine = createEngine(compileConfig({ ...DEFAULT_CONFIG }));
const namespace = { name: 'team-a', labels: { 'pullfix.dev/mutable': 'Always' }, annotations: {} };
const handler = createAdmissionHandler({ engine: () => engine, namespace: () => namespace });

function manyContainers(n: number): ReturnType<typeof workloadReview> {
  return workloadReview('Deployment', Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'app:dev', imagePullPolicy: 'IfNotPresent' })));
}

describe('admission: responses are bounded whatever the request size', () => {
  it('a 25,000-container review: at most 21 warnings (20 and "… and N more"), audit annotation and note within 4 KiB', () => {
    const outcome = handler.handle(manyContainers(25_000));
    const response = outcome.review.response;
    const warnings = response.warnings ?? [];
    const audit = response.auditAnnotations?.changes ?? '';
    const ops = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as Array<{ path: string; value?: unknown }>;
    const note = ops.find((op) => op.path.endsWith('pullfix.dev~1changes') || op.path === '/metadata/annotations');
    const noteText = String(typeof note?.value === 'string' ? note.value : (note?.value as Record<string, unknown>)?.['pullfix.dev/changes']);
    console.log(`      ${warnings.length} warnings (${warnings.join('').length} characters), audit annotation ${Buffer.byteLength(audit)} bytes, note ${Buffer.byteLength(noteText)} bytes`);
    expect(warnings.length).to.be.at.most(21);
    expect(warnings.at(-1)).to.equal('pullfix: … and 24980 more');
    expect(warnings.join('').length, 'characters of warnings').to.be.at.most(4096);
    expect(Buffer.byteLength(audit), 'audit annotation bytes').to.be.at.most(4096);
    expect(audit).to.match(/; … and \d+ more$/);
    expect(Buffer.byteLength(noteText), 'note bytes').to.be.at.most(4096);
  });

  it('20 warnings or fewer go back as they are', () => {
    const outcome = handler.handle(manyContainers(20));
    expect(outcome.review.response.warnings).to.have.length(20);
    expect(outcome.review.response.warnings?.every((w) => !w.includes('… and'))).to.equal(true);
  });
});
