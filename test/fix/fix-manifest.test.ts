// Invariants of fixing manifest text (SPEC §7, STYLE §6): the result reads as the engine's
// object, fixing again changes nothing, and in block style only pull-policy lines differ.
import { expect } from 'chai';
import fc from 'fast-check';
import { checkProperty } from '../helpers/seeds.js';
import { parse } from 'yaml';
import { compileConfig, DEFAULT_CONFIG } from '../../src/engine/config.js';
import { createEngine } from '../../src/engine/mutate.js';
import { resolveNamespacePolicy } from '../../src/engine/namespace-policy.js';
import type { PullPolicy } from '../../src/engine/types.js';
import { fixInput } from '../../src/fix/fix-manifest.js';
import { joinStreams } from '../../src/fix/output.js';

const POLICIES: PullPolicy[] = ['Always', 'IfNotPresent', 'Never'];
const policyArb = fc.option(fc.constantFrom(...POLICIES), { nil: undefined });

const containerArb = fc.record({
  image: fc.constantFrom('nginx', 'nginx:1.27', 'example.com/app:dev', `nginx@sha256:${'a'.repeat(64)}`, 'Uppercase:tag', 'localhost:5000/tool:dev'),
  policy: policyArb,
  quote: fc.constantFrom('plain', 'double', 'single'),
  imageFirst: fc.boolean(),
  comment: fc.boolean(),
  ports: fc.boolean(),
});
type ContainerSpec = typeof containerArb extends fc.Arbitrary<infer T> ? T : never;

const manifestArb = fc.record({
  kind: fc.constantFrom('Pod', 'Deployment'),
  indent: fc.constantFrom(2, 4),
  flushSequences: fc.boolean(),
  flowContainers: fc.boolean(),
  stray: fc.option(fc.constantFrom('Always', 'IfNotPresent', 'Never', 'always', 'Sometimes'), { nil: undefined }),
  strayFirst: fc.boolean(),
  strayComment: fc.boolean(),
  containers: fc.array(containerArb, { minLength: 1, maxLength: 3 }),
  inits: fc.array(containerArb, { maxLength: 1 }),
  crlf: fc.boolean(),
  mode: fc.constantFrom('default', 'enforce') as fc.Arbitrary<'default' | 'enforce'>,
  mutable: policyArb,
  tagged: policyArb,
});
type ManifestSpec = typeof manifestArb extends fc.Arbitrary<infer T> ? T : never;

function quoted(value: string, style: string): string {
  return style === 'double' ? `"${value}"` : style === 'single' ? `'${value}'` : value;
}

/** Writes the manifest the way people do: comments, either sequence style, any quoting. */
function render(m: ManifestSpec): string {
  const unit = ' '.repeat(m.indent);
  const at = (level: number): string => unit.repeat(level);
  const lines =
    m.kind === 'Pod'
      ? ['apiVersion: v1', 'kind: Pod', 'metadata:', `${at(1)}name: x  # the name`, 'spec:']
      : ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `${at(1)}name: x`, 'spec:', `${at(1)}template:`, '', `${at(2)}spec:`];
  const level = m.kind === 'Pod' ? 1 : 3;
  const stray = m.stray === undefined ? [] : [
    ...(m.strayComment ? [`${at(level)}# belongs to the containers`] : []),
    `${at(level)}imagePullPolicy: ${m.stray}${m.strayComment ? '   # misplaced' : ''}`,
  ];
  const list = (key: string, containers: ContainerSpec[]): void => {
    if (containers.length === 0) return;
    if (m.flowContainers) {
      const items = containers.map((c, i) => `{name: ${key[0]}${i}, image: "${c.image}"${c.policy ? `, imagePullPolicy: ${c.policy}` : ''}}`);
      lines.push(`${at(level)}${key}: [${items.join(', ')}]`);
      return;
    }
    lines.push(`${at(level)}${key}:`);
    const item = m.flushSequences ? at(level) : at(level + 1);
    containers.forEach((c, i) => {
      const name = `name: ${key[0]}${i}`;
      const image = `image: ${c.image}${c.comment ? '   # pinned' : ''}`;
      const fields = [
        ...(c.imageFirst ? [image, name] : [name, image]),
        ...(c.policy ? [`imagePullPolicy: ${quoted(c.policy, c.quote)}`] : []),
        ...(c.ports ? ['ports:', '- containerPort: 80'] : []),
      ];
      fields.forEach((f, j) => lines.push(`${j === 0 ? `${item}- ` : `${item}  `}${f}`));
    });
  };
  if (m.strayFirst) lines.push(...stray);
  list('containers', m.containers);
  list('initContainers', m.inits);
  if (!m.strayFirst) lines.push(...stray);
  return lines.join(m.crlf ? '\r\n' : '\n') + (m.crlf ? '\r\n' : '\n');
}

function fix(text: string, m: ManifestSpec): string {
  const config = compileConfig({
    ...DEFAULT_CONFIG,
    mode: m.mode,
    exemptImages: ['localhost:5000/*'],
    policies: { ...(m.mutable ? { mutable: m.mutable } : {}), ...(m.tagged ? { tagged: m.tagged } : {}) },
  });
  const engine = createEngine(config);
  const outcome = fixInput({ name: 'm.yaml', text }, { engine, policy: resolveNamespacePolicy(config, undefined) });
  if (!outcome.ok) throw new Error(`generated manifest does not parse: ${JSON.stringify(outcome.diagnostics)}\n${text}`);
  return outcome.fixed.text;
}

describe('fixManifest', () => {
  it('produces text that reads as the engine\'s object, and fixing it again changes nothing', () => {
    checkProperty(
      fc.property(manifestArb, (m) => {
        const input = render(m);
        const once = fix(input, m);
        const config = compileConfig({ ...DEFAULT_CONFIG, mode: m.mode, exemptImages: ['localhost:5000/*'], policies: { ...(m.mutable ? { mutable: m.mutable } : {}), ...(m.tagged ? { tagged: m.tagged } : {}) } });
        const expected = createEngine(config).mutate({
          group: m.kind === 'Pod' ? '' : 'apps',
          kind: m.kind,
          operation: 'CREATE',
          object: parse(input),
          policy: resolveNamespacePolicy(config, undefined),
          source: 'manifest',
        }).mutated;
        expect(parse(once)).to.deep.equal(expected);
        expect(fix(once, m)).to.equal(once);
      }),
      { numRuns: 300 },
    );
  });

  it('in block style changes only lines that carry imagePullPolicy', () => {
    const withoutPolicyLines = (text: string): string[] => text.split(/\r?\n/).filter((l) => !l.includes('imagePullPolicy'));
    checkProperty(
      fc.property(manifestArb, (m) => {
        const block = { ...m, flowContainers: false };
        const input = render(block);
        const output = fix(input, block);
        expect(withoutPolicyLines(output)).to.deep.equal(withoutPolicyLines(input));
        expect(output.includes('\r\n')).to.equal(block.crlf);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fixInput on JSON', () => {
  it('edits JSON of any indentation in place: it reads as the engine\'s object, only policy text changes, and fixing again changes nothing', () => {
    checkProperty(
      fc.property(manifestArb, fc.constantFrom(0, 2, 4, '\t'), (m, indent) => {
        const object = parse(render({ ...m, flowContainers: false })) as unknown;
        let input = JSON.stringify(object, null, indent);
        if (m.crlf) input = input.replace(/\n/g, '\r\n');
        const once = fix(input, m);
        const config = compileConfig({ ...DEFAULT_CONFIG, mode: m.mode, exemptImages: ['localhost:5000/*'], policies: { ...(m.mutable ? { mutable: m.mutable } : {}), ...(m.tagged ? { tagged: m.tagged } : {}) } });
        const expected = createEngine(config).mutate({
          group: m.kind === 'Pod' ? '' : 'apps',
          kind: m.kind,
          operation: 'CREATE',
          object,
          policy: resolveNamespacePolicy(config, undefined),
          source: 'manifest',
        }).mutated;
        expect(JSON.parse(once)).to.deep.equal(expected);
        expect(fix(once, m)).to.equal(once);
        const strip = (t: string): string => t.replace(/"imagePullPolicy":\s*"[A-Za-z]+",\s*/g, '').replace(/,\s*"imagePullPolicy":\s*"[A-Za-z]+"/g, '');
        expect(strip(once)).to.equal(strip(input));
      }),
      { numRuns: 200 },
    );
  });
});

describe('fixManifest with anchors', () => {
  it('changes an anchored pull policy and the alias that shares it, both in place', () => {
    const m = { mode: 'enforce', tagged: 'Always' } as unknown as ManifestSpec;
    const text = [
      '# leading comment',
      'kind: ConfigMap',
      'apiVersion: v1',
      'data:   {a: b}',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'spec:',
      '  containers:',
      '  - name: a',
      '    image: x:1',
      '    imagePullPolicy: &p IfNotPresent',
      '  - name: b',
      '    image: y:1',
      '    imagePullPolicy: *p',
      '',
    ].join('\n');
    expect(fix(text, m)).to.equal(text.replace('&p IfNotPresent', '&p Always').replace('*p', 'Always'));
  });
});

describe('joinStreams', () => {
  it('separates inputs with --- unless they start with one', () => {
    expect(joinStreams(['a: 1\n', 'b: 2'])).to.equal('a: 1\n---\nb: 2');
    expect(joinStreams(['a: 1', '---\nb: 2\n'])).to.equal('a: 1\n---\nb: 2\n');
    expect(joinStreams(['a: 1\n', '', 'b: 2\n'])).to.equal('a: 1\n---\nb: 2\n');
  });

  it('prints a single input exactly, whitespace included', () => {
    expect(joinStreams(['\n\n'])).to.equal('\n\n');
  });
});
