// `pullfix fix` on long streams (make bench): 10,000 and 50,000 documents and a 50 MB file,
// each fixed by the built CLI in a child process of its own, and `pullfix krm` on a 50 MB
// ResourceList of the same Deployments. Prints wall time, CPU time and peak RSS per input, and
// the time per megabyte, which stays flat when fixing is linear; with BENCH_FIX_OUT=FILE it also
// writes the figures there as JSON (FixBenchResult), for make bench's targets.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** Bounded: a run that takes longer than this is killed and reported as such. */
const LIMIT_MS = Number(process.env.BENCH_FIX_LIMIT_SECONDS ?? 600) * 1000;

/** A Deployment as install files write it, with the stray field fixing moves; `envs` pads it out. */
function deployment(i: number, envs: number): string {
  const env = Array.from({ length: envs }, (_, k) => `        - {name: SETTING_${k}, value: "value ${k} of component ${i}"}\n`).join('');
  return (
    `# component ${i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: component-${i}\n  labels: {app: c${i}}\n` +
    `spec:\n  replicas: 2\n  template:\n    spec:\n      imagePullPolicy: Always\n      containers:\n      - name: main\n` +
    `        image: registry.example.com/team/component-${i}:v1.${i % 100}.0\n        ports: [{containerPort: 8080}]\n` +
    (envs > 0 ? `        env:\n${env}` : '')
  );
}

interface Input {
  key: string;
  label: string;
  command: 'fix' | 'krm';
  documents: number;
  envs: number;
}

const INPUTS: Input[] = [
  { key: 'fix-10k-docs', label: '10,000 documents', command: 'fix', documents: 10_000, envs: 0 },
  { key: 'fix-50k-docs', label: '50,000 documents', command: 'fix', documents: 50_000, envs: 0 },
  // About 5 kB a document: 10,000 of them make 50 MB.
  { key: 'fix-50mb', label: '50 MB', command: 'fix', documents: 10_000, envs: 80 },
  { key: 'krm-50mb', label: 'krm: 50 MB ResourceList', command: 'krm', documents: 10_000, envs: 80 },
];

/** One input's figures, as bench/results.json keeps them. */
export interface FixBenchRun {
  key: string;
  label: string;
  command: 'fix' | 'krm';
  documents: number;
  mb: number;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  status: number | null;
}

export interface FixBenchResult {
  runs: FixBenchRun[];
}

/** The same Deployments as the items of a ResourceList, as kustomize hands them to a KRM function. */
function resourceList(docs: readonly string[]): string {
  const items = docs.map((d) => d.replace(/^/gm, '  ').replace(/^ {2}/, '- ').replace(/\n {2}$/, '\n')).join('');
  return `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}`;
}

interface Measure {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  status: number | null;
}

/**
 * Runs `pullfix fix FILE` (or `pullfix krm < FILE`) with stdout to /dev/null; the child reports
 * its own peak RSS and CPU time on fd 3.
 */
function run(file: string, command: 'fix' | 'krm'): Promise<Measure> {
  const probe =
    `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeSync(3, JSON.stringify({ rss: u.maxRSS, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 })); });` +
    `process.argv = [process.argv[0], ${JSON.stringify(MAIN)}, ${JSON.stringify(command)}${command === 'fix' ? `, ${JSON.stringify(file)}` : ''}];` +
    `import(${JSON.stringify(new URL(`file://${MAIN}`).href)});`;
  return new Promise((resolve, reject) => {
    const devNull = openSync('/dev/null', 'w');
    const stdin = command === 'krm' ? openSync(file, 'r') : 'ignore';
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', probe], { stdio: [stdin, devNull, 'pipe', 'pipe'] });
    closeSync(devNull);
    if (typeof stdin === 'number') closeSync(stdin);
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), LIMIT_MS);
    let report = '';
    let stderr = '';
    child.stdio[3]?.on('data', (d: Buffer) => (report += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      if (status !== 0) process.stderr.write(`bench fix: exit ${status}: ${stderr.slice(0, 500)}\n`);
      const r = report ? (JSON.parse(report) as { rss: number; cpu: number }) : { rss: 0, cpu: 0 };
      resolve({ wallS, cpuS: r.cpu, peakRssMb: r.rss / 1024, status });
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pullfix-bench-fix-'));
  try {
    const rows: string[] = [];
    const runs: FixBenchRun[] = [];
    for (const input of INPUTS) {
      const file = path.join(dir, `${input.key}.yaml`);
      const parts: string[] = [];
      for (let i = 0; i < input.documents; i++) parts.push(deployment(i, input.envs));
      writeFileSync(file, input.command === 'krm' ? resourceList(parts) : parts.join('---\n'));
      const mb = statSync(file).size / 1e6;
      process.stderr.write(`bench fix: ${input.label} (${mb.toFixed(1)} MB)\n`);
      const m = await run(file, input.command);
      runs.push({ key: input.key, label: input.label, command: input.command, documents: input.documents, mb, ...m });
      const outcome = m.status === 0 ? '' : ` (exit ${m.status ?? 'killed'})`;
      rows.push(
        `| ${input.label} | ${input.documents} | ${mb.toFixed(1)} | ${m.wallS.toFixed(1)}${outcome} | ${m.cpuS.toFixed(1)} | ${m.peakRssMb.toFixed(0)} | ${(m.cpuS / mb).toFixed(2)} |`,
      );
      rmSync(file);
    }
    process.stdout.write(
      [
        '## pullfix fix on long streams',
        '',
        'Each document a Deployment with a stray pod-level imagePullPolicy (so every one is edited); `pullfix fix FILE > /dev/null`, and `pullfix krm < FILE > /dev/null` for the ResourceList of the same 10,000 Deployments.',
        '',
        '| input | documents | MB | wall s | CPU s | peak RSS MB | CPU s per MB |',
        '|---|---|---|---|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );
    const out = process.env.BENCH_FIX_OUT;
    if (out) writeFileSync(out, `${JSON.stringify({ runs } satisfies FixBenchResult)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
