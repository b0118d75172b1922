// `pullfix fix` on long streams (make bench): 10,000 and 50,000 documents and a 50 MB file,
// each fixed by the built CLI in a child process of its own. Prints wall time, CPU time and
// peak RSS per input, and the time per megabyte, which stays flat when fixing is linear.
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
  label: string;
  documents: number;
  envs: number;
}

const INPUTS: Input[] = [
  { label: '10,000 documents', documents: 10_000, envs: 0 },
  { label: '50,000 documents', documents: 50_000, envs: 0 },
  // About 5 kB a document: 10,000 of them make 50 MB.
  { label: '50 MB', documents: 10_000, envs: 80 },
];

interface Measure {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  status: number | null;
}

/** Runs `pullfix fix FILE` with stdout to /dev/null; the child reports its own peak RSS and CPU time on fd 3. */
function run(file: string): Promise<Measure> {
  const probe =
    `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeSync(3, JSON.stringify({ rss: u.maxRSS, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 })); });` +
    `process.argv = [process.argv[0], ${JSON.stringify(MAIN)}, 'fix', ${JSON.stringify(file)}];` +
    `import(${JSON.stringify(new URL(`file://${MAIN}`).href)});`;
  return new Promise((resolve, reject) => {
    const devNull = openSync('/dev/null', 'w');
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', probe], { stdio: ['ignore', devNull, 'pipe', 'pipe'] });
    closeSync(devNull);
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
    for (const input of INPUTS) {
      const file = path.join(dir, `${input.documents}-${input.envs}.yaml`);
      const parts: string[] = [];
      for (let i = 0; i < input.documents; i++) parts.push(deployment(i, input.envs));
      writeFileSync(file, parts.join('---\n'));
      const mb = statSync(file).size / 1e6;
      process.stderr.write(`bench fix: ${input.label} (${mb.toFixed(1)} MB)\n`);
      const m = await run(file);
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
        'Each document a Deployment with a stray pod-level imagePullPolicy (so every one is edited); `pullfix fix FILE > /dev/null`.',
        '',
        '| input | documents | MB | wall s | CPU s | peak RSS MB | CPU s per MB |',
        '|---|---|---|---|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
