// audit's tables on a large cluster: column widths were once found with Math.max(...cells), one
// argument per row, which throws RangeError past about a hundred thousand findings.
import { expect } from 'chai';
import type { Finding } from '../../src/audit/evaluate.js';
import { formatTable } from '../../src/audit/report.js';
import { formatStaleTable } from '../../src/audit/stale-report.js';
import type { StaleAuditFinding } from '../../src/audit/stale.js';

const COUNT = 300_000;

describe('audit: tables of 300,000 findings', () => {
  it('aligns the findings table', () => {
    const findings: Finding[] = Array.from({ length: COUNT }, (_, i) => ({
      namespace: 'shop', kind: 'Deployment', apiVersion: 'apps/v1', name: `app-${i}`, container: 'app', patchable: true,
      rule: 'namespace-policy', fieldPath: 'spec.template.spec.containers{app}.imagePullPolicy', current: 'IfNotPresent', wanted: 'Always', reason: 'namespace policy for mutable images',
    }));
    const lines = formatTable(findings).split('\n');
    expect(lines).to.have.length(COUNT + 2);
    expect(lines[COUNT]).to.equal(`shop        Deployment   app-${COUNT - 1}   app         IfNotPresent   Always   namespace policy for mutable images`);
  });

  it('aligns the stale table', () => {
    const findings: StaleAuditFinding[] = Array.from({ length: COUNT }, (_, i) => ({
      type: 'unchecked', namespace: 'shop', kind: 'Deployment', name: 'web', pod: `web-${i}`, container: 'web', image: 'registry.example.com/web:dev', reason: 'registry unreachable',
    }));
    expect(formatStaleTable(findings).split('\n')).to.have.length(COUNT + 2);
  });
});
