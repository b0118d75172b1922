// Dockerfile and .dockerignore, checked statically: no Docker engine runs here (or in
// CI), so these assertions stand in for `docker build` on what matters in the image:
// multi-stage, production dependencies only, distroless, numeric non-root user, and
// an entrypoint and ports that agree with package.json and the Deployment.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  keyword: string; // upper case: FROM, RUN, COPY, ...
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions, with comments dropped and `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '' || full.startsWith('#')) continue;
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) out.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '' });
  }
  return out;
}

function stages(list: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      out.push({ from: m?.[1] ?? ins.args, name: m?.[2], instructions: [] });
    } else {
      out.at(-1)?.instructions.push(ins);
    }
  }
  return out;
}

function copyFrom(ins: Instruction): { from: string | undefined; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/).filter((w) => w !== '');
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

describe('Dockerfile', function () {
  const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const all = stages(instructions(text));
  const final = all.at(-1);
  const stageByName = (name: string | undefined): Stage | undefined => all.find((s) => s.name === name);
  const runs = (s: Stage | undefined): string[] => (s?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string>; type?: string };

  it('has a Node 24 LTS build stage that installs with the lockfile and compiles with tsc', function () {
    expect(all.length).to.be.at.least(2);
    const build = all.find((s) => runs(s).some((r) => /\btsc\b/.test(r)));
    expect(build, 'a stage runs tsc').to.not.equal(undefined);
    expect(build?.from).to.match(/^node:24\.\d+\.\d+-bookworm-slim$/);
    expect(runs(build).some((r) => /\bnpm ci\b/.test(r))).to.equal(true);
    expect(runs(build).some((r) => /\bnpm install\b/.test(r)), 'npm ci, not npm install').to.equal(false);
  });

  it('runs on distroless (glibc, libstdc++) with Node 24 copied in, as a numeric non-root user', function () {
    expect(final?.from).to.equal('gcr.io/distroless/cc-debian12:nonroot');
    const users = (final?.instructions ?? []).filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users).to.have.length(1);
    // Numeric, so the kubelet can enforce runAsNonRoot without resolving a name.
    expect(users[0]).to.match(/^\d+(:\d+)?$/);
    const [uid, gid] = (users[0] ?? '0').split(':').map(Number);
    expect(uid).to.equal(65532);
    expect(gid).to.equal(65532);
  });

  it('has no shell step in the final stage (distroless has no shell)', function () {
    expect(runs(final)).to.deep.equal([]);
  });

  it('ships production dependencies only', function () {
    const copies = (final?.instructions ?? []).filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map(copyFrom);
    // Nothing comes straight from the build context into the runtime image.
    for (const c of copies) expect(c.from, `COPY ${c.sources.join(' ')}`).to.not.equal(undefined);
    const modules = copies.filter((c) => c.sources.some((s) => /node_modules\/?$/.test(s)));
    expect(modules, 'node_modules is copied once').to.have.length(1);
    const source = stageByName(modules[0]?.from);
    expect(source, `stage ${String(modules[0]?.from)}`).to.not.equal(undefined);
    // That stage's last npm step leaves dev dependencies out.
    const npmSteps = runs(source).filter((r) => /\bnpm (ci|install|prune)\b/.test(r));
    expect(npmSteps.at(-1) ?? '').to.match(/--omit=dev|--production/);
    // No whole-directory copies that could carry the build stage's dev dependencies.
    for (const c of copies) {
      for (const s of c.sources) expect(['/', '/app', '/app/', '.', './'], `COPY --from=${String(c.from)} ${s}`).to.not.include(s);
    }
    // package.json comes along: its "type": "module" makes node load dist/ as ESM.
    expect(pkg.type).to.equal('module');
    expect(copies.some((c) => c.sources.some((s) => s.endsWith('package.json')))).to.equal(true);
  });

  it('starts the CLI of package.json bin with node, in exec form', function () {
    const entry = (final?.instructions ?? []).filter((i) => i.keyword === 'ENTRYPOINT');
    expect(entry).to.have.length(1);
    const argv = JSON.parse(entry[0]?.args ?? '[]') as string[];
    // The same entrypoint as the daemonless image (tools/build-image.sh).
    expect(argv).to.deep.equal(['/usr/local/bin/node', '/app/dist/src/cli/main.js']);
    expect(`/app/${pkg.bin?.['pullfix'] ?? ''}`).to.equal(argv[1]);
  });

  it('exposes the ports the Deployment uses', function () {
    const exposed = (final?.instructions ?? [])
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .map((p) => Number(p.split('/')[0]));
    expect(exposed).to.have.members([8443, 8080]);
    const deployment = parse(fs.readFileSync(path.join(root, 'manifests', 'base', 'deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { containers: { ports: { containerPort: number }[] }[] } } };
    };
    const ports = deployment.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.containerPort));
    expect(ports).to.have.members(exposed);
  });

  it('copies from the build context only files that exist and .dockerignore lets through', function () {
    const ignored = fs
      .readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.git', '.run']) expect(ignored, '.dockerignore').to.include(entry);
    const fromContext = all
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY')
      .map(copyFrom)
      .filter((c) => c.from === undefined);
    expect(fromContext.length).to.be.greaterThan(0);
    for (const c of fromContext) {
      for (const s of c.sources) {
        const top = s.replace(/^\.\//, '').split('/')[0] ?? '';
        expect(fs.existsSync(path.join(root, s)), `${s} exists`).to.equal(true);
        expect(ignored, `${s} is not in .dockerignore`).to.not.include(top);
      }
    }
  });
});
